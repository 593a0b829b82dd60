"""Pseudonymise a recorded Bluesky answer: the private people in it become fictional ones.

The replay suite's recordings are real answers recorded by other projects' test suites; the Bluesky
ones hold private people's names, handles, DIDs, avatars and posts. The project keeps fictional data
only in its fixtures, so each recording is rewritten here, deterministically (the same input gives the
same output, and the mapping depends only on the value replaced), keeping the JSON structure and the
field types:

- each DID (``did:plc:...``) becomes a fictional one derived from it (a hash, same form), everywhere it
  appears (``at://`` URIs, ``viewer`` URIs, image URLs, mention facets), so the recording's own links
  between posts, threads and authors still hold; each image's content id (``bafkrei...``, in blob refs
  and image URLs) likewise, so no image URL leads to a real person's picture;
- each handle becomes ``personNN.fict.example`` (NN by first appearance in ``handle`` fields), in text,
  URLs and ``handle`` fields alike, and a handle's first label, when it is a long, distinctive word,
  wherever it stands (a GitHub URL named after the handle);
- each ``displayName`` becomes a fictional name; each ``avatar``/``banner`` a fictional URL; a profile's
  ``description`` a fictional line;
- a post's ``text`` that is personal (anything but the short, impersonal texts in ``KEEP``) becomes a
  fictional text; the text of a link or mention facet in it is kept, after the name changes, at the
  end, so every facet still frames its own link or mention;
- every facet's ``byteStart``/``byteEnd`` is recomputed on the new text (UTF-8 bytes, as AT Protocol
  counts them).

Rerun on a new recording: ``python -m tests.replay.pseudonymise FILE...`` rewrites each file in place
(run it once, on the recording as fetched: a second run would derive new DIDs and image ids from the
fictional ones, and number the handles again).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

DID = re.compile(r"did:plc:[a-z2-7]{24}")
BLOB = re.compile(r"bafkrei[a-z2-7]{52}")  # an image's content id (raw CIDv1): in blob refs and image URLs
MENTION = re.compile(r"(?:(?<![\w.])@|/profile/)((?:[a-z0-9-]+\.)+[a-z]{2,})(?![\w-])", re.IGNORECASE)
FICT_HANDLE = re.compile(r"person\d\d\.fict\.example")
NAMES = ("Ada Fernhill", "Bram Oakley", "Cleo Marsh", "Dev Tanaka-Reed", "Elin Brookes", "Femi Hartwell",
         "Gus Lindqvist", "Hana Corrow", "Ivo Petrakis", "Jun Aldermoor", "Kit Rowan", "Lior Fenwick",
         "Mira Castell", "Nico Ashdown", "Orla Quenby", "Pim Vasquez", "Quinn Harrowgate", "Rosa Delamere",
         "Sami Okonjo", "Tove Brightwater", "Uma Kestrel", "Vik Morland", "Wren Ellacott", "Yara Penhale")
# Texts kept as they are: short, impersonal, and needed by the tests (a Japanese text whose link facets
# are byte offsets; an emoji-only reply; an image reply's empty text). Names in them still change.
KEEP = frozenset({
    "", "test", "🔥", "A treasure trove! 🐩", "Thx! 😁", "So cute", "It begins", "Good morning ブルスコ🤙",
    "ブロックしたらフォローが外れるように修正されるみたいだから、知り合いのアカウントでテストする人は気をつけてね",
})
FICTIONAL_TEXTS = (
    "Trying out the new app this week.", "Lovely morning for a walk by the river.", "Thanks, that helps a lot!",
    "Our choir sang at the town fair today.", "Anyone know a good recipe for lentil soup?",
    "Great talk at the library last night.", "The garden is finally in bloom.", "See you all at the meetup!",
    "Reading a fine book about lighthouses.", "Rainy day, so board games it is.",
)


def fictional_did(did: str) -> str:
    """The same form as a did:plc (24 base32 letters), derived from the real one by a hash."""
    digest = hashlib.sha256(b"socialaudit-fictional:" + did.encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def fictional_blob(cid: str) -> str:
    """An image's content id replaced by one of the same form derived from it: the recorded image URLs no
    longer lead to the real people's pictures."""
    digest = hashlib.sha256(b"socialaudit-fictional:" + cid.encode()).digest()
    return "bafkrei" + base64.b32encode(digest).decode().lower()[:52]


