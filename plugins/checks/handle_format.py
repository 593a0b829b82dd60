"""Handle format (policy 4.2).

What it checks: every official account's handle is @schoolname in lowercase, where the platform allows it: the school's name without words such as Primary, School, Academy, Catholic, C of E or RC, and without punctuation ("St Aidan's Catholic Primary School" -> @staidans; St or Saint, with or without "of"; the school's type words may follow, as in @staidansprimary). An explicit expected_handle in config replaces the derived forms.
Why it matters: families must be able to tell an official account from an impostor, and one predictable form across the trust makes that easy.
Example: "@StAidansFict" on X -> warning: not lowercase; rename it to @staidansfict (better still @staidans).
How to fix: change the handle in the platform's settings to the lowercase form in the finding (X, Instagram, Facebook and Mastodon handles ignore letter case, so lowercasing keeps the account's address), or, if the trust has approved this handle, ask the trust's social media lead to record it as the expected handle.

Rules per platform: X 1-15 of letters, digits and _; Instagram up to 30 of letters, digits, . and _; a
Facebook username at least 5 of letters, digits and .; a YouTube @handle 3-30 of letters, digits, _,
- and .; Mastodon @user@instance (the user part is judged); Bluesky a domain name (a handle on the
school's own domain, taken from its email addresses, proves ownership and passes; otherwise the first
label is judged). Accounts with only a URL (websites, RSS feeds) are not applicable.

A handle that is the school's name plus a short suffix (up to ``max_suffix`` characters, such as
"fict", "uk" or "old") is related to the school but not the policy's form: it gets an info note
suggesting the plain form, not a warning. A longer addition ("staidansparents") is a warning, since
that is how impostor and unofficial accounts are usually named.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from checks._base import CheckContext, Setting, check
from socialaudit.config import Account, School
from socialaudit.models import CheckResult, CollectionStatus, Finding, Post, Severity, Status

# Multi-word designations dropped before single words (so "Church of England" goes, "Christ Church" stays).
_DROP_PHRASES = (("church", "of", "england"), ("c", "of", "e"), ("roman", "catholic"), ("church", "school"),
                 ("sixth", "form"), ("free", "school"))
# Words that say what kind of school it is, not which school: dropped from the name, accepted after it.
TYPE_WORDS = frozenset({
    "school", "schools", "primary", "academy", "academies", "catholic", "ce", "cofe", "rc", "voluntary", "aided",
    "controlled", "va", "vc", "infant", "infants", "junior", "juniors", "high", "secondary", "college",
    "community", "nursery", "first", "middle", "grammar", "foundation", "federation", "methodist", "cp",
    "ps", "pri", "hs", "sch", "acad", "cps", "rcp", "jmi",
})
_CONNECTORS = frozenset({"of", "the", "and"})
_SEPARATORS = re.compile(r"[._\-]")
_WORD = re.compile(r"[a-z0-9]+(?:'s)?")


@dataclass(frozen=True, slots=True)
class PlatformRule:
    """What a platform allows in the part of a handle we judge."""

    label: str
    pattern: re.Pattern[str]
    min_len: int
    max_len: int
    case_insensitive: bool  # the platform treats "StAidans" and "staidans" as the same account
    separators: str  # characters it allows besides letters and digits


RULES: dict[str, PlatformRule] = {
    "x": PlatformRule("X handle", re.compile(r"[A-Za-z0-9_]+"), 1, 15, True, "_"),
    "instagram": PlatformRule("Instagram username", re.compile(r"[A-Za-z0-9._]+"), 1, 30, True, "._"),
    "facebook": PlatformRule("Facebook username", re.compile(r"[A-Za-z0-9.]+"), 5, 50, True, "."),
    "youtube": PlatformRule("YouTube handle", re.compile(r"[A-Za-z0-9._\-]+"), 3, 30, True, "._-"),
    "mastodon": PlatformRule("Mastodon username", re.compile(r"[A-Za-z0-9_]+"), 1, 30, True, "_"),
    "bluesky": PlatformRule("Bluesky handle label", re.compile(r"[A-Za-z0-9\-]+"), 1, 63, True, "-"),
}


def _name_tokens(name: str) -> list[tuple[str, bool]]:
    """The school's name as lowercase words, designations dropped; True marks a possessive ("Aidan's")."""
    text = name.lower().replace("\u2019", "'").replace("&", " and ")
    words = [(w.replace("'", ""), w.endswith("'s")) for w in _WORD.findall(text)]
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(words):
        for phrase in _DROP_PHRASES:
            if tuple(w for w, _ in words[i:i + len(phrase)]) == phrase:
                i += len(phrase)
                break
        else:
            if words[i][0] not in TYPE_WORDS:
                out.append(words[i])
            i += 1
    return out


