"""The check registry: ``@check`` declares a policy check, its clause and its thresholds.

A check is a pure function ``(school, posts, ctx) -> CheckResult``: no HTTP (the calendars and the
link resolutions it judges were read by the collect step and kept), no ``datetime.now()`` (``ctx.week`` comes from the run), so a rerun gives the
same result. Thresholds are declared once, as :class:`Setting` with a default and a help line; the
README and reports read the help from here, and config overrides them per trust and per school.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import checks
from checks._native import source_of
from socialaudit import plugin_modules
from socialaudit.config import School, TrustConfig
from socialaudit.errors import ConfigError
from socialaudit.models import AccountCollection, CheckResult, Finding, Post, Severity, Status
from socialaudit.weeks import IsoWeek

T = TypeVar("T")

__all__ = ["CheckContext", "CheckSpec", "Finding", "in_week", "Setting", "Severity", "Status", "check", "registry", "run_checks"]


@dataclass(frozen=True, slots=True)
class Setting:
    default: Any
    help: str


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything a check may know besides the posts: the week, the config and what was collected."""

    week: IsoWeek
    config: TrustConfig
    settings: dict[str, Any]
    collections: tuple[AccountCollection, ...] = ()
    services: Mapping[str, object] = field(default_factory=dict)  # the inputs the check declared (needs=...), by name

    @property
    def tz(self) -> str:
        return self.config.trust.timezone

    @property
    def failed_accounts(self) -> list[AccountCollection]:
        return [c for c in self.collections if not c.status.collected]

    def setting(self, name: str) -> Any:
        return self.settings[name]

    def need(self, name: str, kind: type[T]) -> T | None:
        """The declared input ``name`` as a ``kind``; None when it was not given (or is not one)."""
        value = self.services.get(name)
        return value if isinstance(value, kind) else None


