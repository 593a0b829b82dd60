"""The history commands over runs whose store is SQLite or PostgreSQL (pipeline steps, not dag.test).

One week is audited, a finding is suppressed through the CLI, the week is re-audited from the store
and archived: ``history list``, ``export`` (the suppression kept, in JSON and in CSV columns),
``verify`` and ``purge`` (post texts blanked in the store) must behave the same on both backends.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from socialaudit import archive, cli, pipeline
from socialaudit.weeks import IsoWeek

W47 = IsoWeek.parse("2026-W47")


def _key(finding: dict[str, Any]) -> str:
    """The finding key (check:school:account:post_id:evidence) of an exported finding, JSON or CSV row.

    CSV cells starting with = + - @ carry a leading apostrophe (formula defusing); it is taken off here.
    """
    def cell(value: Any) -> str:
        text = str(value or "")
        return text[1:] if text[:2] in ("'=", "'+", "'-", "'@") else text

    return ":".join(cell(finding[k]) for k in ("check", "school", "account", "post_id", "evidence"))


def _audit(env: Any, run_id: str, *, collect: bool) -> dict[str, Any]:
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
    # the demo config suppresses a finding of its own; ours is the one with the target's key
    [ours] = [f for f in export["findings"] if _key(f) == key]
    assert ours["suppression"]["reviewer"] == "Ms Rowan Ashby" and ours["message"] == target["message"]

    # CSV (the export and the archived findings.csv) carries the suppression in columns, as the JSON does
    assert cli.main(["history", "export", "--from", "2026-W47", "--to", "2026-W47", "--format", "csv"]) == 0
    exported = [r for r in csv.DictReader(io.StringIO(capsys.readouterr().out)) if r["record"] == "finding"]
    folder = archive.open_archive(env.output).find("run-2")["folder"]
    sealed = list(csv.DictReader(io.StringIO((env.output / "archive" / folder / "findings.csv").read_text(encoding="utf-8"))))
    by_key = {_key(f): f for f in export["findings"]}
    assert len(exported) == len(sealed) == len(export["findings"])
    for rows in (exported, sealed):
        for row in rows:
            suppression = by_key[_key(row)].get("suppression") or {}
            assert [row[f"suppression_{k}"] for k in ("kind", "reviewer", "reason", "expires")] == \
                [suppression.get(k, "") for k in ("kind", "reviewer", "reason", "expires")], row
        [row] = [r for r in rows if _key(r) == key]
        assert (row["suppression_kind"], row["suppression_reviewer"], row["suppression_reason"],
                row["suppression_expires"]) == ("false_positive", "Ms Rowan Ashby", "reviewed with the school", "2026-12-31")
    assert any(r["suppression_kind"] == "" for r in exported)  # unsuppressed findings leave the columns empty

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
