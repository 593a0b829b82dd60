"""Welsh posts read as English ones (infrastructure for named_children).

The name model learns from posts in English: a Welsh post's words ("Mae", "Cân", "gyda'i", "Llongyfarchiadau")
are unknown to its context features, and capitalised Welsh words look like rare names. So a post that is
plainly Welsh (:func:`is_welsh`) has its Welsh words read as the English word a post would use in their place
(:func:`english_words`, from ``checks/data/welsh_gloss.tsv``): "Mae Kian yn Nosbarth Helyg" is read as
"is Kian in class Helyg", "Da iawn Gwenllian" as "well done Gwenllian". The words' text and offsets stay as
written; only what the model reads changes.

Welsh changes a word's first letters after some words ("i Fethan", "gan Ddylan", "ym Mlwyddyn 4": mutations).
A Welsh word not in the table is looked up by its radical forms (:func:`radicals`); a capitalised word right
after a word that mutates the next one, unknown as a given name, is read as its radical when that is a given
name ("i Fethan" -> Bethan), so it keeps the given-name figures of the name it is.

A capitalised given name ("Seren", star; "Beth", what; "Cael", get) keeps its own reading, unless it starts a
sentence and its English word is one of the commonest ("Mae Kian yn...": "is").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

WELSH_SHARE = 5  # a post is Welsh when at least one word in this many is Welsh (see is_welsh)
ENGLISH_ZIPF = 30  # Zipf x10: a word this common in English ("a", "am", "drama") does not count as Welsh
# Words after which Welsh mutates the next word's first letters (prepositions, "and", possessives, "in").
TRIGGERS = frozenset("i gan a o am ar at dros drwy trwy wrth heb hyd dan â ag efo ei dy fy yn ym yng".split())
FUNCTION_ZIPF = 60  # Zipf x10: an English word this common ("is", "the", "here") is read even for a given name
_SUFFIXES = ("'n", "'r", "'i", "'u", "'w", "'m", "'th", "’n", "’r", "’i", "’u", "’w", "’m", "’th")
# Mutated first letters and the radical ones they come from: nasal, aspirate, soft (longest first).
_REVERSE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ngh", ("c",)), ("mh", ("p",)), ("nh", ("t",)), ("ng", ("g",)), ("ch", ("c",)), ("ph", ("p",)), ("th", ("t",)),
    ("dd", ("d",)), ("f", ("b", "m")), ("b", ("p",)), ("d", ("t",)), ("g", ("c",)), ("l", ("ll",)), ("r", ("rh",)),
    ("m", ("b",)), ("n", ("d",)))
_VOWELS = frozenset("aeiouwyâêîôûŵŷ")
_MUTATED = frozenset("bcdfglmnprt") | _VOWELS  # first letters a mutated word can have


@functools.cache
def tables() -> tuple[dict[str, str], dict[tuple[str, str], tuple[str, str]]]:
    """The Welsh words and two-word phrases, with their English readings (parsed once per process)."""
    words: dict[str, str] = {}
    phrases: dict[tuple[str, str], tuple[str, str]] = {}
    text = resources.files("checks").joinpath("data", "welsh_gloss.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        welsh, _, english = line.partition("\t")
        w, e = welsh.split(), english.split()
        if len(w) == 1 and len(e) == 1:
            words[w[0]] = e[0]
        elif len(w) == 2 and len(e) == 2:
            phrases[(w[0], w[1])] = (e[0], e[1])
    return words, phrases


def _base(low: str) -> str:
    """``low`` without a clitic ("heddiw'n" -> "heddiw", "mae'r" -> "mae")."""
    for suffix in _SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix):
            return low[: -len(suffix)]
    return low


def radicals(low: str) -> tuple[str, ...]:
    """The forms ``low`` may have before a mutation changed its first letters ("fethan" -> bethan, methan)."""
    if not low or low.startswith(("ll", "rh")):
        return ()
    out: list[str] = []
    for mutated, radical in _REVERSE:
        if low.startswith(mutated) and len(low) > len(mutated):
            out.extend(r + low[len(mutated):] for r in radical)
            break
    if low[0] in _VOWELS:
        out.append("g" + low)  # soft mutation drops a g: "waith" <- gwaith, "ardd" <- gardd
    return tuple(out)


def welsh_words(zipf: dict[str, int]) -> frozenset[str]:
    """The table's Welsh words that are no common English words ("mae", "gyda", "tîm"; not "a", "drama")."""
    return frozenset(w for w in tables()[0] if zipf.get(w, 0) < ENGLISH_ZIPF)