def _alternatives(word: str, possessive: bool) -> list[str]:
    if word in ("st", "saint"):
        return ["st", "saint"] if word == "st" else ["saint", "st"]
    if word in _CONNECTORS:
        return [word, ""]
    if possessive:
        return [word, word[:-1]]  # "aidans" (from Aidan's) or "aidan"
    return [word]


def name_forms(name: str, limit: int = 64) -> list[str]:
    """Acceptable lowercase handles derived from the school's name, the preferred form first.

    >>> name_forms("St Aidan's Catholic Primary School")[:4]
    ['staidans', 'staidan', 'saintaidans', 'saintaidan']
    """
    tokens = _name_tokens(name)
    if not tokens:
        return []
    choices = [_alternatives(word, possessive) for word, possessive in tokens]
    forms: list[str] = []
    for combo in itertools.islice(itertools.product(*choices), limit):
        form = "".join(combo)
        if form and form not in forms:
            forms.append(form)
    return forms


@dataclass(frozen=True, slots=True)
class Judged:
    """One account's handle, taken apart for judging."""

    platform: str
    shown: str  # the handle as configured
    part: str  # the part the rule applies to (Mastodon user, Bluesky first label, X name without @)
    own_domain: bool = False


def judged_part(account: Account, own_domains: Sequence[str]) -> Judged | None:
    """The part of the handle the policy applies to, or None when the account has no handle."""
    handle = account.handle.strip()
    if not handle or account.platform not in RULES:
        return None
    if account.platform == "mastodon":
        user = handle.lstrip("@").split("@", 1)[0]
        return Judged(account.platform, handle, user)
    if account.platform == "bluesky":
        domain = handle.lstrip("@").rstrip(".")
        lowered = domain.lower()
        own = any(lowered == d or lowered.endswith("." + d) for d in own_domains)
        return Judged(account.platform, handle, domain.split(".", 1)[0], own_domain=own)
    return Judged(account.platform, handle, handle.lstrip("@"))


def school_domains(school: School) -> list[str]:
    """The school's own domains: those of its head's and DSL's email addresses."""
    out: list[str] = []
    for email in (school.head_email, school.dsl_email):
        if "@" in email:
            domain = email.rsplit("@", 1)[1].lower().strip(".")
            if domain and domain not in out:
                out.append(domain)
    return out


def _strip_type_words(rest: str) -> str:
    """What is left of ``rest`` after removing leading school-type words ("primaryschool" -> "")."""
    changed = True
    while rest and changed:
        changed = False
        for word in sorted(TYPE_WORDS, key=len, reverse=True):
            if rest.startswith(word):
                rest = rest[len(word):]
                changed = True
                break
    return rest


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str  # "exact", "suffix", "extra", "unrelated", "expected_mismatch", "own_domain"
    form: str = ""  # the matched name form
    extra: str = ""  # what the handle adds to it


def classify(flat: str, forms: Sequence[str], *, max_suffix: int, max_len: int) -> Verdict:
    """How a lowercase, separator-free handle relates to the school's name forms."""
    best: Verdict | None = None
    for form in forms:
        if flat == form or (len(form) > max_len and flat == form[:max_len]):
            return Verdict("exact", form)
        position = flat.find(form)
        if position < 0:
            continue
        before, after = flat[:position], _strip_type_words(flat[position + len(form):])
        if before in ("", "the") and not after:
            return Verdict("exact", form)
        extra = (before + " " + after).strip()
        kind = "suffix" if len(before) + len(after) <= max_suffix else "extra"
        candidate = Verdict(kind, form, extra)
        if best is None or (best.kind == "extra" and kind == "suffix"):
            best = candidate
    return best or Verdict("unrelated")


