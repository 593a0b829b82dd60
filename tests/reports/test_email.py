"""The head's weekly email: content, email-safe HTML, size, masking, and hostile text kept inert."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from typing import Any

import pytest

from socialaudit.models import Post
from tests.reports.conftest import (
    CHILD_MASKED,
    CHILD_NAME,
    WEEK,
    add_findings,
    critical_named_child,
    finding,
    hostile_findings,
    rerender,
)


def _eml(env: Any, school: str) -> tuple[EmailMessage, bytes]:
    raw = (env.output / "outbox" / str(WEEK) / f"{school}.eml").read_bytes()
    message = message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message, raw


def _bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_structure_subject_and_sections(demo_week):
    add_findings(demo_week.store(), WEEK, "holy-cross", [finding("holy-cross", message="A link points to an unsafe site.",
                                                                  action="Remove the link.")])
    rerender(demo_week, WEEK)
    message, raw = _eml(demo_week, "holy-cross")
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    # subject: the school, the week and the headline (the post_frequency breach, the weekly Mass it did
    # not promote (event_promotion) + the injected finding)
    assert message["Subject"] == "Holy Cross RC Primary School: social media audit 2026-W47 - 3 actions this week"
    assert message["To"] == "head@holy-cross.example.sch.uk" and message["Cc"] is None
    assert len(raw) < 100 * 1024
    text, html = _bodies(message)
    for body in (text, html):
        assert "3 actions this week" in body
        assert "1 original post in 2026-W47; the policy asks for at least 3 a week." in body
        assert "A link points to an unsafe site." in body and "Remove the link." in body
        assert "https://holy-cross.example.sch.uk/news/1/" in body  # the permalink
        assert "Not met" in body  # 4.3 in plain words, readable without colour
    # one status per clause, 4.1 to 4.4, each with a symbol and words
    for clause in ("4.1", "4.2", "4.3", "4.4"):
        assert re.search(rf"{re.escape(clause)} [^\n]+: [^\n]+", text), clause
    assert "\u2717 Not met" in html and "\u2717 Not met" in text
    # the 8-week trend as table cells (every client draws them), with the target line
    assert html.count("2026-W4") >= 8 and "2026-W40" in html
    assert "border-right:3px solid #b91c1c" in html.replace(" ", "").replace(";!important", "") or "3px solid #b91c1c" in html
    assert "#..|" in text  # one post, then the 3-a-week line


def test_email_safe_html(demo_week):
    _message, raw = _eml(demo_week, "st-aidans")
    _text, html = _bodies(_message)
    lowered = html.lower()
    # no external resources, no script, no SVG, CSS inlined
    for banned in ("<script", "<svg", "<link", "<img", "<iframe", "@import", "url(", "<style"):
        assert banned not in lowered, banned
    assert not re.search(r"\ssrc\s*=", lowered)
    assert lowered.count('style="') > 20  # css-inline moved the stylesheet into attributes
    assert "<table" in lowered and 'role="presentation"' in lowered
    assert len(raw) < 100 * 1024


def test_not_collected_accounts_are_named_with_the_reason(demo_week):
    message, _raw = _eml(demo_week, "st-josephs")
    text, html = _bodies(message)
    for body in (text, html):
        assert "Not collected: account unavailable" in body
        assert "not evaluated" in body.lower()
    assert "Why:" in text


def test_critical_finding_copies_the_dsl_and_names_are_masked(demo_week):
    store = demo_week.store()
    # the post itself, full name included, is in the store: the email must show only the masked evidence
    post = Post(platform="rss", account="x", school="st-hildas", id="sports-day",
                url="https://st-hildas.example.sch.uk/news/sports-day/", created_at=WEEK.bounds()[0],
                text=f"Well done {CHILD_NAME} on winning the sack race!")
    store.upsert_posts([post], run_id="test")
    add_findings(store, WEEK, "st-hildas", [critical_named_child("st-hildas")])
    rerender(demo_week, WEEK)
    # the demo's own star-of-the-week post (named_children, on the website and on Facebook: one
    # incident with two findings) plus the one added here
    findings = [f for r in store.results_for(WEEK, "st-hildas") for f in r.findings
                if f.severity.value == "critical" and not f.suppressed]
    cross_posted = [f for f in findings if f.incident]
    assert len(cross_posted) == 2 and len({f.incident for f in cross_posted}) == 1
    critical = len(findings) - 1
    assert critical >= 2
    message, raw = _eml(demo_week, "st-hildas")
    assert message["To"] == "head@st-hildas.example.sch.uk"
    assert message["Cc"] == "safeguarding@st-hildas.example.sch.uk"
    assert message["Subject"].startswith("[Safeguarding] St Hilda's")
    text, html = _bodies(message)
    for body in (text, html):
        assert CHILD_MASKED.replace("*", "") in body.replace("*", "")
        assert f"Safeguarding: {critical} critical finding{'s' if critical != 1 else ''}" in body
    for part in ("Amelia", "Hartley", "sack race"):
        assert part not in raw.decode("utf-8", "replace") and part not in text and part not in html
        report = (demo_week.output / "reports" / str(WEEK) / "schools" / "st-hildas.html").read_text()
        assert part not in report


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((name, value or "") for name, value in attrs)


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def test_hostile_text_is_inert_in_the_email(demo_week):
    probe = "http://127.0.0.1:9"
    add_findings(demo_week.store(), WEEK, "our-lady", hostile_findings("our-lady", probe))
    rerender(demo_week, WEEK)
    message, _raw = _eml(demo_week, "our-lady")
    text, html = _bodies(message)
    found = elements(html)
    assert not {"script", "img", "iframe", "link", "style", "b", "i", "object", "embed"} & set(found.tags), set(found.tags)
    assert not [name for name, _value in found.attrs if name.startswith("on") or name == "src"]
    assert "&lt;script&gt;" in html and "&lt;img src=" in html  # shown as text, escaped
    hrefs = [value for name, value in found.attrs if name == "href"]
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert not any("javascript" in h.lower() or "data:" in h.lower() or "<" in h or '"' in h for h in hrefs)
    assert "<script>window.__pwned = 'script'" in text  # the plain-text part shows the words as they are
    # a javascript: or data: permalink is shown as text, not linked
    assert "javascript:window.__pwned='permalink'" in html.replace("&#39;", "'")
    assert "not a web link" in html


@pytest.mark.parametrize("url, linked", [
    ("https://x.example.sch.uk/p/1", True),
    ("http://x.example.sch.uk/p/1", True),
    ("javascript:alert(1)", False),
    (" JavaScript:alert(1)", False),
    ("data:text/html,<b>", False),
    ("//evil.example/p", False),
    ("https:///nohost", False),
    ("https://x.example/\nSet-Cookie", False),
    ("", False),
])
def test_only_http_permalinks_are_linked(url, linked):
    from socialaudit.reports import safe_link

    assert bool(safe_link(url)) is linked


def test_a_cross_posted_post_is_one_incident_in_the_report_the_email_and_the_kpis(demo_week):
    """St Hilda's star of the week is on its website and on Facebook: two findings, one incident."""
    from socialaudit import reports

    findings = [f for r in demo_week.store().results_for(WEEK, "st-hildas") for f in r.findings if f.severity.value == "critical"]
    assert len(findings) == 2 and findings[0].incident and findings[0].incident == findings[1].incident
    links = sorted(f.post_url for f in findings)
    message, _ = _eml(demo_week, "st-hildas")
    text, html = _bodies(message)
    assert "Safeguarding: 1 critical finding this week" in text and "This week's actions (1)" in text
    for body in (text, html):
        assert all(link in body for link in links)  # one action, every copy's link
    report = (demo_week.output / "reports" / str(WEEK) / "schools" / "st-hildas.html").read_text()
    assert "s actions (1)</h2>" in report
    assert "view post on st-hildas.example.sch.uk" in report and "view post on facebook.com" in report
    view = reports.trust_view(demo_week.load(), WEEK, demo_week.store(), missing=[])
    [row] = [r for r in view["rows"] if r["id"] == "st-hildas"]
    assert row["critical"] == 1


