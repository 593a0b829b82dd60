"""Children named in posts, and other personal information (policy 4.1, safeguarding).

What it checks: no post with photographs or video names a child, and no post carries a child's full name or other personally identifying information (mobile numbers, personal email addresses, home addresses and postcodes, dates of birth), looking in the text, the alt text of every image and the hashtags, in any letter case.
Why it matters: the policy forbids identifying by name any child featured in photographs, and publishing personally identifying information; a name next to a photo lets a stranger find a child.
Example: a photo with "Well done Ava in Year 4!" -> critical: A*** (Year 4) named in a post with a photo.
How to fix: edit or delete the post now (remove the name, or the photo), then check the school's other accounts for the same post; the designated safeguarding lead is copied on critical findings.

Severities: critical for a child named in a post with a photo or video (text, alt text or hashtag),
a child's full name in any post, and any personal information (a person's mobile number, personal
email address, home address or postcode, a date of birth next to a name). A first name alone in a
text-only post is allowed by the policy's wording but is reported as a *warning* (setting
``text_only_first_name``: the same post is often shared with a photo elsewhere).

How a name is judged a child's: every word that could be a name gets features (how common it is
as a given name among children born in England and Wales and as an English word, its case and
place, the words and cues around it) and a trained logistic regression decides (see
``checks/_childnames.py``; rebuilt by ``python -m socialaudit.name_training``). Hard exclusions: a
word after a title (Mrs, Fr, Coach, ...) and the school's staff list. The school's own contact
details (its domains, role mailboxes, address, postcode and phones) are not personal information
(``checks/_personal.py``). Evidence and messages show only initials ("A*** (Year 4)") and the cue
that made it a child's name, never a name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from checks._base import CheckContext, Setting, check, in_week, plural
from checks._childnames import ChildName, NameContext, child_names, load_model, names_a_person, read_post, score_post
from checks._personal import OwnDetails, PiiHit, might_be_personal, personal_data_in
from socialaudit.config import School
from socialaudit.models import CheckResult, Finding, Post, Severity, Status

NAME = "named_children"
POLICY = "4.1"
SETTINGS = {
    "threshold": Setting(None, "Probability from which a word is taken for a child's name (0..1); default: the "
                               "shipped model's cross-validated threshold."),
    "text_only_first_name": Setting("warning", "Severity of a child's first name alone in a post without photos or video: "
                                               "info, warning, breach or critical."),
    "extra_names": Setting([], "Given names to treat as common given names although the tables lack them."),
    "ignore_words": Setting([], "Words never to treat as a child's name at this school (a class named after a saint, say)."),
}


@dataclass(slots=True)
class Found:
    """What one post carries: children's names and personal information."""

    names: list[ChildName] = field(default_factory=list)
    pii: list[PiiHit] = field(default_factory=list)


def post_segments(post: Post) -> list[tuple[str, str]]:
    """The parts of a post a name can hide in: the text and each image's alt text."""
    segments = [("text", post.text)]
    segments.extend(("alt text", m.alt) for m in post.media if m.alt)
    return segments


def context_for(school: School, ctx: CheckContext) -> tuple[NameContext, OwnDetails]:
    """The exclusions of a school (staff, settings) and its own contact details."""
    trust = ctx.config.trust
    names = NameContext.build(staff=school.staff, ignore=ctx.setting("ignore_words"), extra=ctx.setting("extra_names"))
    feeds = [a.url for a in school.accounts if a.platform == "rss" and a.url]
    own = OwnDetails.build(domains=[*trust.domains, *trust.allow_domains], urls=[school.website, *feeds],
                           postcodes=[school.postcode] if school.postcode else [], phones=school.phones,
                           addresses=[school.address] if school.address else [])
    return names, own


def analyse(segments: Sequence[tuple[str, str]], names: NameContext | None = None, own: OwnDetails | None = None,
            threshold: float | None = None) -> Found:
    """Children's names and personal information in a post's (where, text) segments."""
    model = load_model()
    if names is not None and names.extra:
        model = model.with_extra(names.extra)
    read = read_post(segments, model, names)
    found = Found(names=child_names(read, score_post(read, model), model.threshold if threshold is None else threshold,
                                    model))
    named: bool | None = bool(found.names) or None  # worked out only for a text that may hold personal data
    for text in dict.fromkeys(text for _, text in segments):
        if text and might_be_personal(text):
            if named is None:
                named = names_a_person(read, model)
            found.pii.extend(personal_data_in(text, own, named=named))
    return found


