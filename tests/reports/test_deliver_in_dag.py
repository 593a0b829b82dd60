"""The DAG's deliver task, run through Airflow (dag.test) with ``smtp_default`` pointing at a real SMTP
server on loopback: every head gets one email, and a rerun of the week sends nothing again."""

from __future__ import annotations

import pytest

from tests.reports.conftest import WEEK

pytestmark = pytest.mark.slow


def test_the_weekly_run_emails_each_head_once(audit_env, smtp_connection):
    from socialaudit.cli.run import run_week

    config = audit_env.load()
    assert run_week(WEEK).state == "success"
    received = sorted(r for got in smtp_connection.received for r in got.rcpt_tos)
    # every head once; St Hilda's DSL is copied (a child named under a photo is critical)
    assert sorted(r for r in received if r.startswith("head@")) == sorted(s.head_email for s in config.schools)
    assert "safeguarding@st-hildas.example.sch.uk" in received and len(received) == len(set(received))
    for got in smtp_connection.received:
        assert got.message.get_content_type() == "multipart/alternative"
        assert len(got.data) < 100 * 1024
    store = audit_env.store()
    assert all(store.delivered(WEEK, s.id, s.head_email) for s in config.schools)
    assert run_week(WEEK).state == "success"  # a rerun (or a retry) of the week
    assert len(smtp_connection.received) == len(config.schools)
