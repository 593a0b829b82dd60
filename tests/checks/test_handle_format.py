"""handle_format (policy 4.2): @schoolname in lowercase, judged per platform's handle rules."""

from __future__ import annotations

import pytest

from checks._base import run_checks
from checks.handle_format import name_forms
from socialaudit.config import DEFAULT_CONFIG, Account, School, load_config
from socialaudit.models import Severity, Status
from socialaudit.weeks import IsoWeek

CONFIG = load_config(DEFAULT_CONFIG)
W47 = IsoWeek.parse("2026-W47")
AIDANS = "St Aidan's Catholic Primary School"


def school(name: str, *accounts: Account, head_email: str = "head@school.example.sch.uk") -> School:
    return School(id="test-school", name=name, head_email=head_email, accounts=list(accounts))


def run(target: School):
    [result] = run_checks(target, [], week=W47, config=CONFIG, names=["handle_format"])
    return result


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (AIDANS, ["staidans", "staidan", "saintaidans", "saintaidan"]),
        ("Holy Cross RC Primary School", ["holycross"]),  # "Cross" ends in s but is not a possessive
        ("St Hilda's C of E Primary Academy", ["sthildas", "sthilda", "sainthildas", "sainthilda"]),
        ("Our Lady of Lourdes Catholic Academy", ["ourladyoflourdes", "ourladylourdes"]),
        ("Christ Church CE Primary School", ["christchurch"]),  # "Church" stays unless "Church of England"
        ("Holy Trinity Church of England Voluntary Aided Junior School", ["holytrinity"]),
        ("Saint Bede\u2019s Roman Catholic High School", ["saintbedes", "saintbede", "stbedes", "stbede"]),
        ("The Academy", ["the"]),
    ],
)
def test_name_forms(name, expected):
    assert name_forms(name)[: len(expected)] == expected


# (school name, platform, handle, severity or None, words in the message, words in the action)
CASES = [
    (AIDANS, "x", "staidans", None, "", ""),
    (AIDANS, "x", "saintaidan", None, "", ""),
    (AIDANS, "x", "staidansprimary", None, "", ""),  # the school's type words may follow the name
    (AIDANS, "x", "thestaidans", None, "", ""),
    (AIDANS, "x", "StAidans", Severity.WARNING, "not in lowercase", "@staidans (X ignores letter case"),
    (AIDANS, "x", "StAidansFict", Severity.WARNING, "adds 'fict'", "@staidansfict"),
    (AIDANS, "x", "staidansfict", Severity.INFO, "with 'fict' added", "@staidans is free"),
    (AIDANS, "x", "staidansparents", Severity.WARNING, "adds 'parents'", "Rename it to @staidans"),
    (AIDANS, "instagram", "officialstaidans", Severity.WARNING, "adds 'official'", "@staidans"),
    (AIDANS, "x", "stmarysprimary", Severity.WARNING, "does not contain the school's name", "@staidans"),
    (AIDANS, "x", "st_aidans", Severity.INFO, "punctuation", "@staidans"),
    (AIDANS, "x", "st aidans", Severity.WARNING, "not a valid X handle", "the account's real handle"),
    (AIDANS, "x", "staidansprimary1", Severity.WARNING, "not a valid X handle", ""),  # 16 characters
    (AIDANS, "mastodon", "@StAidans@mastodon.example", Severity.WARNING, "lowercase", "@staidans@mastodon.example"),
    (AIDANS, "mastodon", "@staidans@Social.Example", None, "", ""),  # only the user part is judged
    (AIDANS, "instagram", "st.aidans", Severity.INFO, "punctuation", "@staidans"),
    (AIDANS, "facebook", "st_aidans", Severity.WARNING, "not a valid Facebook username", ""),
    (AIDANS, "facebook", "sta", Severity.WARNING, "not a valid Facebook username", ""),  # under 5 characters
    ("Our Lady of Lourdes Catholic Academy", "x", "ourladyoflourde", None, "", ""),  # 16 letters cut to X's 15
    ("Our Lady of Lourdes Catholic Academy", "x", "olol", Severity.WARNING, "does not contain", "@ourladylourdes"),
    ("Our Lady of Lourdes Catholic Academy", "instagram", "olol", Severity.WARNING, "", "@ourladyoflourdes"),
    ("Holy Cross RC Primary School", "bluesky", "holycross.bsky.social", None, "", ""),
    ("Holy Cross RC Primary School", "bluesky", "news-desk.bsky.social", Severity.WARNING, "does not contain",
     "holycross.bsky.social"),
    ("Holy Cross RC Primary School", "bluesky", "holy-cross.bsky.social", Severity.INFO, "punctuation", ""),
    ("Sacred Heart Primary School", "bluesky", "school.example.sch.uk", None, "", ""),  # the school's own domain
    ("Sacred Heart Primary School", "bluesky", "news.school.example.sch.uk", None, "", ""),
    ("Sacred Heart Primary School", "bluesky", "School.example.sch.uk", Severity.WARNING, "own domain", "school.example.sch.uk"),
    ("Sacred Heart Primary School", "bluesky", "sacredheart.example.org", None, "", ""),  # judged by its first label
    ("Sacred Heart Primary School", "instagram", "sacredheart_fict", Severity.INFO, "'fict'", "@sacredheart"),
    ("St Hilda's C of E Primary Academy", "youtube", "@sthildasacademy", None, "", ""),
    ("St Hilda's C of E Primary Academy", "youtube", "@SthildasAcademy", Severity.WARNING, "lowercase", "@sthildasacademy"),
    ("St Joseph's Catholic High School", "x", "stjosephshigh", None, "", ""),
    ("Christ Church CE Primary School", "x", "christchurchce", None, "", ""),
    ("Christ Church CE Primary School", "x", "christce", Severity.WARNING, "does not contain", "@christchurch"),
]