def test_a_school_with_nothing_collected_leads_with_each_broken_account_and_its_own_action(demo_week):
    """St Joseph's: a feed answering 404, an unknown Bluesky handle, an X account that is gone and a
    missing calendar. The email and the report say so first, one action each, in plain words; the
    raw reason stays under "Details"; no advice to rename a handle the platform cannot find."""
    message, _ = _eml(demo_week, "st-josephs")
    text, html = _bodies(message)
    assert message["Subject"].endswith("Nothing could be collected, so nothing was checked: 4 actions this week")
    actions = text[text.index("This week's actions (4)"):text.index("Posts per week")]
    expected = [("Your Bluesky account @stjosephs-old.bsky.social says the account does not exist", "Profile not found"),
                ("Your website feed http://", "answered HTTP 404"),
                ("Your X account @StJosephsFict says the account does not exist", "Could not find user"),
                ("Your events calendar http://", "HTTP 404")]
    at = [actions.index(f"{n}. [Not checked") for n in range(1, 5)]
    for (what, details), start, end in zip(expected, at, [*at[1:], len(actions)], strict=True):
        item = actions[start:end]
        assert what in item and "Details: " in item and details in item and "What to do: " in item
    assert "answers 'not found' (404)" in actions and "Rename" not in text and "rename it" not in html.lower()
    report = (demo_week.output / "reports" / str(WEEK) / "schools" / "st-josephs.html").read_text()
    first_action = report.index("s actions (4)</h2>")
    assert report.index("Your Bluesky account", first_action) < report.index("Checks</h2>")
    assert "not evaluated (accounts missing)" in report  # the posts-per-week row agrees with the check
    assert report.index("Nothing could be collected this week") < report.index("Policy at a glance")
    # the clauses say it once and point at the actions, instead of repeating the list of accounts four times
    assert report.count("4 of the school&#39;s accounts or calendars could not be read") == 4 or \
        report.count("4 of the school's accounts or calendars could not be read") == 4
    # and so does the Checks table: every check is not evaluated, none names an account again
    checks = report[report.index("<h2>Checks</h2>"):report.index("<h2>Posts per week")]
    assert checks.count("Accounts or calendars not read: the first actions above say which.") == 6
    assert "StJosephsFict" not in checks and "stjosephs-old" not in checks and "/rss/st-josephs/" not in checks
    assert "StJosephsFict" in report[report.index("s actions (4)</h2>"):report.index("<h2>Checks</h2>")]


