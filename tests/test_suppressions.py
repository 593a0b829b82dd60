"""Reviewed suppressions: matching, expiry against the audited week, status, reports, CLI and history."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from socialaudit import suppressions
from socialaudit.models import CheckResult, Finding, Severity, Status
from socialaudit.weeks import IsoWeek

W47 = IsoWeek.parse("2026-W47")  # Monday 16 to Sunday 22 November 2026
W48 = W47 + 1


def _finding(**overrides: Any) -> Finding:
    values: dict[str, Any] = {"check": "external_links", "severity": Severity.WARNING, "status": Status.WARN,
                              "school": "st-aidans", "policy": "4.1", "message": "A link to an unknown site.",
                              "account": "@staidans", "post_id": "p1", "post_url": "https://social.example/p1",
                              "evidence": "bit.example"}
    values.update(overrides)
    return Finding(**values)


def _rule(finding: str = "external_links:st-aidans", **overrides: Any) -> suppressions.Rule:
    values: dict[str, Any] = {"finding": finding, "kind": "false_positive", "reviewer": "Ms Rowan Ashby",
                              "reason": "the link is the trust's own shortener", "expires": date(2026, 11, 22),
                              "reviewed": date(2026, 11, 20), "source": "config"}
    values.update(overrides)
    return suppressions.Rule(**values)


# --- matching and expiry -------------------------------------------------------------------------

@pytest.mark.parametrize(("prefix", "matches"), [
    ("external_links:st-aidans", True),
    ("external_links:st-aidans:", True),
    ("external_links:st-aidans:@staidans:p1:bit.example", True),  # the full key
    ("external_links:st-aid", False),  # not at a ':' boundary
    ("external_links:st-aidans-juniors", False),
    ("external_links:st-aidans:@staidans:p2", False),
    ("named_children:st-aidans", False),
])
def test_prefix_matches_only_at_colon_boundaries(prefix, matches):
    assert _rule(prefix).matches(_finding()) is matches


def test_expiry_is_judged_against_the_audited_weeks_sunday():
    rule = _rule(expires=date(2026, 11, 22))  # the Sunday of W47
    assert rule.covers(W47) and rule.covers(W47 - 10)
    assert not rule.covers(W48)
    assert not _rule(expires=date(2026, 11, 21)).covers(W47)  # expires before the week ends


def test_accepted_risk_never_covers_a_critical_finding():
    critical = _finding(check="named_children", severity=Severity.CRITICAL, status=Status.FAIL, evidence="A*** B***")
    assert not _rule("named_children:st-aidans", kind="accepted_risk").matches(critical)
    assert _rule("named_children:st-aidans", kind="false_positive").matches(critical)


def test_most_specific_rule_wins():
    broad = _rule("external_links:st-aidans", reviewer="Broad")
    narrow = _rule("external_links:st-aidans:@staidans:p1", reviewer="Narrow")
    assert suppressions.rule_for(_finding(), [broad, narrow], W47).reviewer == "Narrow"
    assert suppressions.rule_for(_finding(post_id="p9"), [broad, narrow], W47).reviewer == "Broad"
    assert suppressions.rule_for(_finding(), [broad, narrow], W48) is None


# --- status ---------------------------------------------------------------------------------------

def _result(status: Status, *findings: Finding) -> CheckResult:
    return CheckResult(check="external_links", policy="4.1", school="st-aidans", status=status,
                       summary="1 link to check.", findings=findings, metrics={"links": len(findings)})


def test_all_findings_suppressed_makes_the_check_pass_and_keeps_them():
    [result] = suppressions.apply([_result(Status.WARN, _finding())], [_rule()], W47)
    assert result.status is Status.PASS
    assert result.summary == "1 link to check. 1 finding suppressed after review."
    assert result.metrics == {"links": 1, "suppressed": 1}
    [kept] = result.findings
    assert kept.suppressed and kept.suppression.reviewer == "Ms Rowan Ashby"
    assert kept.suppression.expires == "2026-11-22" and kept.suppression.source == "config"


def test_an_unsuppressed_finding_still_decides_the_status():
    other = _finding(post_id="p2", severity=Severity.BREACH, status=Status.FAIL, message="A second link.")
    rule = _rule("external_links:st-aidans:@staidans:p1")
    [result] = suppressions.apply([_result(Status.FAIL, _finding(), other)], [rule], W47)
    assert result.status is Status.FAIL
    assert [f.suppressed for f in result.findings] == [True, False]
    [downgraded] = suppressions.apply([_result(Status.FAIL, other, _finding())],
                                      [_rule("external_links:st-aidans:@staidans:p2")], W47)
    assert downgraded.status is Status.WARN  # what is left is a warning


@pytest.mark.parametrize("status", [Status.ERROR, Status.NOT_EVALUATED, Status.NOT_APPLICABLE])
def test_a_failure_to_check_is_never_lifted(status):
    [result] = suppressions.apply([_result(status, _finding())], [_rule()], W47)
    assert result.status is status and result.findings[0].suppressed


def test_a_status_worse_than_its_findings_is_kept():
    [result] = suppressions.apply([_result(Status.FAIL, _finding(status=Status.WARN))], [_rule()], W47)
    assert result.status is Status.FAIL


def test_after_expiry_the_finding_comes_back():
    [result] = suppressions.apply([_result(Status.WARN, _finding())], [_rule()], W48)
    assert result.status is Status.WARN and not result.findings[0].suppressed and result.summary == "1 link to check."


def test_note_reads_as_the_report_shows_it():
    assert suppressions.note(_rule().suppression()) == ("False positive, reviewed by Ms Rowan Ashby on 2026-11-20: "
                                                    "the link is the trust's own shortener; until 2026-11-22")
    assert suppressions.note(_rule(kind="accepted_risk", reviewed=None).suppression()).startswith(
        "Accepted risk, reviewed by Ms Rowan Ashby: ")


# --- model, store, config --------------------------------------------------------------------------

def test_finding_round_trips_its_suppression(store):
    [result] = suppressions.apply([_result(Status.WARN, _finding())], [_rule()], W47)
    finding = result.findings[0]
    assert Finding.from_dict(finding.to_dict()) == finding
    assert "suppression" not in _finding().to_dict()  # unchanged shape for unsuppressed findings
    store.save_results(W47, "st-aidans", [result], run_id="r1")
    [back] = store.results_for(W47, "st-aidans")
    assert back == result
    [row] = store.findings_between(W47, W47)
    assert row["suppression"]["kind"] == "false_positive" and row["week"] == "2026-W47"


def test_store_keeps_revoked_suppressions(store):
    first = store.add_suppression(finding="external_links:st-aidans", kind="accepted_risk", reviewer="R", reason="why",
                                  expires="2026-12-31", added_by="cio")
    second = store.add_suppression(finding="post_frequency:holy-cross", kind="false_positive", reviewer="R",
                                   reason="why", expires="2026-12-31", added_by="cio")
    assert store.revoke_suppression(first, revoked_by="dsl") is True
    assert store.revoke_suppression(first, revoked_by="dsl") is False
    assert [r["id"] for r in store.list_suppressions()] == [second]
    rows = store.list_suppressions(include_revoked=True)
    assert [(r["id"], r["revoked_by"]) for r in rows] == [(first, "dsl"), (second, None)]
    assert rows[0]["revoked_at"].tzinfo is not None and rows[0]["added_at"].tzinfo is not None


def _raw_config() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    return yaml.safe_load((root / "config" / "trust.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("suppression", "message"), [
    ({"finding": "x:st-aidans", "kind": "ignored", "reviewer": "R", "reason": "r", "expires": "2026-12-31"},
     "suppressions[0].kind"),
    ({"finding": "x:st-aidans", "kind": "false_positive", "reviewer": " ", "reason": "r", "expires": "2026-12-31"},
     "suppressions[0].reviewer: must not be empty"),
    ({"finding": "x:st-aidans", "kind": "false_positive", "reviewer": "R", "reason": "r"}, "suppressions[0].expires"),
])
def test_config_suppressions_are_validated(suppression, message):
    from socialaudit.config import ConfigError, parse_config

    raw = _raw_config()
    raw["suppressions"] = [suppression]
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) as caught:
        parse_config(raw, "trust.yaml")
    assert str(caught.value).startswith("trust.yaml: ") and "\n" not in str(caught.value)


# --- the pipeline, the reports and the CLI ----------------------------------------------------------

def _one_post_week(env: Any, make_post: Any, week: IsoWeek, school: str = "st-aidans") -> None:
    """One original post in ``week``: post_frequency fails for the school (1 of 3)."""
    from datetime import timedelta

    from socialaudit.models import AccountCollection, CollectionStatus

    config = env.load()
    account = config.school(school).accounts[0]
    created = datetime.combine(week.monday, datetime.min.time(), timezone.utc) + timedelta(days=2, hours=10)
    store = env.store()
    store.upsert_posts([make_post(id=f"only-{week}", school=school, platform=account.platform, account=account.key,
                                  created_at=created, text=f"Harvest festival assembly, {week}.")], run_id="seed")
    store.record_collections(week, school, [
        AccountCollection(school=school, platform=a.platform, account=a.key, status=CollectionStatus.OK, posts=0)
        for a in config.school(school).accounts], run_id="seed")


def _with_config_suppression(env: Any, expires: str) -> None:
    raw = yaml.safe_load(env.config.read_text(encoding="utf-8"))
    raw["suppressions"] = [{"finding": "post_frequency:st-aidans", "kind": "accepted_risk", "reviewer": "Mr Ellis Quarry",
                            "reason": "the school site was closed for building works", "expires": expires,
                            "reviewed": "2026-11-23"}]
    env.config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


def _frequency(env: Any, week: IsoWeek) -> CheckResult:
    return next(r for r in env.store().results_for(week, "st-aidans") if r.check == "post_frequency")


@pytest.mark.parametrize("audit_env", ["sqlite", "postgresql"], indirect=True)
def test_config_suppression_through_pipeline_reports_and_history(audit_env, make_post, capsys):
    from socialaudit import pipeline

    env = audit_env
    for week in (W47, W48):
        _one_post_week(env, make_post, week)
    _with_config_suppression(env, "2026-11-22")  # covers W47, not W48
    pipeline.plan(W47, "run-w47", env)
    out = pipeline.check_school("st-aidans", W47, "run-w47", env)
    assert out["suppressed"] == 1
    result = _frequency(env, W47)
    assert result.status is Status.PASS and result.metrics["suppressed"] == 1
    assert result.findings[0].suppressed and result.findings[0].message.startswith("1 original post")

    rendered = pipeline.render_school("st-aidans", W47, "run-w47", env)
    note = ("Accepted risk, reviewed by Mr Ellis Quarry on 2026-11-23: the school site was closed for building works; "
            "until 2026-11-22")
    html = Path(rendered["report"]).read_text(encoding="utf-8")
    assert "Reviewed findings, not counted (1)" in html and note in html.replace("&#39;", "'")
    email = Path(rendered["email"]).read_bytes().decode("utf-8", "replace")
    assert "Reviewed findings, not counted (1)" in email
    summary = pipeline.trust_report(W47, "run-w47", [rendered], env)
    trust_html = Path(summary["report"]).read_text(encoding="utf-8")
    assert "Reviewed findings, not counted (1)" in trust_html and "+1 reviewed" in trust_html

    # The next week is past the expiry: the finding comes back and fails the check.
    pipeline.check_school("st-aidans", W48, "run-w48", env)
    back = _frequency(env, W48)
    assert back.status is Status.FAIL and not back.findings[0].suppressed
    html48 = Path(pipeline.render_school("st-aidans", W48, "run-w48", env)["report"]).read_text(encoding="utf-8")
    assert "Reviewed findings" not in html48 and "1 original post" in html48

    # The sealed run marks the suppressed finding in `history show`, with the key a suppression names.
    from socialaudit import archive
    from socialaudit.cli import main

    archive.archive_run(W47, "run-w47", env)
    assert main(["history", "show", "latest", "--school", "st-aidans"]) == 0
    shown = capsys.readouterr().out
    assert "[suppressed: accepted_risk by Mr Ellis Quarry]" in shown
    assert f"key {result.findings[0].key}" in shown

    # History keeps both weeks as they were judged; a rerun of W47 gives the same result.
    rows = [r for r in env.store().findings_between(W47, W48, "st-aidans") if r["check"] == "post_frequency"]
    assert [(r["week"], "suppression" in r) for r in rows] == [("2026-W47", True), ("2026-W48", False)]
    pipeline.check_school("st-aidans", W47, "run-w47-again", env)
    assert _frequency(env, W47) == result


def test_cli_add_list_revoke(audit_env, make_post, capsys):
    from socialaudit import cli, pipeline

    env = audit_env
    _one_post_week(env, make_post, W47)
    argv = ["suppress", "add", "post_frequency:st-aidans", "--kind", "false_positive", "--reviewer", "Ms Rowan Ashby",
            "--reason", "posts went out on the school website", "--expires", "2026-12-31", "--by", "cio"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("suppression #1: False positive for 'post_frequency:st-aidans' until 2026-12-31")

    assert cli.main(["suppress", "list", "--week", "2026-W47"]) == 0
    listed = capsys.readouterr().out
    assert "#1\tfalse_positive\tpost_frequency:st-aidans\tMs Rowan Ashby\tuntil 2026-12-31\tactive for 2026-W47" in listed
    assert "added by cio on " in listed
    assert cli.main(["suppress", "list", "--week", "2027-W01"]) == 0
    assert "expired for 2027-W01" in capsys.readouterr().out

    pipeline.check_school("st-aidans", W47, "run-1", env)
    result = _frequency(env, W47)
    assert result.status is Status.PASS
    today = datetime.now(timezone.utc).date().isoformat()
    assert result.findings[0].suppression.source == "cli #1"
    assert result.findings[0].suppression.reviewed == today

    assert cli.main(["suppress", "revoke", "1", "--by", "dsl"]) == 0
    capsys.readouterr()
    pipeline.check_school("st-aidans", W47, "run-2", env)
    assert _frequency(env, W47).status is Status.FAIL
    assert cli.main(["suppress", "list", "--all"]) == 0
    assert "revoked by dsl on " in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["post_frequncy:st-aidans", "--expires", "2026-12-31"], "unknown check 'post_frequncy'"),
    (["post_frequency", "--expires", "2026-12-31"], "name at least the school"),
    (["post_frequency:no-such-school", "--expires", "2026-12-31"], "no school 'no-such-school'"),
    (["post_frequency:st-aidans", "--expires", "31/12/2026"], "--expires '31/12/2026' is not a date"),
])
def test_cli_rejects_bad_input_in_one_line(audit_env, capsys, argv, message):
    from socialaudit import cli

    code = cli.main(["suppress", "add", *argv[:1], "--kind", "accepted_risk", "--reviewer", "R", "--reason", "r", *argv[1:]])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert message in err and err.count("\n") == 1 and err.startswith("socialaudit suppress: ")
    assert audit_env.store().list_suppressions(include_revoked=True) == []


def test_cli_revoke_unknown_id(audit_env, capsys):
    from socialaudit import cli

    assert cli.main(["suppress", "revoke", "7"]) == cli.EXIT_USAGE
    assert "no active suppression #7" in capsys.readouterr().err