def suggestion(forms: Sequence[str], platform: str) -> str:
    """The preferred form that the platform accepts (X's 15 characters truncate a long name)."""
    rule = RULES[platform]
    for form in forms:
        if rule.min_len <= len(form) <= rule.max_len:
            return form
    return forms[0][: rule.max_len] if forms else ""


def _profile_url(judged: Judged, account: Account) -> str:
    if account.url.startswith(("https://", "http://")):
        return account.url
    part = judged.shown.lstrip("@")
    if judged.platform == "mastodon" and "@" in part:
        user, instance = part.split("@", 1)
        return f"https://{instance}/@{user}"
    return {
        "x": f"https://x.com/{part}",
        "instagram": f"https://www.instagram.com/{part}/",
        "facebook": f"https://www.facebook.com/{part}",
        "youtube": f"https://www.youtube.com/@{part}",
        "bluesky": f"https://bsky.app/profile/{part}",
    }.get(judged.platform, "")


def _renamed(judged: Judged, part: str) -> str:
    """The handle as it would be shown after renaming its judged part to ``part``."""
    if judged.platform == "mastodon":
        instance = judged.shown.lstrip("@").split("@", 1)[1] if "@" in judged.shown.lstrip("@") else ""
        return f"@{part}@{instance}" if instance else f"@{part}"
    if judged.platform == "bluesky":
        domain = judged.shown.lstrip("@")
        rest = domain.split(".", 1)[1] if "." in domain else "bsky.social"
        return f"{part}.{rest}"
    return f"@{part}"


