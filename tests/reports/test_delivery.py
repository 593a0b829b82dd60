"""Delivery through a real SMTP server on loopback via Airflow's SmtpHook (connection smtp_default):
recipients, MIME structure, both bodies, idempotence on retry, --resend, and the outbox fallback."""

from __future__ import annotations

import pytest

from socialaudit.delivery import read_eml
from socialaudit.pipeline import deliver_school
from tests.reports.conftest import CHILD_MASKED, WEEK, add_findings, critical_named_child, rerender


def test_sends_the_outbox_message_to_the_head(demo_week, smtp_connection):
    result = deliver_school("holy-cross", WEEK, "run1", demo_week)
    assert result.transport == "smtp" and list(result.sent) == ["head@holy-cross.example.sch.uk"]
    assert len(smtp_connection.received) == 1
    got = smtp_connection.received[0]
    assert got.rcpt_tos == ["head@holy-cross.example.sch.uk"]
    assert got.mail_from == "audit@stoswins-trust.example.org"  # the connection's from_email
    message = got.message
    assert message["From"] == "Audit <audit@stoswins-trust.example.org>"
    # Holy Cross posts once a week (4.3) and never promotes its weekly parish Mass (4.4)
    actions = [f for r in demo_week.store().results_for(WEEK, "holy-cross") for f in r.findings
               if f.severity.value != "info" and not f.suppression]
    assert {f.check for f in actions} >= {"post_frequency", "event_promotion"}
    assert message["Subject"] == (f"Holy Cross RC Primary School: social media audit 2026-W47 - "
                                  f"{len(actions)} action{'s' if len(actions) != 1 else ''} this week")
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "1 original post in 2026-W47" in text and "1 original post in 2026-W47" in html
    assert len(got.data) < 100 * 1024
    # what was sent is what the outbox holds (bar the From header, which follows the connection)
    outbox = read_eml(demo_week.output / "outbox" / str(WEEK) / "holy-cross.eml")
    def lf(body: str) -> str:  # SMTP carries CRLF line endings; the .eml file has LF
        return body.replace("\r\n", "\n")

    assert lf(html) == lf(outbox.get_body(("html",)).get_content())
    assert lf(text) == lf(outbox.get_body(("plain",)).get_content())
    # dated when sent; the first sending keeps the outbox's stable id (a retried copy can be dropped)
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    assert abs((parsedate_to_datetime(str(message["Date"])) - datetime.now(timezone.utc)).total_seconds()) < 300
    assert str(outbox["Date"]) != str(message["Date"])  # the outbox keeps its deterministic date
    assert str(message["Message-ID"]).strip() == str(outbox["Message-ID"]).strip() == result.message_id
    assert message["References"] is None and message["In-Reply-To"] is None


def test_critical_finding_goes_to_the_dsl_too(demo_week, smtp_connection):
    add_findings(demo_week.store(), WEEK, "st-hildas", [critical_named_child("st-hildas")])
    rerender(demo_week, WEEK)
    result = deliver_school("st-hildas", WEEK, "run1", demo_week)
    assert sorted(result.sent) == ["head@st-hildas.example.sch.uk", "safeguarding@st-hildas.example.sch.uk"]
    got = smtp_connection.received[-1]
    assert sorted(got.rcpt_tos) == ["head@st-hildas.example.sch.uk", "safeguarding@st-hildas.example.sch.uk"]
    assert got.message["Cc"] == "safeguarding@st-hildas.example.sch.uk"
    assert CHILD_MASKED in got.message.get_body(("plain",)).get_content()
    assert "Amelia" not in got.data.decode("utf-8", "replace")


def test_a_school_without_critical_findings_does_not_copy_its_dsl(demo_week, smtp_connection):
    deliver_school("st-aidans", WEEK, "run1", demo_week)  # St Aidan's has a DSL but nothing critical
    assert smtp_connection.received[-1].rcpt_tos == ["head@st-aidans.example.sch.uk"]


