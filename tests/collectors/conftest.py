"""Fixtures for collector tests: a simulator whose accounts show every fault, fast HTTP sessions with
recorded (instant) sleeps, and an archive that records what it was given."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import SIM_NOW

FAULTS = ["unknown", "500", "flaky", "429", "429-once", "slow", "truncated", "malformed", "401", "bomb",
          "gzip-bomb", "bad-item", "quota"]
# platform prefix -> how the fault accounts are named there
HANDLES = {"masto": lambda f: f"masto_{f.replace('-', '_')}", "bsky": lambda f: f"bsky-{f}.bsky.social",
           "yt": lambda f: f"@yt{f.replace('-', '')}"}
SINCE = SIM_NOW - timedelta(weeks=6)


def fault_profiles() -> dict[str, Any]:
    from socialaudit.simulator.dataset import Profile

    def profile(school: str, **kwargs: Any) -> Profile:
        return Profile(school=school, school_name=f"{school} (fictional)", domain=f"{school}.example.sch.uk", **kwargs)

    profiles = {
        "good-masto": profile("good", per_week=4, reposts=True, handle="goodschool"),
        "good-bsky": profile("good", per_week=4, reposts=True, handle="good.example.sch.uk"),
        "good-yt": profile("good", per_week=2, handle="@goodschool"),
        "hidden-bsky": profile("hidden", per_week=2, handle="hidden.bsky.social", extra={"no_unauthenticated": "1"}),
    }
    for prefix, name in HANDLES.items():
        for fault in FAULTS:
            profiles[f"{prefix}-{fault}"] = profile("faulty", per_week=3, fault=fault, handle=name(fault))
    return profiles


@pytest.fixture(scope="session")
def sim() -> Iterator[Any]:
    """A simulator with a well-behaved account and one account per fault on each social platform."""
    from socialaudit.simulator import Simulator

    with Simulator(port=0, now=SIM_NOW, profiles=fault_profiles()) as simulator:
        yield simulator


@dataclass
class Sleeps:
    """An injectable sleep that records instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def session(sleeps: Sleeps, sim: Any) -> Any:
    """A session with short timeouts and instant, recorded back-off, allowed to open the fault simulator."""
    from collectors._http import HttpPolicy, make_session

    return make_session(policy=HttpPolicy(connect_timeout=2.0, read_timeout=1.0, retries=2), sleep=sleeps,
                        allow=(sim.url,))


@dataclass
class RecordingArchive:
    """Keeps every raw body it is given, in order (the real one writes gzip files)."""

    saved: list[dict[str, Any]] = field(default_factory=list)

    def save_raw(self, *, platform: str, account: str, page: int, url: str, body: bytes, content_type: str) -> None:
        self.saved.append({"platform": platform, "account": account, "page": page, "url": url, "body": body,
                           "content_type": content_type})


@pytest.fixture
def archive() -> RecordingArchive:
    return RecordingArchive()