@check(
    "handle_format",
    policy="4.2",
    settings={"max_suffix": Setting(4, "Characters a handle may add to the school's name (such as 'fict' or 'uk') "
                                       "and still count as the school's, with an info note; a longer addition is a "
                                       "warning (policy 4.2).")},
    needs_collection=False,
)
def handle_format(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
    """Judge every configured handle of the school against the @schoolname lowercase form."""
    max_suffix = int(ctx.setting("max_suffix"))
    forms = name_forms(school.name)
    domains = school_domains(school)
    findings: list[Finding] = []
    judged_count = 0
    skipped: list[str] = []
    # an account the platform says does not exist (or is private or suspended) is not judged: advice to
    # rename it would contradict the report, which asks the school to check that it still exists
    missing = {(c.platform, c.account) for c in ctx.collections if c.status is CollectionStatus.UNAVAILABLE}
    unfound: list[str] = []
    for account in school.accounts:
        judged = judged_part(account, domains)
        if judged is None:
            skipped.append(f"{account.platform} {account.key}")
            continue
        if (account.platform, account.key) in missing:
            unfound.append(f"{account.platform} {account.key}")
            continue
        judged_count += 1
        findings.extend(_judge(school, account, judged, forms, max_suffix))
    metrics = {"accounts_judged": judged_count, "not_applicable": skipped, "not_found": unfound, "name_forms": forms[:6]}
    warnings = [f for f in findings if f.severity is Severity.WARNING]
    if unfound and not judged_count:
        return CheckResult(check="handle_format", policy="4.2", school=school.id, status=Status.NOT_EVALUATED,
                           summary=f"Not judged: {', '.join(unfound)} could not be found on the platform.",
                           findings=tuple(findings), metrics=metrics)
    if not judged_count:
        return CheckResult(check="handle_format", policy="4.2", school=school.id, status=Status.NOT_APPLICABLE,
                           summary="No account with a handle is configured (websites and feeds have none).",
                           findings=tuple(findings), metrics=metrics)
    if warnings:
        summary = f"{len(warnings)} of {judged_count} handle{'s' if judged_count != 1 else ''} not in the @schoolname lowercase form."
        status = Status.WARN
    else:
        notes = len(findings)
        if notes:
            summary = (f"No handle breaks the @schoolname lowercase form ({judged_count} checked); {notes} "
                       f"add{'s' if notes == 1 else ''} a suffix or punctuation (see the notes).")
        else:
            summary = ("The handle follows" if judged_count == 1 else f"All {judged_count} handles follow") \
                + " the @schoolname lowercase form."
        status = Status.PASS
    if unfound:
        summary += f" Not judged: {', '.join(unfound)} could not be found on the platform."
    return CheckResult(check="handle_format", policy="4.2", school=school.id, status=status, summary=summary,
                       findings=tuple(findings), metrics=metrics)


def _judge(school: School, account: Account, judged: Judged, forms: Sequence[str], max_suffix: int) -> list[Finding]:
    rule = RULES[judged.platform]
    url = _profile_url(judged, account)
    shown = judged.shown

    def finding(severity: Severity, message: str, action: str) -> Finding:
        return Finding(check="handle_format", severity=severity,
                       status=Status.WARN if severity is Severity.WARNING else Status.PASS,
                       school=school.id, policy="4.2", account=account.key, post_url=url, evidence=shown,
                       message=message, action=action)

    if judged.own_domain:
        if shown != shown.lower():
            return [finding(Severity.WARNING, f"The Bluesky handle {shown} is on the school's own domain but not in lowercase.",
                            f"Set the handle to {shown.lower()}.")]
        return []
    part = judged.part
    if not rule.pattern.fullmatch(part) or not rule.min_len <= len(part) <= rule.max_len:
        return [finding(Severity.WARNING,
                        f"{shown} is not a valid {rule.label} ({rule.min_len}-{rule.max_len} characters of letters, digits"
                        f"{' and ' + ' '.join(rule.separators) if rule.separators else ''}); the trust's settings may hold a mistyped handle.",
                        "Tell the trust's social media lead the account's real handle, so the trust's settings can be corrected.")]
    lower = part.lower()
    flat = _SEPARATORS.sub("", lower)
    upper = part != lower
    platform_name = rule.label.split()[0]
    keeps = f" ({platform_name} ignores letter case, so the account keeps its address)" if rule.case_insensitive else ""
    if account.expected_handle:
        expected = judged_part(Account(platform=account.platform, handle=account.expected_handle), ()) or judged
        if _SEPARATORS.sub("", expected.part.lower()) != flat:
            return [finding(Severity.WARNING, f"{shown} is not the handle the trust expects ({account.expected_handle}).",
                            f"Rename the account to {account.expected_handle}, or, if the trust approved this handle, tell the trust's social media lead.")]
        if upper:
            return [finding(Severity.WARNING, f"{shown} is not in lowercase.",
                            f"Rename it to {_renamed(judged, lower)}{keeps}.")]
        return []
    if not forms:
        return [finding(Severity.INFO, f"No handle could be derived from the school's name {school.name!r}.",
                        "Ask the trust's social media lead which handle the trust expects for this account.")]
    verdict = classify(flat, forms, max_suffix=max_suffix, max_len=rule.max_len)
    best = suggestion(forms, judged.platform)
    if verdict.kind == "unrelated":
        return [finding(Severity.WARNING, f"{shown} does not contain the school's name; families cannot tell it is official.",
                        f"Rename it to {_renamed(judged, best)}; if the trust has approved this handle, ask the trust's social media lead to record it.")]
    if verdict.kind == "extra":
        return [finding(Severity.WARNING,
                        f"{shown} adds {verdict.extra!r} to the school's name, which is how unofficial accounts are named.",
                        f"Rename it to {_renamed(judged, best)}; if the trust has approved this handle, ask the trust's social media lead to record it.")]
    preferred = verdict.form if RULES[judged.platform].min_len <= len(verdict.form) <= rule.max_len else best
    if upper:
        added = f" and adds {verdict.extra!r} to the school's name" if verdict.kind == "suffix" else ""
        better = f", or better to {_renamed(judged, preferred)} if it is free" if verdict.kind == "suffix" else ""
        return [finding(Severity.WARNING, f"{shown} is not in lowercase{added}.",
                        f"Rename it to {_renamed(judged, lower)}{keeps}{better}.")]
    if verdict.kind == "suffix":
        return [finding(Severity.INFO, f"{shown} is the school's name with {verdict.extra!r} added.",
                        f"If {_renamed(judged, preferred)} is free, it is the policy's form.")]
    if flat != lower:
        return [finding(Severity.INFO, f"{shown} separates words with punctuation.",
                        f"If {_renamed(judged, flat)} is free, it is the policy's form.")]
    return []
