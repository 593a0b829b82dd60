"""The deliver step of a batch (``pipeline.deliver_schools``) on one SMTP connection, against a real SMTP server
on loopback: one connection for the batch, a connection dropped mid-batch opened again, a refusal kept to its
school, a server gone mid-batch named school by school, and a retry that sends only what is missing."""

from __future__ import annotations

import pytest

from socialaudit.delivery import DeliveryFailed, SmtpUnavailable
from socialaudit.pipeline import deliver_schools
from tests.reports.conftest import WEEK, add_findings, critical_named_child, rerender


def batch(env):
    return [{"school": s.id, "week": str(WEEK), "run_id": "run1"} for s in env.load().schools]


def heads(env):
    return sorted(s.head_email for s in env.load().schools)


def test_a_batch_sends_every_school_on_one_connection(demo_week, smtp_connection):
    out = deliver_schools(batch(demo_week), demo_week)
    assert [o["delivery"]["transport"] for o in out] == ["smtp"] * 6
    assert len(smtp_connection.connections) == 1
    assert len({got.peer for got in smtp_connection.received}) == 1
    received = sorted(r for got in smtp_connection.received for r in got.rcpt_tos)
    assert [r for r in received if r.startswith("head@")] == heads(demo_week)
    # each message is its school's own: its id, and the recipients the outbox names
    for o, got in zip(out, smtp_connection.received, strict=True):
        assert str(got.message["Message-ID"]).strip() == o["delivery"]["message_id"]
        assert got.rcpt_tos == o["delivery"]["sent"]
    store = demo_week.store()
    assert all(store.delivered(WEEK, s.id, s.head_email) for s in demo_week.load().schools)
    # a rerun of the week opens no connection at all: everything is recorded
    again = deliver_schools(batch(demo_week), demo_week)
    assert {o["delivery"]["transport"] for o in again} == {"skipped"}
    assert len(smtp_connection.connections) == 1 and len(smtp_connection.received) == 6


@pytest.mark.parametrize("drop", ["close", "421"])
@pytest.mark.parametrize("per_connection", [1, 4])
def test_a_connection_the_server_drops_is_opened_again(demo_week, smtp_connection, drop, per_connection):
    """The server ends each connection after ``per_connection`` messages (closing it, or with 421): the message
    that finds it dropped goes on a new one, and every school is sent once."""
    smtp_connection.messages_per_connection, smtp_connection.drop = per_connection, drop
    out = deliver_schools(batch(demo_week), demo_week)
    assert [o["delivery"]["transport"] for o in out] == ["smtp"] * 6
    assert len(smtp_connection.connections) == -(-6 // per_connection)
    assert sorted(r for got in smtp_connection.received for r in got.rcpt_tos if r.startswith("head@")) == heads(demo_week)
    assert len(smtp_connection.received) == 6


def test_a_refusal_stays_with_its_school_and_a_retry_sends_only_what_is_missing(demo_week, smtp_connection):
    add_findings(demo_week.store(), WEEK, "st-hildas", [critical_named_child("st-hildas")])
    rerender(demo_week, WEEK)
    smtp_connection.refuse = {"head@holy-cross.example.sch.uk": "550 5.1.1 Mailbox unavailable",
                              "safeguarding@st-hildas.example.sch.uk": "452 4.2.2 Mailbox full"}
    with pytest.raises(DeliveryFailed) as failed:
        deliver_schools(batch(demo_week), demo_week)
    # every recipient of Holy Cross refused: that school alone fails, named with the server's reply
    assert list(failed.value.failures) == ["holy-cross"]
    assert "holy-cross" in str(failed.value) and "550 5.1.1 Mailbox unavailable" in str(failed.value)
    assert len(smtp_connection.connections) == 1  # the refusal did not cost the connection
    sent = sorted(r for got in smtp_connection.received for r in got.rcpt_tos)
    assert [r for r in sent if r.startswith("head@")] == [h for h in heads(demo_week) if "holy-cross" not in h]
    assert "safeguarding@st-hildas.example.sch.uk" not in sent
    store = demo_week.store()
    assert not store.delivered(WEEK, "holy-cross", "head@holy-cross.example.sch.uk")
    assert store.delivered(WEEK, "st-hildas", "head@st-hildas.example.sch.uk")
    assert not store.delivered(WEEK, "st-hildas", "safeguarding@st-hildas.example.sch.uk")
    # the retry (Airflow's, after the server recovers) sends Holy Cross and St Hilda's DSL, nothing else
    smtp_connection.refuse = {}
    before = len(smtp_connection.received)
    out = {o["school"]: o["delivery"] for o in deliver_schools(batch(demo_week), demo_week)}
    assert [got.rcpt_tos for got in smtp_connection.received[before:]] == [
        ["head@holy-cross.example.sch.uk"], ["safeguarding@st-hildas.example.sch.uk"]]
    assert out["holy-cross"]["sent"] == ["head@holy-cross.example.sch.uk"]
    assert out["st-hildas"]["already"] == ["head@st-hildas.example.sch.uk"]
    assert {out[s]["transport"] for s in out if s not in ("holy-cross", "st-hildas")} == {"skipped"}


def test_a_partial_refusal_is_recorded_for_its_school_only(demo_week, smtp_connection):
    add_findings(demo_week.store(), WEEK, "st-hildas", [critical_named_child("st-hildas")])
    rerender(demo_week, WEEK)
    smtp_connection.refuse = {"safeguarding@st-hildas.example.sch.uk": "550 5.1.1 No such user"}
    out = {o["school"]: o["delivery"] for o in deliver_schools(batch(demo_week), demo_week)}
    assert out["st-hildas"]["sent"] == ["head@st-hildas.example.sch.uk"]
    assert out["st-hildas"]["refused"] == {"safeguarding@st-hildas.example.sch.uk": "550 5.1.1 No such user"}
    assert all(d["refused"] == {} and d["transport"] == "smtp" for s, d in out.items() if s != "st-hildas")


def test_a_server_gone_mid_batch_names_each_school_not_sent_and_keeps_the_sent(demo_week, smtp_connection):
    """After the first message the server stops listening and drops the connection: the next school tries one
    new connection (refused), the rest are not tried again; the first stays recorded, and a retry sends the rest."""
    smtp_connection.stop_listening_after, smtp_connection.messages_per_connection = 1, 1
    schools = [s.id for s in demo_week.load().schools]
    with pytest.raises(DeliveryFailed) as failed:
        deliver_schools(batch(demo_week), demo_week)
    assert list(failed.value.failures) == schools[1:]
    assert isinstance(failed.value.failures[schools[1]], ConnectionRefusedError)
    assert all(isinstance(failed.value.failures[s], SmtpUnavailable) for s in schools[2:])
    assert "(1 sent and recorded)" in str(failed.value)
    assert len(smtp_connection.received) == 1 and len(smtp_connection.connections) == 1
    store = demo_week.store()
    first = demo_week.load().school(schools[0])
    assert store.delivered(WEEK, first.id, first.head_email)
    assert not any(store.delivered(WEEK, s.id, s.head_email) for s in demo_week.load().schools[1:])