def plural(count: int, noun: str, many: str = "") -> str:
    """'1 link', '2 links', '0 links'; ``many`` for an irregular plural ('1 child', '3 children')."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def in_week(posts: Sequence[Post], ctx: CheckContext) -> list[Post]:
    """The posts created inside the run's ISO week (in the trust's timezone).

    The pipeline hands a check a wider window (event promotion looks back over lead times); every
    check that judges "this week's" posts filters with this, so a post is judged in one week only.
    """
    start, end = ctx.week.bounds(ctx.tz)
    return [p for p in posts if start <= p.created_at < end]


CheckFn = Callable[[School, Sequence[Post], CheckContext], CheckResult]


# The headings of a check's module docstring; the reports show "How to fix" to heads.
DOC_HEADINGS = ("what it checks", "why it matters", "example", "how to fix")


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    policy: str
    fn: CheckFn
    settings: dict[str, Setting]
    doc: str
    needs_collection: bool = True
    needs: tuple[str, ...] = ()  # inputs besides the posts (socialaudit.inputs provides each one)

    @property
    def title(self) -> str:
        return self.doc.strip().splitlines()[0].strip() if self.doc.strip() else self.name

    @property
    def short_title(self) -> str:
        """The title without its "(policy 4.1 ...)" and its closing full stop: a column heading."""
        return self.title.split(" (", 1)[0].rstrip(".") or self.name

    def doc_section(self, heading: str) -> str:
        """A section of the module docstring ("What it checks", "How to fix", ...).

        A section runs until a blank line or the next heading (one of ``DOC_HEADINGS``, followed
        by a colon), so a multi-line "Example" never swallows the "How to fix" after it.
        """
        out: list[str] = []
        capture = False
        for line in self.doc.splitlines():
            stripped = line.strip()
            label, colon, rest = stripped.partition(":")
            is_heading = bool(colon) and label.lower() in DOC_HEADINGS
            if capture and (not stripped or is_heading):
                break
            if is_heading and label.lower() == heading.lower():
                capture = True
                out.append(rest.strip())
            elif capture:
                out.append(stripped)
        return " ".join(part for part in out if part)

    def resolve_settings(self, config: TrustConfig, school: School | None) -> dict[str, Any]:
        values = {name: setting.default for name, setting in self.settings.items()}
        if "min_posts_per_week" in values:
            values["min_posts_per_week"] = config.trust.min_posts_per_week
        overrides = config.check_settings(self.name, school)
        unknown = sorted(set(overrides) - set(values))
        if unknown:
            where = f"school {school.id!r}" if school else "trust"
            raise ConfigError(f"{config.source}: {where}: checks.{self.name}: unknown setting {unknown[0]!r} "
                             f"(known: {', '.join(sorted(values))})")
        values.update(overrides)
        return values


_REGISTRY: dict[str, CheckSpec] = {}


def check(name: str, *, policy: str, settings: dict[str, Setting] | None = None,
          needs_collection: bool = True, needs: Sequence[str] = ()) -> Callable[[CheckFn], CheckFn]:
    """Register a policy check. Raises on a duplicate name so two modules cannot shadow each other.

    ``needs`` names the inputs the check reads from ``ctx.services`` besides the posts ("events",
    "links", "comment_history", ...); each is provided before the checks run, only when a selected
    check declared it, and a check sees only the inputs it declared.
    """

    def register(fn: CheckFn) -> CheckFn:
        if name in _REGISTRY and _REGISTRY[name].fn.__module__ != fn.__module__:
            raise ValueError(f"check {name!r} is registered twice ({_REGISTRY[name].fn.__module__} and {fn.__module__})")
        module = inspect.getmodule(fn)
        doc = (module.__doc__ if module else None) or _source_docstring(fn.__module__) or fn.__doc__ or ""
        _REGISTRY[name] = CheckSpec(name=name, policy=policy, fn=fn, settings=dict(settings or {}), doc=doc,
                                    needs_collection=needs_collection, needs=tuple(needs))
        return fn

    return register


def _source_docstring(module: str) -> str:
    """The module docstring as written in its source: a module compiled with mypyc has no ``__doc__``
    (checks/_native.py)."""
    try:
        tree = ast.parse(source_of(module).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ""
    return ast.get_docstring(tree, clean=False) or ""


def context_for(name: str, school: School, *, week: IsoWeek, config: TrustConfig) -> CheckContext:
    """The context ``run_checks`` gives the check ``name`` (imported, so registered) for ``school``, without
    its inputs: for the collect step, which asks a check what it will need (the links it will judge)."""
    spec = _REGISTRY[name]
    return CheckContext(week=week, config=config, settings=spec.resolve_settings(config, school))


def registry() -> dict[str, CheckSpec]:
    """Every check, discovered from the non-underscore modules of the ``checks`` package."""
    _discover()
    return dict(sorted(_REGISTRY.items(), key=lambda item: (item[1].policy, item[0])))


def _discover() -> None:
    """Import every non-underscore module of the ``checks`` package (importing one registers its check; an
    import already done costs a dictionary lookup). The package's folders are listed again only when one
    changed (:func:`socialaudit.plugin_modules`)."""
    for name in plugin_modules(checks.__path__):
        importlib.import_module(f"checks.{name}")


def validate_settings(config: TrustConfig) -> None:
    """Every check named in the config's ``checks`` blocks exists and every setting given is one it has:
    a misspelt name is a ConfigError naming the file, the school and the field when the config is
    loaded, not a setting silently ignored (or a run failing at its check step)."""
    specs = registry()
    for school in (None, *config.schools):
        block = config.trust.checks if school is None else school.checks
        where = "trust" if school is None else f"school {school.id!r}"
        for name in block:
            if name not in specs:
                raise ConfigError(f"{config.source}: {where}: checks.{name}: unknown check {name!r} "
                                  f"(known: {', '.join(sorted(specs))})")
            specs[name].resolve_settings(config, school)


def select(names: Sequence[str] | None) -> list[CheckSpec]:
    specs = registry()
    if not names:
        return list(specs.values())
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r} (known: {', '.join(specs)})")
    return [specs[n] for n in names]


def needs_of(specs: Sequence[CheckSpec]) -> tuple[str, ...]:
    """Every input the given checks declared, in order, once."""
    return tuple(dict.fromkeys(need for spec in specs for need in spec.needs))


def run_checks(school: School, posts: Sequence[Post], *, week: IsoWeek, config: TrustConfig,
               collections: Sequence[AccountCollection] = (), names: Sequence[str] | None = None,
               services: Mapping[str, object] | None = None) -> list[CheckResult]:
    """Run the selected checks for one school. A check that raises yields an ``error`` result."""
    results: list[CheckResult] = []
    for spec in select(names):
        given = services or {}
        ctx = CheckContext(week=week, config=config, settings=spec.resolve_settings(config, school),
                           collections=tuple(collections),
                           services={need: given[need] for need in spec.needs if need in given})
        try:
            result = spec.fn(school, posts, ctx)
        except (ValueError, KeyError, TypeError, AttributeError, LookupError, ArithmeticError) as exc:
            # A bug or bad data in one check must not hide the others; the error is shown, not passed.
            result = CheckResult(check=spec.name, policy=spec.policy, school=school.id, status=Status.ERROR,
                                 summary=f"The check could not run: {type(exc).__name__}: {exc}")
        results.append(result)
    return results
