"""named_children's faster paths (issue 14, item 4) decide exactly as the plain ones they replace.

Each shortcut is checked against the straightforward code it stands for, on generated text that
includes the awkward characters (non-ASCII capitals and digits, superscripts, fractions, Roman
numerals, tabs and other spaces): the decisions must not change, only the time they take.
"""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from checks import _personal as pe
from checks._childnames import (
    _ADDRESSES,
    _FAMILIES,
    _LINKS,
    _WORD,
    _WORD_ASCII,
    CONTEXT_REACH,
    _blank,
    _tokens_of,
    load_model,
    mention_keys,
    read_post,
    sentence_families,
    tokenize,
)
from checks._names import _starts_sentence

AWKWARD = list("AZBNMaz019 ,.;:-/()#'’!?\t\n\u00a0\u2003²½ⅫⒶÉéÀ٣۴") + ["Road", "St", " Oak", "born", "d.o.b", "NM1 4AB", "12"]
TEXT = st.lists(st.sampled_from(AWKWARD) | st.characters(), max_size=40).map("".join)
WORDS = st.lists(st.sampled_from(["http://x.example/Ava", "ava@x.example", "@Leo", "AVA", "#welldoneava", "Ava", "Year", "well", "done", "to", "Mrs", "Oak", "class", "and", "The", "in", "4",
                                  ".", "!", ",", "Leo's", "#WellDoneMia", "Lily-Mae", "the", "dog", "Noah", "story"]),
                 max_size=30).map(" ".join)


def places_reference(text: str) -> bool:
    """_hints's place rule as it was written before the pre-check: every run of digits looked at."""
    places = False
    size = len(text)
    for m in re.finditer(r"\d+", text):
        start, end = m.span()
        if places:
            continue
        if start and text[start - 1].isupper():
            places = True
            continue
        k = end
        if end - start <= 4:
            if k < size and text[k].isalpha():
                k += 1
            if k < size and text[k] == ",":
                k += 1
            if k < size and text[k].isspace():
                while k < size and text[k].isspace():
                    k += 1
                places = k < size and "A" <= text[k] <= "Z"
    return places


@settings(max_examples=1500, deadline=None)
@given(TEXT)
@example("12½ Oak")
@example("Ⅻ4 and 12 Oak Road")
@example("12\u2003Oak")
@example("call 07700 900123")
@example("(07700) 900-123")
@example("0770 - 090 0123")
@example("1.2.3.4.5.6.7.8 9")
@example("12\u2003 3456789")
def test_personal_hints_and_matches_as_before(text: str) -> None:
    digits = len(re.findall(r"\d", text))
    assert pe._hints(text) == (digits >= 9 and pe._PHONE_HINT.search(text) is not None, places_reference(text))
    runs = [m.start() for m in re.finditer(r"\d+", text)]
    for pattern, starts in ((pe._ADDRESS, runs), (pe._POSTCODE, sorted({s for r in runs for s in (r - 2, r - 1) if s >= 0}))):
        assert [m.span() for m in pe._found_at(pattern, text, starts)] == [m.span() for m in pattern.finditer(text)]
    lower = text.lower()
    assert pe._may_say_birth(lower) or pe._BIRTH.search(lower) is None


PHONE_TEXT = st.lists(st.sampled_from(list("0123456789") * 3 + list(" ().-+,/a\t\u2003\u00a0٣²")), max_size=30).map("".join)


@settings(max_examples=1500, deadline=None)
@given(PHONE_TEXT)
def test_phone_hint_from_the_digit_runs_as_the_pattern(text: str) -> None:
    """_hints's phone answer, read from the runs of digits, is _PHONE_HINT's, on text dense in digits and separators."""
    assert pe._hints(text)[0] == (pe._PHONE_HINT.search(text) is not None)


ASCII_TEXT = st.lists(st.sampled_from(["#", "##", "'", "-", "a", "Z", "ab", "9", "07", " ", ".", "#9", "a'b", "x-y", "@"]),
                      max_size=25).map("".join)


@settings(max_examples=1500, deadline=None)
@given(ASCII_TEXT)
@example("##ab #9a a'-b x--y 'a -a #-a")
def test_the_ascii_word_pattern_finds_what_the_general_one_does(text: str) -> None:
    assert [m.span() for m in _WORD_ASCII.finditer(text)] == [m.span() for m in _WORD.finditer(text)]


def sentence_families_reference(tokens, fams):
    sentence_of = [0] * len(tokens)
    counts: list[dict[str, int]] = [{}]
    for k, t in enumerate(tokens):
        if t.initial and k:
            counts.append({})
        sentence_of[k] = len(counts) - 1
        for fam in fams[k] or ():
            here = counts[-1]
            here[fam] = here.get(fam, 0) + 1
    return sentence_of, counts


@settings(max_examples=600, deadline=None)
@given(WORDS | TEXT)
def test_tokens_sentences_and_context_as_before(text: str) -> None:
    model = load_model()
    tokens = tokenize(text, model.lower_candidates, {})
    blanked = _LINKS.sub(_blank, text) if "http" in text or "www." in text else text
    blanked = _ADDRESSES.sub(_blank, blanked) if "@" in blanked else blanked
    assert tokens == [t for m in _WORD.finditer(blanked) for t in _tokens_of(blanked, m.group(), m.start(), model.lower_candidates, {})]
    for t in tokens:
        if t.start >= 0 and not t.hashtag and t.shape != "lower":
            assert t.initial == _starts_sentence(blanked, t.start)
    fams = [_FAMILIES.get(t.low) for t in tokens]
    assert sentence_families(tokens, fams) == sentence_families_reference(tokens, fams)
    sentence_of, sentences = sentence_families(tokens, fams)
    lows = [t.low for t in tokens]
    for i in range(len(tokens)):
        keys = mention_keys(tokens, fams, sentence_of, sentences, i, i, "text", (), ("w", "w"), lows=lows)
        [near] = [k for k in keys if k[0] == "near"]
        assert near == ("near", tuple(tokens[i - d].low for d in range(1, min(CONTEXT_REACH, i) + 1)),
                        tuple(tokens[i + d].low for d in range(1, min(CONTEXT_REACH, len(tokens) - 1 - i) + 1)))
        assert keys == mention_keys(tokens, fams, sentence_of, sentences, i, i, "text", (), ("w", "w"))
    read_post([("text", text)], model)  # no exception from any text
