"""Checks declare what they need; one provider per need fills only what was declared (issue 10).

The example below is a whole new check that needs a new input: the check, its provider and this
test live in this one file, and nothing in the pipeline names either of them. In the project, the
check would be ``plugins/checks/<name>.py`` and its provider a ``@provider`` in
``plugins/socialaudit/inputs.py``; no other file changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from checks import _base
from checks._base import CheckContext, check, registry
from socialaudit import inputs
from socialaudit.config import DEFAULT_CONFIG, School, load_config
from socialaudit.inputs import InputRequest, provider
from socialaudit.models import CheckResult, Post, Status
from socialaudit.pipeline import run_school_checks
from socialaudit.weeks import IsoWeek

CONFIG = load_config(DEFAULT_CONFIG)
WEEK = IsoWeek.parse("2026-W47")
CALLS: list[str] = []


@pytest.fixture
def example_check() -> Iterator[None]:
    """Register the example check and its provider for one test, then remove both."""
    registry()  # discover every real check first: the snapshot restored below must hold them all
    checks_before, providers_before = dict(_base._REGISTRY), dict(inputs._PROVIDERS)

    # --- the provider of the new input: reads the config (it could read the store, or a file) ---
    @provider("term_dates")
    def term_dates(request: InputRequest) -> tuple[str, ...]:
        CALLS.append(request.school.id)
        return tuple(h.name for h in request.config.trust.holidays if h.start <= WEEK.sunday and h.end >= WEEK.monday)

    # --- the check: declares the input, and reads it from ctx.services ---
    @check("example_term_dates", policy="9.9", needs=("term_dates",))
    def example_term_dates(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
        holidays = ctx.services["term_dates"]
        return CheckResult(check="example_term_dates", policy="9.9", school=school.id, status=Status.PASS,
                           summary=f"{len(holidays)} holiday(s) in {ctx.week}", metrics={"services": sorted(ctx.services)})

    CALLS.clear()
    yield
    _base._REGISTRY.clear()
    _base._REGISTRY.update(checks_before)
    inputs._PROVIDERS.clear()
    inputs._PROVIDERS.update(providers_before)


def test_a_new_check_gets_the_input_it_declared(example_check: None) -> None:
    school = CONFIG.schools[0]
    [result] = run_school_checks(CONFIG, school, [], WEEK, names=["example_term_dates"])
    assert result.status is Status.PASS and result.summary == "0 holiday(s) in 2026-W47"
    assert result.metrics["services"] == ["term_dates"]  # only what it declared
    assert CALLS == [school.id]


def test_an_input_no_selected_check_needs_is_never_provided(example_check: None) -> None:
    run_school_checks(CONFIG, CONFIG.schools[0], [], WEEK, names=["post_frequency"])
    assert CALLS == []


def test_every_declared_need_has_one_provider() -> None:
    """Open-ended on purpose: a new check with a new input adds a provider, not a line here."""
    specs = registry()
    assert {need for spec in specs.values() for need in spec.needs} <= set(inputs.providers())
    assert specs["comments"].needs == ("comment_history",) and specs["event_promotion"].needs == ("events",)
    assert specs["external_links"].needs == ("links",)


def test_a_second_provider_for_one_input_is_refused() -> None:
    with pytest.raises(ValueError, match="two providers"):
        provider("links")(lambda request: None)
    assert inputs.providers()["links"] is inputs.links
