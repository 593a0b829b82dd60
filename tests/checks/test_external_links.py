"""external_links (policy 4.1): blocklists, lookalikes, https, broken/unsafe/unverified links, allowlist.

The check is pure: it asks ``ctx.services["links"]``. Here that is a real :class:`LinkResolver`
seeded with resolutions (as a warm cache), which opens nothing else (``only_overrides`` with no
override); the resolver itself is tested over real sockets in ``tests/test_links.py``, and the demo
test below runs the whole path against the simulator.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks._base import run_checks
from checks._blocklist import load_blocklists
from checks.external_links import DEFAULT_CATEGORIES, lookalike
from socialaudit.config import DEFAULT_CONFIG, parse_config
from socialaudit.links import LinkResolution, LinkResolver, LinkState
from socialaudit.models import AccountCollection, CollectionStatus, Severity, Status
from socialaudit.weeks import IsoWeek
from tests.conftest import ROOT, SHARED_DATA

W47 = IsoWeek.parse("2026-W47")
DATA = ROOT / "tests" / "data"
RAW = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
UT1_SAMPLE = SHARED_DATA / "ut1-blacklists-sample"


def config_with(**settings: Any) -> Any:
    raw = copy.deepcopy(RAW)
    raw["trust"]["checks"] = {"external_links": {"blocklists": [str(DATA / "blocklist"), str(DATA / "blocklist-plain.txt")],
                                                 **settings}}
    return parse_config(raw, str(DEFAULT_CONFIG))


CONFIG = config_with()
SCHOOL = CONFIG.school("st-aidans")


def ok(url: str, *chain: str, final: str | None = None, stopped: str = "") -> LinkResolution:
    hops = (url, *chain)
    return LinkResolution(url=url, state=LinkState.OK, final_url=final or hops[-1], chain=hops, http_status=200,
                          reason="HTTP 200", stopped=stopped)


def bad(url: str, state: LinkState, reason: str, status: int | None = None) -> LinkResolution:
    return LinkResolution(url=url, state=state, final_url=url, chain=(url,), http_status=status, reason=reason)


def seeded(*items: LinkResolution) -> LinkResolver:
    """A real resolver with a warm cache that opens no site."""
    resolver = LinkResolver(only_overrides=True, dns_canary=None)
    resolver.remember(items)
    return resolver


def run(posts: list[Any], *, resolver: Any = "empty", config: Any = CONFIG, school: Any = SCHOOL,
        collections: tuple[AccountCollection, ...] = ()) -> Any:
    services = {} if resolver is None else {"links": seeded() if resolver == "empty" else resolver}
    [result] = run_checks(school, posts, week=W47, config=config, collections=collections, names=["external_links"],
                          services=services)
    return result


def kinds(result: Any) -> list[tuple[str, str]]:
    return [(f.severity.value, f.status.value) for f in result.findings]


@pytest.mark.parametrize(("links", "resolutions", "status", "expected"), [
    # the allowlist (trust domains, allow_domains, their subdomains): passes without being opened
    (["https://www.gov.uk/school-term-holiday-dates"], [], Status.PASS, []),
    (["https://st-aidans.example.sch.uk/events/"], [], Status.PASS, []),
    (["https://news.diocese-of-northmoor.example.org/advent"], [], Status.PASS, []),
    (["http://stoswins-trust.example.org/"], [], Status.PASS, []),  # allowlisted: not judged, even over http
    # blocklists: domain, subdomain, URL prefix, plain file; never opened
    (["https://lucky-spins.test/"], [], Status.FAIL, [("critical", "fail")]),
    (["https://www.casino-fict.test/roulette"], [], Status.FAIL, [("critical", "fail")]),
    (["https://free-hosting.test/casino/tonight"], [], Status.FAIL, [("critical", "fail")]),
    (["https://free-hosting.test/maths/tables"], [ok("https://free-hosting.test/maths/tables")], Status.PASS, []),
    (["https://phish-fict.test/login"], [], Status.FAIL, [("critical", "fail")]),
    (["https://fake-login.test/account/reset"], [], Status.FAIL, [("critical", "fail")]),
    # a category not flagged by default (social networks), and a UT1 "white" category
    (["https://chatter-fict.test/school"], [ok("https://chatter-fict.test/school")], Status.PASS, []),
    (["https://health-for-teens-fict.test/"], [ok("https://health-for-teens-fict.test/")], Status.PASS, []),
    # where the link leads
    (["http://northmoor-scouts.test/camp"], [ok("http://northmoor-scouts.test/camp")], Status.WARN, [("warning", "warn")]),
    (["https://northmoor-scouts.test/old"], [bad("https://northmoor-scouts.test/old", LinkState.BROKEN, "HTTP 404", 404)],
     Status.WARN, [("warning", "warn")]),
    (["https://gone-fict.test/"], [bad("https://gone-fict.test/", LinkState.BROKEN, "the domain gone-fict.test does not exist")],
     Status.WARN, [("warning", "warn")]),
    (["https://walled-fict.test/"], [bad("https://walled-fict.test/", LinkState.UNVERIFIED, "HTTP 403: bot wall", 403)],
     Status.NOT_EVALUATED, [("info", "not_evaluated")]),
    (["https://busy-fict.test/"], [bad("https://busy-fict.test/", LinkState.UNVERIFIED, "HTTP 429", 429)],
     Status.NOT_EVALUATED, [("info", "not_evaluated")]),
    (["http://intranet-fict.test/"], [bad("http://intranet-fict.test/", LinkState.UNSAFE, "resolves to a private address")],
     Status.FAIL, [("breach", "fail"), ("warning", "warn")]),
    # a shortened link: its destination is judged
    (["https://short-fict.test/s/1"], [ok("https://short-fict.test/s/1", "https://lucky-spins.test/", stopped="blocklisted: gambling")],
     Status.FAIL, [("critical", "fail")]),
    (["https://short-fict.test/s/2"], [ok("https://short-fict.test/s/2", "http://northmoor-scouts.test/camp")],
     Status.WARN, [("warning", "warn")]),  # https that lands on plain http
    (["https://short-fict.test/s/3"], [ok("https://short-fict.test/s/3", "https://www.gov.uk/", stopped="allowlisted")],
     Status.PASS, []),
    (["https://short-fict.test/s/4"], [ok("https://short-fict.test/s/4", "https://st0swins-trust.example.org/")],
     Status.FAIL, [("breach", "fail")]),
    # schemes: only web links are judged; contact links are not web links
    (["javascript:alert(document.cookie)"], [], Status.FAIL, [("breach", "fail")]),
    (["file:///etc/passwd"], [], Status.FAIL, [("breach", "fail")]),
    (["mailto:office@st-aidans.example.sch.uk", "tel:+440000000000"], [], Status.PASS, []),
])
def test_links(make_post, links, resolutions, status, expected):
    result = run([make_post(links=tuple(links))], resolver=seeded(*resolutions))
    assert result.status is status, result.summary
    assert kinds(result) == expected
    for finding in result.findings:
        assert finding.policy == "4.1" and finding.post_url and finding.message and finding.action
        assert "?" not in finding.evidence


@pytest.mark.parametrize("host", [
    "st0swins-trust.example.org",  # digit for a letter
    "stoswins-trust.examp1e.org",
    "st\u043eswins-trust.example.org",  # Cyrillic o
    "xn--stswins-trust-j7k.example.org",  # the same, as punycode
    "stoswinstrust.example.org",  # hyphen dropped
    "stoswins-trust-example.org",  # dot moved
    "stoswins-trust.example.com",  # another top-level domain
    "stoswins-trust.example.org.login-fict.test",  # the trust domain as a subdomain of another site
    "stoswlns-trust.example.org",  # one letter changed
    "stowsins-trust.example.org",  # two letters swapped
    "stoswins-trusts.example.org",  # one letter added
    "st-aidans.examp1e.sch.uk",
    "example-sch.uk",
    "dioces-of-northmoor.example.org",
    "g0v.uk",
])
def test_lookalikes_are_caught(host):
    protected = ("bbc.co.uk", "diocese-of-northmoor.example.org", "example.sch.uk", "gov.uk", "stoswins-trust.example.org")
    assert lookalike(host, protected, 1)


@pytest.mark.parametrize("host", [
    "stoswins-trust.example.org", "www.stoswins-trust.example.org", "st-aidans.example.sch.uk",  # the real ones
    "bbc.com", "gov.us", "example.org", "scouts.org.uk", "northmoor-scouts.test", "cbeebies.co.uk", "nhs.uk",
    "stoswald-school.org.uk", "testing-trust.example.org",
])
def test_ordinary_domains_are_not_lookalikes(host):
    protected = ("bbc.co.uk", "diocese-of-northmoor.example.org", "example.sch.uk", "gov.uk", "stoswins-trust.example.org")
    assert lookalike(host, protected, 1) == ""


def test_lookalike_finding_names_the_imitated_domain(make_post):
    result = run([make_post(links=("https://st0swins-trust.example.org/login",))])
    [finding] = result.findings
    assert finding.severity is Severity.BREACH
    assert "stoswins-trust.example.org" in finding.message


def test_blocklisted_links_are_never_opened(make_post):
    resolver = seeded()
    result = run([make_post(links=("https://lucky-spins.test/", "https://st0swins-trust.example.org/"))], resolver=resolver)
    assert result.status is Status.FAIL
    assert resolver.requests == 0 and result.metrics["resolved"] == 0


def test_all_categories_with_star(make_post):
    config = config_with(blocklist_categories=["*"])
    social = run([make_post(links=("https://chatter-fict.test/school",))], config=config,
                 resolver=seeded(ok("https://chatter-fict.test/school")))
    assert social.status is Status.FAIL and "social networks" in social.findings[0].message
    white = run([make_post(links=("https://health-for-teens-fict.test/",))], config=config,
                resolver=seeded(ok("https://health-for-teens-fict.test/")))
    assert white.status is Status.PASS  # UT1 "white" categories never block


def test_https_can_be_not_required(make_post):
    result = run([make_post(links=("http://northmoor-scouts.test/camp",))], config=config_with(require_https=False),
                 resolver=seeded(ok("http://northmoor-scouts.test/camp")))
    assert result.status is Status.PASS


def test_without_a_resolver_links_are_not_evaluated_but_blocklists_still_apply(make_post):
    unknown = run([make_post(links=("https://northmoor-scouts.test/camp", "https://scouts-fict.test/",
                                    "https://www.gov.uk/"))], resolver=None)
    assert unknown.status is Status.NOT_EVALUATED
    assert unknown.summary == "2 of 3 links could not be verified."
    assert len(unknown.findings) == 1 and unknown.findings[0].evidence == "northmoor-scouts.test, scouts-fict.test"
    assert "switched off" in unknown.findings[0].message
    listed = run([make_post(links=("https://lucky-spins.test/", "https://northmoor-scouts.test/camp"))], resolver=None)
    assert listed.status is Status.FAIL
    assert [f.status for f in listed.findings] == [Status.FAIL, Status.NOT_EVALUATED]


def test_resolver_infrastructure_failure_is_not_evaluated(make_post):
    # the seeded resolver opens nothing: an unknown link comes back "not evaluated", never "pass"
    result = run([make_post(links=("https://northmoor-scouts.test/camp",))])
    assert result.status is Status.NOT_EVALUATED
    assert result.findings[0].severity is Severity.INFO


def test_one_finding_per_link_across_cross_posts(make_post):
    posts = [make_post(id="web-1", links=("http://northmoor-scouts.test/camp",)),
             make_post(id="fb-1", platform="facebook", account="StAidansFict", links=("http://northmoor-scouts.test/camp",),
                       created_at=datetime(2026, 11, 18, 10, 3, tzinfo=timezone.utc))]
    result = run(posts, resolver=seeded(ok("http://northmoor-scouts.test/camp")))
    [finding] = result.findings
    assert finding.post_id == "web-1" and finding.message.endswith("; it is also in 1 other post.")
    assert finding.evidence == "http://northmoor-scouts.test/camp"  # stable: part of the finding's key


def test_only_this_weeks_posts_are_judged(make_post):
    old = make_post(links=("https://lucky-spins.test/",), created_at=datetime(2026, 11, 15, 23, 30, tzinfo=timezone.utc))
    result = run([old])
    assert result.status is Status.PASS and result.metrics["links"] == 0


def test_failed_account_makes_a_clean_week_not_evaluated(make_post):
    failed = AccountCollection(school="st-aidans", platform="x", account="StAidansFict", status=CollectionStatus.ERROR)
    result = run([make_post(links=("https://www.gov.uk/",))], collections=(failed,))
    assert result.status is Status.NOT_EVALUATED and "could not be collected" in result.summary
    still = run([make_post(links=("https://lucky-spins.test/",))], collections=(failed,))
    assert still.status is Status.FAIL  # what was seen is still reported


def test_no_accounts_is_not_evaluated(make_post):
    school = SCHOOL.model_copy(update={"accounts": []})
    assert run([], school=school).status is Status.NOT_EVALUATED


def test_a_missing_blocklist_is_an_error_naming_the_file(make_post):
    config = config_with(blocklists=["/nonexistent/ut1/blacklists"])
    result = run([make_post(links=("https://www.gov.uk/",))], config=config)
    assert result.status is Status.ERROR and "/nonexistent/ut1/blacklists" in result.summary


def test_relative_blocklist_paths_fall_back_to_the_project_folder(make_post):
    config = config_with(blocklists=["tests/data/blocklist"])
    assert run([make_post(links=("https://lucky-spins.test/",))], config=config).status is Status.FAIL


def test_hostile_text_in_links_stays_text(make_post):
    url = "https://lucky-spins.test/<script>alert(1)</script>?token=SECRET"
    result = run([make_post(links=(url,))])
    [finding] = result.findings
    assert "SECRET" not in finding.evidence and "token" not in finding.evidence  # no query strings


# --- blocklist formats ---------------------------------------------------------------------------

def test_ut1_tree_fixture():
    blocklist = load_blocklists([DATA / "blocklist"], DEFAULT_CATEGORIES)
    assert blocklist.match("lucky-spins.test", "/") == ("gambling", "lucky-spins.test")
    assert blocklist.match("a.b.casino-fict.test", "/x") == ("gambling", "casino-fict.test")
    assert blocklist.match("free-hosting.test", "/casino/x") == ("gambling", "free-hosting.test/casino/")
    assert blocklist.match("free-hosting.test", "/slots") == ("gambling", "free-hosting.test/slots")
    assert blocklist.match("free-hosting.test", "/slotsmachine") is None  # a path prefix ends at a segment
    assert blocklist.match("other.free-hosting.test", "/casino/x") is None  # url entries name one host
    assert blocklist.match("chatter-fict.test", "/") is None  # social_networks not selected
    assert blocklist.match("health-for-teens-fict.test", "/") is None


@pytest.mark.skipif(not UT1_SAMPLE.is_dir(), reason="../shared/data/ut1-blacklists-sample is absent")
def test_ut1_sample_flattened_files():
    """The UT1 sample (strings only: these sites are never opened)."""
    blocklist = load_blocklists([UT1_SAMPLE], DEFAULT_CATEGORIES)
    assert len(blocklist) > 10000
    first_gambling = next(line.strip() for line in (UT1_SAMPLE / "gambling_domains.txt").open() if line.strip())
    assert blocklist.match(first_gambling, "/")[0] == "gambling"
    first_phishing = next(line.strip() for line in (UT1_SAMPLE / "phishing_urls.txt").open() if line.strip())
    host, _, path = first_phishing.partition("/")
    assert blocklist.match(host, "/" + path) is not None
    social = next(line.strip() for line in (UT1_SAMPLE / "social_networks_domains.txt").open() if "." in line)
    assert blocklist.match(social, "/") is None  # not a default category
    assert not [s for s in blocklist.sources if "sexual_education" in s]  # "white" in its usage file


# --- wired in: the demo and the CLI --------------------------------------------------------------

def test_demo_school_fails_for_a_real_reason(audit_env, simulator):
    """Sacred Heart's shortened link expands (over the simulator) to a blocklisted site, never opened.
    The collect step opens the links; the check step opens nothing and judges what collect kept."""
    from socialaudit import pipeline

    run_id = "test-external-links"
    pipeline.plan(W47, run_id, audit_env)
    before = len(simulator.request_log)
    pipeline.collect_school("sacred-heart", W47, run_id, audit_env)
    opened = simulator.request_log[before:]
    checked = len(simulator.request_log)
    pipeline.check_school("sacred-heart", W47, run_id, audit_env)
    assert simulator.request_log[checked:] == []  # the check step asks the simulator nothing
    [result] = [r for r in audit_env.store().results_for(W47, "sacred-heart") if r.check == "external_links"]
    assert result.status is Status.FAIL
    messages = [f.message for f in result.findings]
    assert any("mathsgames-casino.demo.example" in m and "gambling" in m for m in messages)
    assert any("northmoor-scouts.demo.example uses http://" in m for m in messages)
    assert "/s/maths" in opened and "/web/camp" in opened
    assert "/web/spin" not in opened  # the blocklisted destination is never opened
    assert result.metrics["expanded"] >= 1
    # a second collection (a task retry) answers from the store's cache, and the check gives the same result
    again = len(simulator.request_log)
    pipeline.collect_school("sacred-heart", W47, run_id, audit_env)
    assert [p for p in simulator.request_log[again:] if p.startswith(("/s/", "/web/"))] == []
    pipeline.check_school("sacred-heart", W47, run_id, audit_env)
    assert [r for r in audit_env.store().results_for(W47, "sacred-heart") if r.check == "external_links"] == [result]


def test_cli_scan_no_resolve(make_post, tmp_path, capsys):
    from socialaudit import cli

    posts = tmp_path / "posts.jsonl"
    post = make_post(links=("https://st0swins-trust.example.org/", "https://northmoor-scouts.test/"))
    posts.write_text(json.dumps(post.to_dict()) + "\n", encoding="utf-8")
    config = tmp_path / "trust.yaml"
    raw = copy.deepcopy(RAW)
    raw["trust"]["checks"] = {"external_links": {"blocklists": [str(DATA / "blocklist")]}}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    code = cli.main(["scan", "--config", str(config), "--checks", "external_links", "--no-resolve", str(posts)])
    assert code == 0
    findings = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(f["severity"], f["status"]) for f in findings] == [("breach", "fail"), ("info", "not_evaluated")]
    assert "northmoor-scouts.test" in findings[1]["evidence"]


def test_module_path_is_importable_from_plugins():
    assert Path(sys.modules["checks.external_links"].__file__).parent.name == "checks"
