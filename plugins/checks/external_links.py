"""External links (policy 4.1).

What it checks: every link in the week's posts is safe and appropriate: not to a blocklisted site (UT1 categories such as adult, gambling, malware, phishing), not to a lookalike of the trust's own domains, not to an internal or non-web address, not broken (4xx, 5xx, a domain that does not exist), and over https. Shortened links are expanded and redirects followed (by the injected resolver) so the real destination is judged. Links to the trust's own sites and its allowlist (gov.uk, the diocese) pass without being opened.
Why it matters: families follow the school's links trusting that the school checked them; a lapsed domain bought by a casino, a lookalike of the school's site or a plain-http page puts children and parents at risk, and a broken link undermines the post.
Example: "Maths games: http://short.demo.example/s/maths" expands to mathsgames-casino.demo.example -> fail: blocklisted (gambling), and a warning: not https.
How to fix: edit or delete the post; link to the https address of the page itself, and check where a shortened link leads before posting it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from checks._base import CheckContext, Setting, check, context_for, in_week, plural
from checks._blocklist import Blocklist, load_blocklists
from socialaudit.config import PROJECT_ROOT, School, TrustConfig
from socialaudit.models import CheckResult, Finding, LinkState, Post, Severity, Status
from socialaudit.weeks import IsoWeek


class Resolution(Protocol):
    """What the check reads of one URL's resolution (``socialaudit.links.LinkResolution`` is one): the redirect
    chain, where it ended, and the verdict with its one-line reason. Hashable: findings are memoised by it."""

    @property
    def state(self) -> LinkState: ...
    @property
    def final_url(self) -> str: ...
    @property
    def chain(self) -> tuple[str, ...]: ...
    @property
    def reason(self) -> str: ...
    def __hash__(self) -> int: ...


@runtime_checkable
class Resolver(Protocol):
    """The ``links`` input: each URL's resolution (a ``socialaudit.links.LinkResolution``: state, chain,
    final_url, reason). In the pipeline it is ``socialaudit.links.KeptLinks``, answering from what the collect
    step resolved (for :func:`planned`'s links and ``stop``) and opening nothing; ``scan`` gives the live resolver."""

    def resolve_many(self, urls: Sequence[str], *, stop: Callable[[str], str] | None = None) -> Mapping[str, Resolution]: ...

NAME = "external_links"
POLICY = "4.1"
NOT_WEB = ("mailto", "tel", "sms")  # contact links, not web pages: not judged
DEFAULT_CATEGORIES = ["adult", "agressif", "cryptojacking", "dangerous_material", "dating", "ddos", "drogue",
                      "gambling", "hacking", "lingerie", "malware", "mixed_adult", "phishing", "sect", "warez"]


@dataclass(frozen=True, slots=True)
class _Problem:
    severity: Severity
    kind: str  # blocklisted | lookalike | unsafe | broken | not_https | unverified
    message: str
    action: str
    evidence: str


@check(
    NAME,
    policy=POLICY,
    needs=("links",),
    settings={
        "blocklists": Setting([], "Blocklist files or folders: the UT1 tree (<category>/domains and urls), its "
                                  "flattened files (<category>_domains.txt), or one domain a line; relative paths "
                                  "are read from the config file's folder, else the project folder."),
        "blocklist_categories": Setting(DEFAULT_CATEGORIES, "Blocklist categories that are flagged ('*' for every "
                                                            "black category); social networks are not among them."),
        "require_https": Setting(True, "Flag links that use http:// rather than https://."),
        "lookalike_max_edits": Setting(1, "Edits (a letter changed, added, dropped or swapped) within which a domain "
                                          "counts as a lookalike of the trust's domains; one more for names of 12 or "
                                          "more letters."),
    },
)
def external_links(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
    plan = links_to_open(posts, ctx)
    where, problems, to_resolve, allowlisted = plan.where, plan.problems, plan.to_resolve, plan.allowlisted
    blocklist, protected = plan.blocklist, plan.allow
    max_edits = int(ctx.setting("lookalike_max_edits"))
    require_https = bool(ctx.setting("require_https"))

    given = ctx.services.get("links")
    resolver = given if isinstance(given, Resolver) else None
    by_state: dict[str, int] = {}
    expanded = 0
    unresolved: list[str] = []
    if resolver is None:
        unresolved = list(to_resolve)
    elif to_resolve:
        try:
            results = resolver.resolve_many(to_resolve, stop=plan.stop)
        except OSError:
            results = {}
        for url in to_resolve:
            res = results.get(url)
            if res is None:
                unresolved.append(url)
                continue
            state = res.state.value
            by_state[state] = by_state.get(state, 0) + 1
            if len(res.chain) > 1:
                expanded += 1
            problems[url] += _from_resolution(url, res, blocklist, protected, max_edits, require_https)

    findings: list[Finding] = []
    for url, url_problems in problems.items():
        first = where[url][0]
        others = len({(p.platform, p.account, p.id) for p in where[url]}) - 1
        # several problems with one link (a shortened link to a blocklisted site over plain http) are one
        # incident: one action in the reports, counted once; each problem keeps its own finding and key
        incident = hashlib.sha256(url.encode()).hexdigest()[:16] if len(url_problems) > 1 else ""
        for problem in url_problems:
            # the evidence stays the same week to week (it is part of the finding's key, for suppressions)
            message = problem.message
            if others:
                message = message.removesuffix(".") + f"; it is also in {others} other post{'s' if others != 1 else ''}."
            status = {Severity.CRITICAL: Status.FAIL, Severity.BREACH: Status.FAIL,
                      Severity.WARNING: Status.WARN}.get(problem.severity, Status.NOT_EVALUATED)
            findings.append(Finding(check=NAME, severity=problem.severity, status=status, school=school.id,
                                    policy=POLICY, message=message, account=first.account, post_id=first.id,
                                    post_url=first.url, evidence=problem.evidence, action=problem.action,
                                    incident=incident))
    if unresolved:
        hosts = sorted({_norm(urlsplit(u).hostname or "") for u in unresolved})
        why = "link resolution is switched off" if resolver is None else "the resolver gave no answer"
        first = where[unresolved[0]][0]
        findings.append(Finding(
            check=NAME, severity=Severity.INFO, status=Status.NOT_EVALUATED, school=school.id, policy=POLICY,
            message=f"{len(unresolved)} link{'s' if len(unresolved) != 1 else ''} could not be opened ({why}), so "
                    "where they lead is not known.",
            account=first.account, post_id=first.id, post_url=first.url,
            evidence=", ".join(hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else ""),
            action="Run the audit with link resolution on, or open these links by hand."))
    findings.sort(key=lambda f: (-f.severity.rank, f.evidence))

    metrics: dict[str, Any] = {"links": len(where), "allowlisted": allowlisted, "resolved": len(to_resolve) - len(unresolved),
                               "expanded": expanded, "by_state": dict(sorted(by_state.items())),
                               "unresolved": len(unresolved), "blocklist_entries": len(blocklist)}

    def result(status: Status, summary: str) -> CheckResult:
        return CheckResult(check=NAME, policy=POLICY, school=school.id, status=status, summary=summary,
                           findings=tuple(findings), metrics=metrics)

    if not school.accounts:
        return result(Status.NOT_EVALUATED, "No official accounts are configured for this school, so no links were seen.")
    failing = [f for f in findings if f.status is Status.FAIL]
    warnings = [f for f in findings if f.status is Status.WARN]
    unknown = len(unresolved) + sum(1 for found in problems.values() if any(p.kind == "unverified" for p in found))
    if failing:
        return result(Status.FAIL, f"{len(failing)} unsafe or inappropriate link problem{'s' if len(failing) != 1 else ''} "
                                   f"in {len(where)} link{'s' if len(where) != 1 else ''} this week.")
    failed = ctx.failed_accounts
    if failed:
        names = ", ".join(f"{c.platform} {c.account}" for c in failed)
        return result(Status.NOT_EVALUATED, f"{plural(len(where), 'link')} checked, but {names} could not be collected, "
                                            "so their links are unknown.")
    if unknown:
        return result(Status.NOT_EVALUATED, f"{unknown} of {len(where)} link{'s' if len(where) != 1 else ''} "
                                            "could not be verified.")
    if warnings:
        return result(Status.WARN, f"{len(warnings)} link problem{'s' if len(warnings) != 1 else ''} "
                                   f"(broken or not https) in {plural(len(where), 'link')} this week.")
    if not where:
        return result(Status.PASS, "No links in this week's posts.")
    if len(where) == 1:
        return result(Status.PASS, f"The one link this week is safe{' (on the allowlist)' if allowlisted else ''}.")
    return result(Status.PASS, f"All {len(where)} links this week are safe ({allowlisted} on the allowlist).")


@dataclass(slots=True)
class LinkPlan:
    """What the check makes of a week's links before any is opened: where each link was posted, the
    problems seen without opening it, and the links to open (``to_resolve``), each followed only as far
    as ``stop`` allows (an allowlisted or blocklisted hop is named, never fetched)."""

    where: dict[str, list[Post]]
    problems: dict[str, list[_Problem]]
    to_resolve: list[str]
    allowlisted: int
    blocklist: Blocklist
    allow: tuple[str, ...]

    def stop(self, url: str) -> str:
        """Why ``url`` (a posted link or a hop it redirects to) is not opened, or "" to open it."""
        parts = urlsplit(url)
        host = _norm(parts.hostname or "")
        if _allowlisted(host, self.allow):
            return "allowlisted"
        hit = self.blocklist.match(host, parts.path)
        return f"blocklisted: {hit[0]}" if hit else ""


def links_to_open(posts: Sequence[Post], ctx: CheckContext) -> LinkPlan:
    """The week's links and which of them to open (with ``stop``): the check's own rules, shared with the
    collect step, which resolves exactly these links before the checks run (the check opens nothing)."""
    allow = tuple(sorted({_norm(d) for d in (*ctx.config.trust.domains, *ctx.config.trust.allow_domains) if d}))
    blocklist = _blocklist(ctx)
    max_edits = int(ctx.setting("lookalike_max_edits"))
    require_https = bool(ctx.setting("require_https"))

    where: dict[str, list[Post]] = {}
    for post in sorted(in_week(posts, ctx), key=lambda p: (p.created_at, p.platform, p.id)):
        for link in post.links:
            url = link.strip()
            if url and url.split(":", 1)[0].lower() not in NOT_WEB:
                where.setdefault(url, []).append(post)

    problems: dict[str, list[_Problem]] = {}
    to_resolve: list[str] = []
    allowlisted = 0
    for url in where:
        verdict, found = _posted(url, blocklist, allow, max_edits, require_https)
        if verdict == "allowlisted":
            allowlisted += 1
            continue
        if verdict == "resolve":
            to_resolve.append(url)  # a blocklisted or lookalike site is never opened
        problems[url] = list(found)
    return LinkPlan(where=where, problems=problems, to_resolve=to_resolve, allowlisted=allowlisted,
                    blocklist=blocklist, allow=allow)


def planned(school: School, posts: Sequence[Post], *, week: IsoWeek, config: TrustConfig) -> LinkPlan:
    """:func:`links_to_open` with the school's settings, as the check will see them (the collect step's call)."""
    return links_to_open(posts, context_for(NAME, school, week=week, config=config))


# --- rules ---------------------------------------------------------------------------------------

def _posted(url: str, blocklist: Blocklist, allow: tuple[str, ...], max_edits: int,
            require_https: bool) -> tuple[str, tuple[_Problem, ...]]:
    """("allowlisted" | "resolve" | "never", problems) for a posted URL; memoised with the blocklist."""
    key = ("posted", url, allow, max_edits, require_https)
    known = blocklist.memo.get(key)
    if known is not None:
        return known  # type: ignore[no-any-return]
    try:
        parts = urlsplit(url)
        host = _norm(parts.hostname or "")
    except ValueError:
        answer: tuple[str, tuple[_Problem, ...]] = ("never", (_Problem(
            Severity.WARNING, "broken", "A link is malformed, so it cannot be opened.", "Correct or remove the link.",
            _show(url)),))
        return blocklist.remember(key, answer)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return blocklist.remember(key, ("never", (_Problem(
            Severity.BREACH, "unsafe", f"A link uses the {scheme or 'missing'} scheme; only web (https) links are safe to post.",
            "Remove the link, or replace it with the https address of the page.", _show(url)),)))
    if host and _allowlisted(host, allow):
        return blocklist.remember(key, ("allowlisted", ()))
    found = _static(url, host, parts.path, blocklist, allow, max_edits, posted=True)
    if require_https and scheme == "http":
        found.append(_Problem(Severity.WARNING, "not_https",
                              f"A link to {host} uses http:// rather than https://, so it can be intercepted or altered.",
                              "Link to the https:// address of the page instead.", _show(url)))
    never = any(p.kind in ("blocklisted", "lookalike") for p in found)
    return blocklist.remember(key, ("never" if never else "resolve", tuple(found)))


def _static(url: str, host: str, path: str, blocklist: Blocklist, protected: tuple[str, ...], max_edits: int,
            *, posted: bool) -> list[_Problem]:
    """Blocklist and lookalike problems of one URL (the posted one, or a hop it redirects through)."""
    out: list[_Problem] = []
    verb = "A link goes to" if posted else "A link redirects to"
    hit = blocklist.match(host, path)
    if hit is not None:
        category, entry = hit
        out.append(_Problem(Severity.CRITICAL, "blocklisted",
                            f"{verb} {host}, which is on the blocklist ({category.replace('_', ' ')}).",
                            "Delete the link now; if the site was once legitimate, its domain has changed hands.",
                            f"{_show(url)} (listed: {entry})"))
    imitated = lookalike(host, protected, max_edits)
    if imitated:
        out.append(_Problem(Severity.BREACH, "lookalike",
                            f"{verb} {host}, which imitates the trust's domain {imitated}.",
                            f"Delete the link and report the site; link only to {imitated} itself.", _show(url)))
    return out


def _from_resolution(url: str, res: Resolution, blocklist: Blocklist, protected: tuple[str, ...], max_edits: int,
                     require_https: bool) -> list[_Problem]:
    """Problems found by following the link (memoised with the blocklist, per resolution)."""
    key = ("resolved", res, protected, max_edits, require_https)
    known = blocklist.memo.get(key)
    if known is None:
        known = blocklist.remember(key, tuple(_judge_resolution(url, res, blocklist, protected, max_edits, require_https)))
    return list(known)


def _judge_resolution(url: str, res: Resolution, blocklist: Blocklist, protected: tuple[str, ...], max_edits: int,
                      require_https: bool) -> list[_Problem]:
    out: list[_Problem] = []
    trail = " -> ".join(_host_of(u) for u in res.chain) if len(res.chain) > 1 else _show(url)
    for hop in res.chain[1:]:
        parts = urlsplit(hop)
        for problem in _static(hop, _norm(parts.hostname or ""), parts.path, blocklist, protected, max_edits,
                               posted=False):
            out.append(replace(problem, evidence=trail))
    final = urlsplit(res.final_url)
    if require_https and urlsplit(url).scheme.lower() == "https" and final.scheme.lower() == "http":
        out.append(_Problem(Severity.WARNING, "not_https",
                            f"A link redirects to {_norm(final.hostname or '')} over plain http://.",
                            "Link to a page that stays on https://.", trail))
    host = _host_of(res.final_url)
    if res.state is LinkState.UNSAFE:
        out.append(_Problem(Severity.BREACH, "unsafe",
                            f"A link points to an internal or unsafe address ({res.reason}).",
                            "Remove the link; the audit never opens internal addresses.", trail))
    elif res.state is LinkState.BROKEN:
        out.append(_Problem(Severity.WARNING, "broken", f"A link to {host} is broken: {res.reason}.",
                            "Fix the link or remove it from the post.", trail))
    elif res.state in (LinkState.UNVERIFIED, LinkState.NOT_EVALUATED):
        out.append(_Problem(Severity.INFO, "unverified", f"A link to {host} could not be verified: {res.reason}.",
                            "Open the link by hand to check where it leads.", trail))
    return out


def _allowlisted(host: str, allow: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in allow)


def _norm(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _host_of(url: str) -> str:
    try:
        return _norm(urlsplit(url).hostname or "") or _show(url)
    except ValueError:
        return _show(url)


def _show(url: str) -> str:
    """Host and the start of the path: enough to find the link, no query string (tokens travel there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[:40]
    host = _norm(parts.hostname or "")
    if not host:
        return (parts.scheme + ":" if parts.scheme else "") + "..."
    path = parts.path if len(parts.path) <= 40 else parts.path[:39] + "…"
    return f"{parts.scheme}://{host}{path}"


# --- lookalikes ----------------------------------------------------------------------------------

_CONFUSABLE = str.maketrans({
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "|": "l", "!": "i",
    # Cyrillic and Greek letters that render like Latin ones
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ɡ": "g", "ο": "o", "α": "a", "ν": "v",
    "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "ε": "e", "ı": "i",
})


def _unicode_host(host: str) -> str:
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels)


def skeleton(host: str) -> str:
    """The host as it looks: punycode decoded, accents dropped, homoglyphs and digit swaps mapped."""
    text = unicodedata.normalize("NFKD", _unicode_host(_norm(host)))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().translate(_CONFUSABLE)
    return text.replace("rn", "m").replace("vv", "w")


def _compact(text: str) -> str:
    return text.replace(".", "").replace("-", "").replace("_", "")


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one), giving up above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=65536)
def lookalike(host: str, protected: tuple[str, ...], max_edits: int = 1) -> str:
    """The protected domain ``host`` imitates, or "" (the domains themselves and their subdomains never do).

    Caught: homoglyphs and digit swaps (st0swins, Cyrillic "а", punycode), moved dots and hyphens
    (stoswinstrust.example.org), a protected domain used as a subdomain of another site
    (stoswins-trust.example.org.evil.example), another top-level domain (stoswins-trust.example.com)
    and small misspellings (edit distance ``max_edits``, one more for names of 12+ letters; only for
    names of 6+ letters, so short names such as gov.uk are matched exactly).
    """
    host = _norm(host)
    if not host or _allowlisted(host, protected):
        return ""
    shape = skeleton(host)
    labels = host.split(".")
    for domain in protected:
        size = domain.count(".") + 1
        tail = ".".join(labels[-size:])
        shape_tail = skeleton(tail)
        shape_domain = skeleton(domain)
        if shape == shape_domain or shape_tail == shape_domain or shape.endswith("." + shape_domain):
            return domain
        if _compact(shape) == _compact(shape_domain) or _compact(shape_tail) == _compact(shape_domain):
            return domain
        if host.startswith((domain + ".", domain.replace(".", "-") + ".", domain.replace(".", "-") + "-")):
            return domain
        base_domain, base_host = shape_domain.rsplit(".", 1)[0], shape.rsplit(".", 1)[0]
        if "." in shape_domain and len(_compact(base_domain)) >= 6 and \
                (base_host == base_domain or base_host.endswith("." + base_domain)):
            return domain  # the same name under another top-level domain
        target = _compact(shape_domain)
        if len(target) >= 6:
            limit = max_edits + (1 if len(target) >= 12 else 0)
            if _distance(_compact(shape_tail), target, limit) <= limit:
                return domain
    return ""


def _blocklist(ctx: CheckContext) -> Blocklist:
    paths = [_locate(str(p), ctx.config.source) for p in ctx.setting("blocklists") or ()]
    return load_blocklists(paths, list(ctx.setting("blocklist_categories") or ()))


def _locate(path: str, config_source: str) -> Path:
    """A configured blocklist path: absolute, else the config file's folder, else the project folder."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    if config_source:
        near = Path(config_source).resolve().parent / candidate
        if near.exists():
            return near
    return PROJECT_ROOT / candidate
