"""Robustness: every feed in feedparser's own test suite (``shared/data/feedparser-tests``: about 2,000
well- and ill-formed RSS, Atom and RDF documents, odd encodings and entities) goes through
``collectors.rss.parse_feed`` without an unhandled exception: each gives posts, or a
``CollectorError`` (not a feed, or refused as unsafe). Skipped when the folder is absent.

Timing is measured by ``bench/run.py`` (section ``feeds``), not asserted here.
"""

from __future__ import annotations

from collections import Counter

import pytest

from collectors._base import CollectionResult, CollectorError
from collectors.rss import parse_feed
from tests.conftest import SHARED_DATA

CORPUS = SHARED_DATA / "feedparser-tests" / "tests"


def test_every_corpus_feed_parses_or_is_refused_cleanly():
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent")
    files = sorted(CORPUS.rglob("*.xml"))
    assert len(files) > 2000
    outcomes: Counter[str] = Counter()
    for path in files:
        result = CollectionResult()
        try:
            posts, _, _ = parse_feed(path.read_bytes(), feed_url="http://example.org/feed/", account="corpus",
                                     school="corpus", result=result)
        except CollectorError as exc:
            outcomes[type(exc).__name__] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test: name the file that crashed
            pytest.fail(f"{path.relative_to(CORPUS)}: {type(exc).__name__}: {exc}")
        outcomes["parsed"] += 1
        for post in posts:
            assert post.created_at.tzinfo is not None and post.id
    # most documents are feeds; the entity tests with DTDs are refused as unsafe, never expanded
    assert outcomes["parsed"] > len(files) // 2
    assert outcomes["UnsafeFeed"] >= 1