def test_a_retry_never_sends_twice_and_resend_forces_it(demo_week, smtp_connection, capsys):
    first = deliver_school("our-lady", WEEK, "run1", demo_week)
    retry = deliver_school("our-lady", WEEK, "run1", demo_week)
    rerun = deliver_school("our-lady", WEEK, "run2", demo_week)
    assert first.transport == "smtp"
    assert retry.transport == rerun.transport == "skipped"
    assert list(retry.already) == ["head@our-lady.example.sch.uk"]
    assert len(smtp_connection.received) == 1
    # the CLI: without --resend it skips; with --resend it sends again
    from socialaudit.cli import main

    assert main(["send", "--week", str(WEEK), "--school", "our-lady", "--config", str(demo_week.config)]) == 0
    assert "already delivered" in capsys.readouterr().out
    assert len(smtp_connection.received) == 1
    assert main(["send", "--week", str(WEEK), "--school", "our-lady", "--resend", "--config", str(demo_week.config)]) == 0
    assert "sent to head@our-lady.example.sch.uk" in capsys.readouterr().out
    assert len(smtp_connection.received) == 2
    first_sent, resent = (r.message for r in smtp_connection.received)
    first_id = str(first_sent["Message-ID"]).strip()
    assert str(resent["Message-ID"]).strip() != first_id  # a resend is not dropped as a duplicate
    assert str(resent["References"]).strip() == str(resent["In-Reply-To"]).strip() == first_id  # it threads with the first
    assert smtp_connection.received[0].data.split(b"\r\n\r\n", 1)[1] == smtp_connection.received[1].data.split(b"\r\n\r\n", 1)[1]


def test_the_cli_sends_every_school_once(demo_week, smtp_connection, capsys):
    from socialaudit.cli import main

    assert main(["send", "--week", str(WEEK), "--config", str(demo_week.config)]) == 0
    assert main(["send", "--week", str(WEEK), "--config", str(demo_week.config)]) == 0
    received = sorted(r for got in smtp_connection.received for r in got.rcpt_tos)
    heads = sorted(f"head@{s}.example.sch.uk" for s in
                   ("st-aidans", "holy-cross", "st-hildas", "our-lady", "st-josephs", "sacred-heart"))
    # each head once; a DSL only where the school has a critical finding (St Hilda's names a child)
    assert sorted(r for r in received if r.startswith("head@")) == heads
    assert "safeguarding@st-hildas.example.sch.uk" in received
    assert len(received) == len(set(received))
    assert len(smtp_connection.connections) == 1  # one connection for the whole send; the second opened none


def test_unknown_school_is_a_one_line_usage_error(demo_week, capsys):
    from socialaudit.cli import main

    assert main(["send", "--week", str(WEEK), "--school", "nowhere", "--config", str(demo_week.config)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no school 'nowhere'" in err


def test_without_an_smtp_connection_nothing_is_sent(demo_week, smtp_server, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    result = deliver_school("holy-cross", WEEK, "run1", demo_week)
    assert result.transport == "outbox" and list(result.sent) == []
    assert (demo_week.output / "outbox" / str(WEEK) / "holy-cross.eml").is_file()
    assert smtp_server.received == []
    assert not demo_week.store().delivered(WEEK, "holy-cross", "head@holy-cross.example.sch.uk")


def test_an_unreachable_server_raises_so_airflow_retries_and_records_nothing(demo_week, smtp_connection, monkeypatch):
    import json

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": 9,  # discard port: nothing listens
        "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 2, "retry_limit": 0}}))
    with pytest.raises(ConnectionRefusedError):
        deliver_school("holy-cross", WEEK, "run1", demo_week)
    assert not demo_week.store().delivered(WEEK, "holy-cross", "head@holy-cross.example.sch.uk")


def test_without_smtp_the_headers_alone_decide_as_the_whole_message_does(demo_week):
    """deliver_schools without an SMTP connection parses only the outbox file's headers: the same recipients (a
    DSL copied on a critical finding too), Message-ID and outcome as from the whole message."""
    from socialaudit.delivery import deliver
    from socialaudit.mail import message_recipients, outbox_path

    add_findings(demo_week.store(), WEEK, "st-hildas", [critical_named_child("st-hildas")])
    rerender(demo_week, WEEK)
    path = outbox_path(demo_week.output / "outbox" / str(WEEK), "st-hildas")
    whole, headers = read_eml(path), read_eml(path, headers_only=True)
    assert message_recipients(headers) == message_recipients(whole) == [
        "head@st-hildas.example.sch.uk", "safeguarding@st-hildas.example.sch.uk"]
    assert str(headers["Message-ID"]) == str(whole["Message-ID"]) and str(headers["Message-ID"]).endswith(".invalid>")
    outcomes = [deliver(m, week=WEEK, school="st-hildas", store=demo_week.store(), run_id="run1", smtp=False).to_dict()
                for m in (whole, headers)]
    assert outcomes[0] == outcomes[1] and outcomes[0]["transport"] == "outbox"
