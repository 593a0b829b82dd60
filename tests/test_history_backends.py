"""The history commands over runs whose store is SQLite or PostgreSQL (pipeline steps, not dag.test).

One week is audited, a finding is suppressed through the CLI, the week is re-audited from the store
and archived: ``history list``, ``export`` (the suppression kept), ``verify`` and ``purge`` (post
texts blanked in the store) must behave the same on both backends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from socialaudit import cli, pipeline
from socialaudit.weeks import IsoWeek

W47 = IsoWeek.parse("2026-W47")


def _audit(env: Any, run_id: str, *, collect: bool) -> dict[str, Any]:
    from socialaudit import archive

    rendered = []
    for item in pipeline.plan(W47, run_id, env):
        rendered.extend(pipeline.audit_schools(item, env, collect=collect))
    pipeline.trust_report(W47, run_id, rendered, env)
    return archive.archive_run(W47, run_id, env)


@pytest.mark.parametrize("audit_env", ["sqlite", "postgresql"], indirect=True)
def test_history_over_both_backends(audit_env, simulator, capsys):
    env = audit_env
    _audit(env, "run-1", collect=True)
    findings = env.store().findings_between(W47, W47)
    assert findings, "the demo week has findings to suppress"
    target = findings[0]
    key = ":".join([target["check"], target["school"], target["account"], target["post_id"], target["evidence"]])
    assert cli.main(["suppress", "add", key, "--kind", "false_positive", "--reviewer", "Ms Rowan Ashby",
                     "--reason", "reviewed with the school", "--expires", "2026-12-31", "--by", "cio"]) == 0
    _audit(env, "run-2", collect=False)
    capsys.readouterr()

    assert cli.main(["history", "list"]) == 0
    listed = capsys.readouterr().out
    assert "run-1" in listed and "run-2" in listed

    assert cli.main(["history", "export", "--from", "2026-W47", "--to", "2026-W47", "--format", "json"]) == 0
    export = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in export["runs"]] == ["run-2"]  # the latest run of the week
    suppressed = [f for f in export["findings"] if f.get("suppression")]
    assert len(suppressed) >= 1
    assert suppressed[0]["suppression"]["reviewer"] == "Ms Rowan Ashby" and suppressed[0]["message"] == target["message"]

    assert cli.main(["history", "verify"]) == 0
    capsys.readouterr()

    # Retention of post texts (30 days after the week) applied on 2027-01-31 blanks the store's texts.
    raw = env.config.read_text(encoding="utf-8").replace("trust:\n", "trust:\n  retention: {post_texts: 30}\n", 1)
    env.config.write_text(raw, encoding="utf-8")
    posts_before = env.store().count_posts()
    assert cli.main(["history", "purge", "--as-of", "2027-01-31"]) == 0
    capsys.readouterr()
    start, end = W47.bounds()
    kept = [p for s in env.load().schools for p in env.store().posts_for(s.id, start, end)]
    assert kept and all(p.text == "" for p in kept)
    assert env.store().count_posts() == posts_before
    assert cli.main(["history", "verify"]) == 0
