"""The hardened XML parser the feed collectors share (rss, youtube): it refuses entity declarations.

A helper, so that one platform module never imports another.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from collectors._base import UnsafeResponse


class UnsafeFeed(UnsafeResponse):
    """The feed declares entities or a DTD we refuse to expand (XML bomb, external entity); recorded, not retried."""


def parse_xml(body: bytes) -> Element | None:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeFeed(f"feed refused: it declares entities ({type(exc).__name__}); possible XML bomb") from None
    except (ParseError, ValueError, UnicodeError, LookupError):  # LookupError: an encoding Python does not know
        return None