def is_welsh(lows: Sequence[str], capitalised: Sequence[bool], given: dict[str, int], zipf: dict[str, int]) -> bool:
    """Whether a post's words (lowercase, and whether each was written with a capital) are plainly Welsh: one word in
    ``WELSH_SHARE`` or more, and two at least, a Welsh word of the table or a mutated form of one that is no common
    English word. A capitalised given name does not count ("Seren, Tegan and Cael" are children, not Welsh). Callers
    ask only when one of ``welsh_words`` is in the post (a set lookup: most posts stop there)."""
    words = tables()[0]
    hits = 0
    for low, cap in zip(lows, capitalised, strict=True):
        if zipf.get(low, 0) < ENGLISH_ZIPF and not (cap and given.get(low, 0) >= 2) and _gloss(low, words):
            hits += 1
    return hits >= 2 and hits * WELSH_SHARE >= len(lows)


def _gloss(low: str, words: dict[str, str]) -> str:
    got = words.get(low)
    if got is None and low.startswith("cyn-"):
        return "former"  # "cyn-ddisgybl", "cyn-gogydd": a former pupil, a former cook
    if got is None:
        base = _base(low)
        got = words.get(base)
        if got is None:
            for radical in radicals(base):
                got = words.get(radical)
                if got is not None:
                    break
    return got or ""


# Welsh verb endings no English word has: the past tense's "-odd" ("gwisgodd", "dywedodd"), the impersonal past's "-wyd"
# ("cynhaliwyd", "enillwyd") and the plural imperative's "-wch" ("cofiwch", "dewch", "ymunwch"); read only in lowercase
# or at a sentence's start (a capitalised word inside a sentence may be a surname or a place: "Heledd Cynwyd")
_VERB_ENDINGS = {"odd": "did", "wyd": "was", "wch": "do"}


def english_words(lows: Sequence[str], capitalised: Sequence[bool], initial: Sequence[bool], given: dict[str, int],
                  zipf: dict[str, int]) -> dict[int, str]:
    """For a Welsh post's words (lowercase, whether each was written with a capital, whether each starts a sentence):
    the index of each word to read otherwise, and its reading (an English word, or a mutated given name's radical).

    A capitalised given name keeps its own reading ("Da iawn Beth", "Seren", "Cael"), unless it starts a sentence and
    is, as written, one of the table's commonest words ("Mae Kian yn...": "is"; "Beth yw...": "what"); never through
    an undone mutation or a clitic ("Fae" is no "mae")."""
    words, phrases = tables()
    out: dict[int, str] = {}
    n = len(lows)
    k = 0
    while k < n:
        low = lows[k]
        if k + 1 < n:
            pair = phrases.get((low, lows[k + 1]))
            if pair is None and low[:1] in _MUTATED:
                for radical in radicals(low):  # "am Ddewi Sant"
                    pair = phrases.get((radical, lows[k + 1]))
                    if pair is not None:
                        break
            if pair is not None:
                out[k], out[k + 1] = pair
                k += 2
                continue
        if capitalised[k] and given.get(low, 0) >= 2:  # a given name
            english = words.get(low, "")
            if english and initial[k] and zipf.get(english, 0) >= FUNCTION_ZIPF:
                out[k] = english
        else:
            english = _gloss(low, words)
            if not english and (initial[k] or not capitalised[k]) and len(low) > 5 and low.isalpha():
                english = _VERB_ENDINGS.get(low[-3:], "")  # a verb the table lacks: "Gwisgodd Llŷr" is "did Llŷr"
            if english:
                out[k] = english
            elif capitalised[k] and k and lows[k - 1] in TRIGGERS and not given.get(low) and zipf.get(low, 0) < 30:
                best, best_g = "", 0
                for radical in radicals(low):
                    g = given.get(radical, 0)
                    if g > best_g:
                        best, best_g = radical, g
                if best_g >= 2:
                    out[k] = best
        k += 1
    return out
