"""Fault injection shared by every simulated platform, chosen per account in the data set."""

from __future__ import annotations

from socialaudit.simulator.server import SimResponse

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""


def generic_fault(fault: str, *, stateful_key: str, counters: dict[str, int]) -> SimResponse | None:
    """The HTTP-level faults every platform can show; None when the account behaves.

    "flaky" answers 500 on the first request for a key and succeeds after, to exercise retries.
    """
    if fault == "500":
        return SimResponse(status=500, body=b"Internal Server Error", content_type="text/plain")
    if fault == "flaky":
        counters[stateful_key] = counters.get(stateful_key, 0) + 1
        if counters[stateful_key] == 1:
            return SimResponse(status=503, body=b"Service Unavailable", content_type="text/plain")
        return None
    if fault == "slow":
        return SimResponse(status=200, body=b"", delay=30.0)
    if fault == "truncated":
        return SimResponse(status=200, body=b'{"data": [' + b'{"id": "1"},' * 200 + b'{"id": "2"}]}', truncate=True)
    if fault == "malformed":
        return SimResponse(status=200, body=b"<html><body>Just a moment... checking your browser</body></html>",
                           content_type="text/html")
    return None
