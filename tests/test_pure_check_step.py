"""The check step opens no connection (issue 13): the collect step reads each school's calendars and
resolves the links of its posts, keeps them in the run's raw folder, and the check step judges only
what was kept.

A real run over the demo trust (collected from the simulator, SQLite store): its check step runs a
first time with ``socket.connect`` refusing every connection, then again with the network as usual,
and gives the same results, which are the demo's real ones (not everything "not evaluated").
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from socialaudit.models import Severity, Status
from socialaudit.weeks import IsoWeek
from tests.conftest import write_demo_config

WEEK = IsoWeek.parse("2026-W47")
SCHOOLS = ("st-aidans", "holy-cross", "st-hildas", "our-lady", "st-josephs", "sacred-heart")


def _env(simulator: Any, base: Path) -> Any:
    from socialaudit.pipeline import Environment

    config = write_demo_config(simulator.url, base / "trust.yaml")
    return Environment(config=config, output=base / "output", db_url=f"sqlite:///{base / 'output' / 'socialaudit.db'}")


def _refuse_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    opened: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        opened.append(address)
        raise OSError("the check step opens no connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return opened


def test_the_check_step_opens_no_socket_and_judges_the_same(simulator: Any, tmp_path: Path) -> None:
    from socialaudit import pipeline

    env = _env(simulator, tmp_path)
    run_id = "run-pure"
    pipeline.plan(WEEK, run_id, env)
    for school in SCHOOLS:
        pipeline.collect_school(school, WEEK, run_id, env)
    store = env.store()

    with pytest.MonkeyPatch.context() as patch:
        opened = _refuse_connections(patch)
        asked = len(simulator.request_log)
        for school in SCHOOLS:
            pipeline.check_school(school, WEEK, run_id, env)
        assert opened == [] and simulator.request_log[asked:] == []
    refused = {school: store.results_for(WEEK, school) for school in SCHOOLS}

    for school in SCHOOLS:  # the same step with the network as usual
        pipeline.check_school(school, WEEK, run_id, env)
    assert {school: store.results_for(WEEK, school) for school in SCHOOLS} == refused

    # ... and they are the demo's real results, each input as collect read it
    def result(school: str, check: str) -> Any:
        return next(r for r in refused[school] if r.check == check)

    links = result("sacred-heart", "external_links")
    assert links.status is Status.FAIL and links.metrics["resolved"] == 2 and links.metrics["unresolved"] == 0
    assert any("mathsgames-casino.demo.example" in f.message and "gambling" in f.message for f in links.findings)
    holy = result("holy-cross", "event_promotion")
    assert holy.status is Status.FAIL and any("Parish Mass with Year 5" in f.message for f in holy.findings)
    assert result("st-aidans", "event_promotion").status is Status.PASS
    # a calendar that could not be read is its school's "not evaluated", named as it was read
    joseph = result("st-josephs", "event_promotion")
    assert joseph.status is Status.NOT_EVALUATED
    assert joseph.summary == (f"Events not evaluated: school 'st-josephs': calendar {simulator.url}/calendar/"
                              "st-josephs-2025.ics: HTTP 404.")


def test_a_resolver_that_fails_in_collect_keeps_todays_finding(simulator: Any, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolver failing as a whole (an OSError) in the collect step keeps nothing: the check names
    the links it has no answer for, as it did when it asked the resolver itself."""
    from socialaudit import pipeline
    from socialaudit.links import LinkResolver

    def broken(self: Any, urls: Any, *, stop: Any = None) -> Any:
        raise OSError("no route to the resolver's network")

    env = _env(simulator, tmp_path)
    pipeline.plan(WEEK, "run-broken", env)
    monkeypatch.setattr(LinkResolver, "resolve_many", broken)
    pipeline.collect_school("sacred-heart", WEEK, "run-broken", env)
    monkeypatch.undo()
    raw = env.output / "raw" / str(WEEK) / "run-broken" / "sacred-heart"
    assert not list(raw.glob("links/resolutions/page*"))
    _refuse_connections(monkeypatch)
    pipeline.check_school("sacred-heart", WEEK, "run-broken", env)
    links = next(r for r in env.store().results_for(WEEK, "sacred-heart") if r.check == "external_links")
    [note] = [f for f in links.findings if f.status is Status.NOT_EVALUATED]
    assert note.severity is Severity.INFO
    assert note.message == "2 links could not be opened (the resolver gave no answer), so where they lead is not known."
    assert note.action == "Run the audit with link resolution on, or open these links by hand."
    assert links.metrics["unresolved"] == 2


def test_a_check_step_without_a_collect_step_names_what_was_not_read(simulator: Any, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing kept (the collect step never ran for this run): the check step still opens nothing, and
    the school's event check says its calendar was not read, instead of reading it."""
    from socialaudit import pipeline

    env = _env(simulator, tmp_path)
    pipeline.plan(WEEK, "run-collect", env)
    pipeline.collect_school("holy-cross", WEEK, "run-collect", env)
    pipeline.plan(WEEK, "run-check-only", env)
    opened = _refuse_connections(monkeypatch)
    pipeline.check_school("holy-cross", WEEK, "run-check-only", env)
    assert opened == []
    events = next(r for r in env.store().results_for(WEEK, "holy-cross") if r.check == "event_promotion")
    assert events.status is Status.NOT_EVALUATED
    assert "it was not read by the run's collect step" in events.summary
