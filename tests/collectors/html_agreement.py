"""The check the one-pass HTML readers share (collectors.rss and collectors.mastodon): on random fragments of the
pieces a feed or a status is made of, the reader gives what BeautifulSoup gives, and its fast path is exercised."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence


def random_fragments_agree(pieces: Sequence[str], fast_path: Callable[[str], object], agree: Callable[[str], None],
                           *, rounds: int = 3000, at_least_fast: int = 300, seed: int = 12) -> None:
    """``agree(html)`` holds for ``rounds`` random runs of ``pieces``, and more than ``at_least_fast`` of them went
    through the fast path (``fast_path(html)`` is not None), so the comparison means something."""
    rng = random.Random(seed)
    fast = 0
    for _ in range(rounds):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        fast += fast_path(html) is not None
        agree(html)
    assert fast > at_least_fast