@pytest.mark.parametrize(("name", "platform", "handle", "severity", "message", "action"), CASES)
def test_handles(name, platform, handle, severity, message, action):
    result = run(school(name, Account(platform=platform, handle=handle)))
    if severity is None:
        assert result.status is Status.PASS
        assert result.findings == ()
        return
    [finding] = result.findings
    assert finding.severity is severity
    assert result.status is (Status.WARN if severity is Severity.WARNING else Status.PASS)
    assert message in finding.message
    assert action in finding.action
    assert finding.policy == "4.2"
    assert finding.evidence == handle
    # a head reads this: it names who can change the trust's settings, never a file or a setting's name
    for words in (finding.message, finding.action):
        assert "config" not in words and ".yaml" not in words and "expected_handle" not in words
    assert finding.account == handle


@pytest.mark.parametrize(
    ("handle", "expected", "severity", "message"),
    [
        ("ololacademy", "ololacademy", None, ""),
        ("OLOLacademy", "ololacademy", Severity.WARNING, "not in lowercase"),
        ("ourladylourdes", "ololacademy", Severity.WARNING, "not the handle the trust expects (ololacademy)"),
        ("olol.academy", "ololacademy", None, ""),  # punctuation is ignored when comparing with the expected handle
    ],
)
def test_expected_handle_in_config_replaces_the_derived_forms(handle, expected, severity, message):
    account = Account(platform="facebook", handle=handle, expected_handle=expected)
    result = run(school("Our Lady of Lourdes Catholic Academy", account))
    if severity is None:
        assert result.findings == () and result.status is Status.PASS
    else:
        [finding] = result.findings
        assert finding.severity is severity and message in finding.message


def test_accounts_with_only_a_url_are_not_applicable():
    result = run(school(AIDANS, Account(platform="rss", url="https://st-aidans.example.sch.uk/feed/"),
                        Account(platform="youtube", url="https://www.youtube.com/channel/UCfict")))
    assert result.status is Status.NOT_APPLICABLE
    assert result.metrics["accounts_judged"] == 0
    assert len(result.metrics["not_applicable"]) == 2


def test_one_bad_handle_among_good_ones_warns_and_names_it():
    result = run(school(AIDANS, Account(platform="rss", url="https://st-aidans.example.sch.uk/feed/"),
                        Account(platform="x", handle="staidans"),
                        Account(platform="instagram", handle="StAidans")))
    assert result.status is Status.WARN
    assert result.summary == "1 of 2 handles not in the @schoolname lowercase form."
    [finding] = result.findings
    assert finding.account == "StAidans"
    assert finding.post_url == "https://www.instagram.com/StAidans/"


def test_the_demo_trust_shows_warnings_for_its_uppercase_handles():
    by_school = {s.id: run_checks(s, [], week=W47, config=CONFIG, names=["handle_format"])[0] for s in CONFIG.schools}
    aidans = by_school["st-aidans"]
    assert aidans.status is Status.WARN
    [warning] = [f for f in aidans.findings if f.severity is Severity.WARNING]
    assert warning.evidence == "StAidansFict"
    assert "@staidansfict" in warning.action and "@staidans " in warning.action
    assert by_school["our-lady"].status is Status.WARN
    assert by_school["holy-cross"].status is Status.PASS  # holycross.bsky.social
    assert by_school["sacred-heart"].status is Status.PASS  # own-domain Bluesky handle, sacredheart_fict an info note


def test_an_account_the_platform_cannot_find_is_not_judged(make_post):
    """Advice to rename an account would contradict the report, which says the account does not exist."""
    from checks._base import run_checks
    from socialaudit.config import DEFAULT_CONFIG, load_config
    from socialaudit.models import AccountCollection, CollectionStatus, Status
    from socialaudit.weeks import IsoWeek

    config = load_config(DEFAULT_CONFIG)
    school = config.school("st-josephs")
    week = IsoWeek.parse("2026-W47")
    [judged] = run_checks(school, [], week=week, config=config, names=["handle_format"])
    assert judged.status is Status.WARN and any("StJosephsFict" in f.message for f in judged.findings)
    gone = [AccountCollection(school=school.id, platform=a.platform, account=a.key, status=CollectionStatus.UNAVAILABLE)
            for a in school.accounts if a.platform in ("x", "bluesky")]
    [result] = run_checks(school, [], week=week, config=config, collections=gone, names=["handle_format"])
    assert result.status is Status.NOT_EVALUATED and result.findings == ()
    assert "could not be found on the platform" in result.summary
    # one gone, the other still judged
    [partly] = run_checks(school, [], week=week, config=config, collections=gone[:1], names=["handle_format"])
    assert partly.status is not Status.NOT_EVALUATED and "Not judged: " in partly.summary