def test_the_email_links_the_report_names_a_contact_and_says_when_no_lead_is_copied(demo_week):
    """Holy Cross has no safeguarding lead on file: a critical finding there is not silently uncopied."""
    add_findings(demo_week.store(), WEEK, "holy-cross", [critical_named_child("holy-cross")])
    rerender(demo_week, WEEK)
    message, _ = _eml(demo_week, "holy-cross")
    assert message["Subject"].startswith("[Safeguarding] ") and message["Cc"] is None
    text, html = _bodies(message)
    config = demo_week.load()
    for body in (text, html):
        assert "No safeguarding lead is on file for your school" in body and "forward this email to your DSL" in body
        assert "your safeguarding lead is copied" not in body
        assert f"{config.trust.report_url}/{WEEK}/schools/holy-cross.html" in body
        assert "How to read this" in body and config.trust.contact in body.replace("&#39;", "'")
    hildas, _ = _eml(demo_week, "st-hildas")
    assert "No safeguarding lead is on file" not in _bodies(hildas)[0]


def test_several_problems_with_one_link_are_one_action_counted_once(demo_week):
    """Sacred Heart's shortened link leads to a blocklisted site over plain http: two findings (each with
    its key, for a suppression), one action that names both problems, one incident in the KPIs."""
    from socialaudit import reports

    results = demo_week.store().results_for(WEEK, "sacred-heart")
    links = [f for r in results if r.check == "external_links" for f in r.findings if f.incident]
    assert len(links) == 2 and links[0].incident == links[1].incident and links[0].key != links[1].key
    message, _ = _eml(demo_week, "sacred-heart")
    text, html = _bodies(message)
    item = text[text.index("1. [Critical, 4.1]"):text.index("2. [")]
    assert "blocklist" in item and "Also (Warning):" in item and "http://" in item
    assert item.count("Post: ") == 1
    view = reports.trust_view(demo_week.load(), WEEK, demo_week.store(), missing=[])
    [row] = [r for r in view["rows"] if r["id"] == "sacred-heart"]
    assert row["critical"] == 1


def test_a_check_not_evaluated_for_another_reason_keeps_its_own_words_even_when_it_names_an_unread_account():
    """The Checks table says "not read" once only where a check says an unread account could not be read
    (review: matching the account's name alone rewrote other reasons that happened to contain it)."""
    from socialaudit.models import AccountCollection, CollectionStatus, Status
    from socialaudit.reports import _say_unread_once

    unread = AccountCollection(school="s", platform="x", account="StJo", status=CollectionStatus.UNAVAILABLE)
    read = AccountCollection(school="s", platform="mastodon", account="stjo", status=CollectionStatus.OK)
    other = "None of the school's accounts is on a platform whose comments are read (StJo posts no comments)."
    rows = [{"name": "post_frequency", "status": Status.NOT_EVALUATED.value,
             "summary": "2 posts, but x StJo could not be collected, so the count is incomplete."},
            {"name": "comments", "status": Status.NOT_EVALUATED.value, "summary": other},
            {"name": "handle_format", "status": Status.FAIL.value, "summary": "x StJo could not be collected."}]
    _say_unread_once(rows, [], [unread, read])
    assert rows[0]["summary"] == "Accounts or calendars not read: the first actions above say which."
    assert rows[1]["summary"] == other  # not evaluated for another reason
    assert rows[2]["summary"] == "x StJo could not be collected."  # only "not evaluated" rows are rewritten