def severity_of(post: Post, found: Found, text_only: Severity) -> Severity | None:
    """The finding's severity for what was found in ``post`` (None: nothing to report)."""
    if found.pii or any(n.full for n in found.names):
        return Severity.CRITICAL
    if found.names:
        return Severity.CRITICAL if post.has_visual_media else text_only
    return None


def finding_for(school: School, post: Post, found: Found, severity: Severity, incident: str = "") -> Finding:
    """One finding per post; only masked names ("A*** (Year 4)"), the cue and kinds of information appear."""
    visual = post.has_visual_media
    names = [n.masked() for n in found.names]
    places = sorted({n.where for n in found.names})
    kinds = sorted({p.described for p in found.pii})
    parts = []
    if names:
        who = ", ".join(names)
        full = any(n.full for n in found.names)
        media = "a post with a photo or video" if visual else "a text-only post"
        what = "A child's full name" if full else "A child named"
        parts.append(f"{what} ({who}) in {media}")
    if kinds:
        parts.append(f"{'personal' if parts else 'Personal'} information in the post ({', '.join(kinds)})")
    cued = [n for n in found.names if n.cue]
    why = cued[0].cue if len(cued) == 1 else "; ".join(f"{n.masked()}: {n.cue}" for n in cued)
    if why:
        parts[0] += f" (why: {why})"
    if names:
        message = "; ".join(parts) + "; policy 4.1 forbids identifying children."
    else:
        message = "; ".join(parts) + "; policy 4.1 forbids publishing personally identifying information."
    if not found.pii and not any(n.full for n in found.names) and not visual:
        message = (f"A child's first name ({', '.join(names)}) in a text-only post{f' (why: {why})' if why else ''}; "
                   f"allowed by 4.1, but check it is not shared with a photo elsewhere.")
    evidence_bits = []
    if names:  # the evidence is part of the finding's key: only what the post says, never how the model judged it
        evidence_bits.append(f"{', '.join(names)} in the {' and '.join(places)}")
    evidence_bits.extend(f"{p.kind}: {p.shown}" for p in found.pii)
    if visual:
        evidence_bits.append("photo/video attached")
    if severity is Severity.CRITICAL and names:
        action = "Edit or delete the post now (remove the name or the photo); the safeguarding lead has been copied."
    elif severity is Severity.CRITICAL:
        action = "Edit or delete the post now (remove the personal details); the safeguarding lead has been copied."
    else:
        action = "Check parental consent and that no photo of this child is posted with the name."
    status = Status.FAIL if severity.rank >= Severity.BREACH.rank else Status.WARN
    return Finding(check=NAME, severity=severity, status=status,
                   school=school.id, policy=POLICY, message=message, account=post.account, post_id=post.id,
                   post_url=post.url, evidence="; ".join(evidence_bits), action=action, incident=incident)


_WORD = re.compile(r"[^\W_]+")
_LINK = re.compile(r"https?://\S+|www\.\S+")


def _words_of(post: Post) -> frozenset[str]:
    return frozenset(w.lower() for _, text in post_segments(post) for w in _WORD.findall(_LINK.sub(" ", text)))