class Pseudonymiser:
    """The mapping real -> fictional for one set of recordings (handles numbered by first appearance)."""

    def __init__(self) -> None:
        self.handles: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.texts: dict[str, str] = {}

    def learn(self, node: Any) -> None:
        """Number every handle (in the order the walk meets them) before anything is rewritten."""
        if isinstance(node, dict):
            handle = node.get("handle")
            if isinstance(handle, str) and not FICT_HANDLE.fullmatch(handle):
                self.handles.setdefault(handle, f"person{len(self.handles) + 1:02d}.fict.example")
            for key, value in node.items():
                if key == "text" and isinstance(value, str):  # handles named in a text: @rose.bsky.team, /profile/why.bsky.team
                    for named in MENTION.findall(value):
                        if not FICT_HANDLE.fullmatch(named):
                            self.handles.setdefault(named, f"person{len(self.handles) + 1:02d}.fict.example")
                self.learn(value)
        elif isinstance(node, list):
            for value in node:
                self.learn(value)

    def names_in(self, text: str) -> str:
        """``text`` with every DID, handle and distinctive handle label replaced."""
        text = DID.sub(lambda m: fictional_did(m.group(0)), text)
        text = BLOB.sub(lambda m: fictional_blob(m.group(0)), text)
        for real in sorted(self.handles, key=len, reverse=True):  # longest first: a.b.c before b.c
            text = re.sub(rf"(?<![\w.-]){re.escape(real)}(?![\w-])", self.handles[real], text)
        for real in sorted(self.handles, key=len, reverse=True):
            label = real.split(".", 1)[0]
            if len(label) >= 7:  # a distinctive word (a GitHub user named like the handle), not "jay" or "why"
                text = re.sub(rf"(?<![\w-]){re.escape(label)}(?![\w-])", self.handles[real].split(".", 1)[0], text)
        return text

    def display_name(self, real: str) -> str:
        return self.names.setdefault(real, NAMES[len(self.names) % len(NAMES)] + ("" if len(self.names) < len(NAMES)
                                                                                 else f" {len(self.names)}"))

    def fictional_text(self, real: str) -> str:
        return self.texts.setdefault(real, FICTIONAL_TEXTS[len(self.texts) % len(FICTIONAL_TEXTS)])

    def rewrite(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.rewrite(value) for value in node]
        if not isinstance(node, dict):
            return self.names_in(node) if isinstance(node, str) else node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "displayName" and isinstance(value, str) and value:
                out[key] = self.display_name(value)
            elif key in ("avatar", "banner") and isinstance(value, str):
                did = fictional_did(str(node.get("did") or value))
                out[key] = f"https://cdn.fict.example/{key}/{did.rsplit(':', 1)[1]}.jpeg"
            elif key == "description" and isinstance(value, str) and "handle" in node:
                out[key] = "A fictional profile for tests."
            elif key == "text" and isinstance(value, str) and isinstance(node.get("facets", []), list):
                out[key], facets = self.post_text(value, node.get("facets") or [])
                if "facets" in node:
                    out["facets"] = facets
            elif key == "facets" and "text" in node:
                continue  # written with the text
            else:
                out[key] = self.rewrite(value)
        if "facets" in node and "text" in node and "facets" not in out:
            out["facets"] = self.rewrite(node["facets"])
        return {key: out[key] for key in node if key in out}  # the recorded key order

    def post_text(self, text: str, facets: list[Any]) -> tuple[str, list[Any]]:
        """The new text and its facets with offsets recomputed on it."""
        raw = text.encode("utf-8")
        spans: list[tuple[int, int]] = []
        for facet in facets:
            index = facet.get("index") if isinstance(facet, dict) else None
            start, end = (index.get("byteStart"), index.get("byteEnd")) if isinstance(index, dict) else (None, None)
            valid = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw)
            spans.append((start, end) if valid else (-1, -1))  # type: ignore[arg-type]
        pieces: list[str] = []  # text outside facets, then each facet's own text, in byte order
        order = sorted((s for s in set(spans) if s[0] >= 0))
        own: dict[tuple[int, int], str] = {}
        position = 0
        for start, end in order:
            if start < position:
                continue  # overlapping: left as recorded
            pieces.append(raw[position:start].decode("utf-8", "replace"))
            own[(start, end)] = self.names_in(raw[start:end].decode("utf-8", "replace"))
            pieces.append("\0")
            position = end
        pieces.append(raw[position:].decode("utf-8", "replace"))
        plain = "".join(p for p in pieces if p != "\0")
        keep = self.names_in(plain.strip()) in KEEP or plain.strip() in KEEP or not plain.strip()
        new_spans: dict[tuple[int, int], tuple[int, int]] = {}
        if keep:
            built = b""
            chunks = iter(own)
            for piece in pieces:
                if piece == "\0":
                    span = next(chunks)
                    new_spans[span] = (len(built), len(built) + len(own[span].encode("utf-8")))
                    built += own[span].encode("utf-8")
                else:
                    built += self.names_in(piece).encode("utf-8")
            new_text = built.decode("utf-8")
        else:
            built = self.fictional_text(plain).encode("utf-8")
            for span in own:
                built += b" "
                new_spans[span] = (len(built), len(built) + len(own[span].encode("utf-8")))
                built += own[span].encode("utf-8")
            new_text = built.decode("utf-8")
        new_facets: list[Any] = []
        for facet, span in zip(facets, spans, strict=True):
            rewritten = self.rewrite(facet)
            if span in new_spans and isinstance(rewritten, dict) and isinstance(rewritten.get("index"), dict):
                rewritten["index"] = {key: (new_spans[span][0] if key == "byteStart" else new_spans[span][1]
                                            if key == "byteEnd" else value)
                                      for key, value in rewritten["index"].items()}
            new_facets.append(rewritten)
        return new_text, new_facets


def pseudonymise_files(paths: list[Path]) -> None:
    """Rewrite each JSON file in place, one mapping for them all (a person is the same person in each)."""
    people = Pseudonymiser()
    loaded = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    for data in loaded:
        people.learn(data)
    for path, data in zip(paths, loaded, strict=True):
        path.write_text(json.dumps(people.rewrite(data), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    pseudonymise_files([Path(arg) for arg in sys.argv[1:]])