def _copies(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two copies of one post: nearly every word of the shorter is in the longer (one platform adds a
    title, a link or hashtags)."""
    shorter = min(len(a), len(b))
    return shorter >= 5 and len(a & b) >= 0.8 * shorter


CROSS_POST_WINDOW = timedelta(hours=48)  # the copies of a cross-post go out within hours of each other
CROSS_POST_RECENT = 20  # incidents of the same children looked at per post: bounded work on a busy week


def incidents(flagged: Sequence[tuple[Post, Found]]) -> list[str]:
    """For each flagged post (in time order), its incident: the same one for the copies of a post
    cross-posted to several accounts (the same children or details found, both with or both without
    a photo, nearly the same words, within 48 hours), empty for a post seen once. An incident holds
    at most one post per account (platform and account): the same words posted twice on one page are
    two posts to edit. Only the latest incidents with the same children are compared, so a week of
    many posts stays linear."""
    recent: dict[tuple[object, ...], list[int]] = {}  # signature -> its latest groups
    groups: list[list[int]] = []
    group_of: list[int] = []
    words: dict[int, frozenset[str]] = {}  # read only when a post has an incident to be compared with

    def words_of(k: int) -> frozenset[str]:
        got = words.get(k)
        if got is None:
            got = words[k] = _words_of(flagged[k][0])
        return got

    for j, (post, found) in enumerate(flagged):
        signature = (tuple(sorted((n.given.lower(), n.surname.lower()) for n in found.names)),
                     tuple(sorted(p.kind for p in found.pii)), post.has_visual_media)
        where = (post.platform, post.account)
        candidates = recent.setdefault(signature, [])
        chosen = -1
        for g in reversed(candidates):
            members = groups[g]
            first = flagged[members[0]][0]
            if post.created_at and first.created_at and post.created_at - first.created_at > CROSS_POST_WINDOW:
                continue
            if where not in {(flagged[i][0].platform, flagged[i][0].account) for i in members} and any(
                    _copies(words_of(i), words_of(j)) for i in members):
                chosen = g
                break
        if chosen < 0:
            chosen = len(groups)
            groups.append([])
            candidates.append(chosen)
            del candidates[:-CROSS_POST_RECENT]
        groups[chosen].append(j)
        group_of.append(chosen)
    out = []
    for g in group_of:
        first = flagged[groups[g][0]][0]
        out.append(hashlib.sha256(f"{first.platform}\n{first.account}\n{first.id}".encode()).hexdigest()[:16]
                   if len(groups[g]) > 1 else "")
    return out


@check(NAME, policy=POLICY, settings=SETTINGS)
def named_children(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
    """Flag posts that name children or carry personal information."""
    text_only = Severity(str(ctx.setting("text_only_first_name")))
    raw = ctx.setting("threshold")
    threshold = None if raw is None else float(raw)
    names, own = context_for(school, ctx)
    mine = in_week(posts, ctx)
    seen: dict[tuple[tuple[str, str], ...], Found] = {}  # a post cross-posted to several platforms is read once
    flagged: list[tuple[Post, Found, Severity]] = []
    for post in sorted(mine, key=lambda p: (p.created_at.isoformat() if p.created_at else "", p.platform, p.account, p.id)):
        segments = tuple(post_segments(post))
        found = seen.get(segments)
        if found is None:
            found = seen[segments] = analyse(segments, names, own, threshold)
        severity = severity_of(post, found, text_only)
        if severity is not None:
            flagged.append((post, found, severity))
    findings = [finding_for(school, post, found, severity, incident) for (post, found, severity), incident
                in zip(flagged, incidents([(post, found) for post, found, _ in flagged]), strict=True)]
    findings.sort(key=lambda f: (-f.severity.rank, f.post_url, f.post_id))
    critical = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    metrics = {"posts": len(mine), "findings": len(findings), "critical": critical,
               "with_media": sum(1 for p in mine if p.has_visual_media)}
    failed = ctx.failed_accounts

    def result(status: Status, summary: str) -> CheckResult:
        return CheckResult(check=NAME, policy=POLICY, school=school.id, status=status, summary=summary,
                           findings=tuple(findings), metrics=metrics)

    unread = ", ".join(f"{c.platform} {c.account}" for c in failed)
    missing = f" ({unread} could not be collected)" if failed else ""
    serious = sum(1 for f in findings if f.status is Status.FAIL)
    if serious:
        return result(Status.FAIL, f"{serious} post{'s' if serious != 1 else ''} may identify a child or carry "
                                   f"personal information{missing}.")
    if not school.accounts:
        return result(Status.NOT_EVALUATED, "No official accounts are configured for this school, so no post could be checked.")
    if failed:
        return result(Status.NOT_EVALUATED, f"{plural(len(mine), 'post')} checked, but {unread} could not be collected, "
                                            f"so posts may be missing.")
    if findings:
        return result(Status.WARN, f"{len(findings)} text-only post{'s' if len(findings) != 1 else ''} give a child's first name.")
    return result(Status.PASS, f"No child named and no personal information in {plural(len(mine), 'post')}.")
