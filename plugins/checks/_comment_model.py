"""The comments check's trained classifier: normalisation, features and a pure-Python linear model.

What it does: reads a whole comment and says whether it is inappropriate and which kind it is
(:data:`CATEGORIES`), with the words that made it say so. It complements the lexicon
(``checks._lexicon``), which finds swear words; a threat or a leering remark made of clean words
("someone needs to teach that receptionist a lesson") needs a model that reads the comment.

Why a linear model: one logistic regression for "flag" and one per category over binary features
(words but function words, the lexicon's hits, cue words and phrases of ``_lexicon.CUE_WORDS`` and
``CUE_PHRASES``, personal data, a name, a few pairs of cues), trained with scikit-learn by
``scripts/train_comments.py`` and shipped as rounded weights in ``checks/data/comments_model.json``.
Scoring is a dictionary look-up per feature in pure Python (no scikit-learn or numpy at run time),
so it loads in tens of milliseconds and reads over ten thousand comments a second, and every
decision can be explained by the words that weighed most (the cue a finding shows).

Before the model, a high-precision first pass (:func:`lexicon_hits`): swear words and slurs of the
lexicon with no innocent use, configured phrases, and personal data that is doxxing whoever posts it
flag a comment whatever the model says; the model still names the category.

The same :func:`normalise` and :func:`features` serve training and scoring, so they cannot drift.
Normalisation undoes the usual disguises before anything else looks at the text: Unicode
look-alikes (maths-bold, full-width, small capitals, Cyrillic), leetspeak inside words
(``w4nk3rs``, ``n!gg@``), spaced, dotted or hyphenated letters (``f u c k``, ``k.y.s``,
``F-U-C-K-I-N-G``), long repeats (``fuuuuck``) and emoji that stand for words (a knife, a gun,
a bomb, a noose, the middle finger).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

from checks import _lexicon as lx
from checks import _personal
from checks._names import name_tables

__all__ = ["CATEGORIES", "CRITICAL", "LABELS", "Model", "Reading", "Verdict", "analyse", "features", "lexicon_hits", "load",
           "normalise", "personal_data", "read", "words"]

MODEL_PATH = Path(__file__).resolve().parent / "data" / "comments_model.json"

# The kinds of inappropriate comment, in the order of the model's weights.
CATEGORIES: tuple[str, ...] = ("profanity", "threat", "attack", "bullying", "sexual", "slur", "doxxing", "self-harm")
# Critical at once (the DSL is copied); "sexual" only when it is about pupils (see comments.py).
CRITICAL = frozenset({"threat", "doxxing", "self-harm", "sexual"})

# Look-alike letters NFKC leaves alone: small capitals, Cyrillic and Greek letters that read as Latin.
_LOOKALIKES = {
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ғ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w",
    "ʏ": "y", "ᴢ": "z",
    "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
    "о": "o", "р": "p", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "А": "a", "В": "b", "С": "c", "Е": "e", "Н": "h", "І": "i", "К": "k", "М": "m", "О": "o", "Р": "p", "Т": "t",
    "Х": "x", "У": "y",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "’": "'", "‘": "'", "`": "'", "–": "-", "—": "-",
}
# Emoji that stand for a word. Other pictographs become "e_" + a short name of their own.
_EMOJI_WORDS = {
    "🖕": "fuck", "🔪": "e_knife", "🗡": "e_knife", "🔫": "e_gun", "💣": "e_bomb", "🧨": "e_bomb", "🪢": "e_noose",
    "🪓": "e_knife", "👊": "e_fist", "🤜": "e_fist", "💀": "e_skull", "☠": "e_skull", "⚰": "e_coffin", "🪦": "e_coffin",
    "🩸": "e_blood", "🔥": "e_fire",
    "🍆": "e_aubergine", "🍑": "e_peach", "🍒": "e_cherries", "💦": "e_droplets", "👅": "e_tongue", "🥵": "e_hot",
    "😏": "e_smirk", "😈": "e_devil", "😉": "e_wink", "😜": "e_wink", "👀": "e_eyes", "😍": "e_hearteyes",
    "🤤": "e_drool", "💸": "e_money", "📸": "e_camera", "🤮": "e_vomit", "🤢": "e_vomit", "🤡": "e_clown",
    "😂": "e_laugh", "🤣": "e_laugh", "😭": "e_cry", "🐷": "e_pig", "🐖": "e_pig", "🐒": "e_monkey", "🐵": "e_monkey",
    "🦍": "e_monkey", "🍌": "e_banana", "👌": "e_ok", "🧴": "e_bottle", "💊": "e_pill", "👈": "e_pointleft",
    "👉": "e_pointright", "👇": "e_pointdown", "👎": "e_thumbsdown", "🐱": "e_cat", "🥔": "e_potato",
}
_TRANSLATE = str.maketrans({**_LOOKALIKES, **{k: f" {v} " for k, v in _EMOJI_WORDS.items()}})
_VARIATION = re.compile("[\u200b-\u200f\u2060\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
# Leetspeak inside a word: a digit or symbol with a letter before or after it ("sh1t", "w4nk3rs", "n!gg@").
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "!": "i",
                       "|": "l", "€": "e", "£": "l"})
_LEET_WORD = re.compile(r"(?<![\w@$!|€£*#])(?=[\w@$!|€£*#]*[a-z])(?=[\w@$!|€£*#]*[0-9@$!|€£])"
                        r"[a-z0-9@$!|€£*#]*[a-z][a-z0-9@$!|€£*#]*(?![\w@$!|€£*#])", re.I)
_LEET_HINT = re.compile(r"[a-z][0-9@$!|€£]|[0-9@$!|€£][a-z]", re.I)
_MASKS = re.compile(r"(?<=[a-z])[@$%&]*[*#][*#@$%&]*(?=[a-z])|(?<=[a-z])[*#]+|[*#]+(?=[a-z])", re.I)
# Three or more single letters joined by spaces, dots, hyphens or underscores ("f u c k", "k.y.s").
_SPACED = re.compile(r"(?<![a-z0-9'])[a-z](?:[ .\-_]{1,2}[a-z](?![a-z0-9])){2,}\.?", re.I)
_PICTOGRAPHS = "\u2600-\u27bf\U0001f000-\U0001faff"
_EMOJI_MASK = re.compile(f"(?<=[^\\W\\d_])[{_PICTOGRAPHS}]+(?=[*#]|[^\\W\\d_])|(?<=[*#])[{_PICTOGRAPHS}]+")
_REPEATS = re.compile(r"(.)\1{2,}")
_WORDS = re.compile(r"e_[a-z]+|[a-z0-9*]+(?:'[a-z0-9*]+)*")
_DIGITS = re.compile(r"[0-9]")


def _emoji_word(char: str) -> str:
    name = unicodedata.name(char, "")
    return " e_" + ("".join(c for c in name.lower() if c.isalpha()) or "x") + " "


@lru_cache(maxsize=4096)
def _pictograph(char: str) -> str:
    return _emoji_word(char)


def normalise(text: str, lower: bool = True) -> str:
    """Lowercase text with the disguises undone; the input for the lexicon cues and the features.

    ``lower=False`` keeps the case (for the lexicon, whose name rules read capitals: "Mr Dick")."""
    if not text:
        return ""
    if text.isascii():
        cased = _undisguise_ascii(text)
        return _REPEATS.sub(r"\1\1", cased.lower()) if lower else cased
    if not text.isascii():
        text = _VARIATION.sub("", text)
        text = _EMOJI_MASK.sub(_stars, text)  # "f🦆**ing": an emoji inside a word masks letters
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
        if not text.isascii():
            text = "".join(c if ord(c) < 0x2100 or unicodedata.category(c) != "So" else _pictograph(c) for c in text)
    if lower:
        text = text.lower()
    if "*" in text or "#" in text or "@" in text or "%" in text:
        text = _MASKS.sub(_stars, text)
    if _LEET_HINT.search(text):
        # word by word, remembered: a disguise never crosses a space (the pattern's edges are not spaces)
        text = " ".join([c if c.isalpha() else _unleet_chunk(c) for c in text.split(" ")])
    text = _SPACED.sub(_join, text)
    return _REPEATS.sub(r"\1\1", text) if lower else text


def _normalise_both(text: str) -> tuple[str | None, str]:
    """(``normalise(text, lower=False)``, ``normalise(text)``), undoing the disguises once for an ASCII text."""
    if text and text.isascii():
        cased = _undisguise_ascii(text)
        return cased, _REPEATS.sub(r"\1\1", cased.lower())
    return None, normalise(text)  # the case-kept form only if the lexicon needs it


def _undisguise_ascii(text: str) -> str:
    """An ASCII text with masks, leetspeak and spaced letters undone, its case kept. Every step reads
    letters without regard to case and writes only small letters, stars or nothing, so lowercasing the
    result gives what lowercasing first would (a test checks it)."""
    if "*" in text or "#" in text or "@" in text or "%" in text:
        text = _MASKS.sub(_stars, text)
    if _LEET_HINT.search(text):
        text = " ".join([c if c.isalpha() else _unleet_chunk(c) for c in text.split(" ")])
    return _SPACED.sub(_join, text)


def _stars(m: re.Match[str]) -> str:
    """One star per masked character, so the masked word keeps its length ("f@#king" -> "f**king")."""
    return "*" * len(m.group())


@lru_cache(maxsize=1 << 15)
def _unleet_chunk(chunk: str) -> str:
    return _LEET_WORD.sub(_unleet, chunk)


def _unleet(m: re.Match[str]) -> str:
    word = m.group()
    if word[:1] == "@" or _NUMBERISH.search(word):
        return word  # a handle, or a word with a number in it ("Year6", "tok123", "U15", "3pm")
    core = word.rstrip("!|")  # "Amelia!" ends a sentence; "sh!t" and "n!gg@" are disguised
    return core.translate(_LEET) + word[len(core):]


_NUMBERISH = re.compile(r"\d\d|^\d|^[a-z]\d+$|\d(?:st|nd|rd|th|pm|am|s)$", re.I)


def _join(m: re.Match[str]) -> str:
    return "".join(c for c in m.group() if c.isalpha())


def words(norm: str) -> list[str]:
    """The normalised text's words (emoji stand-ins included), in order."""
    return _WORDS.findall(norm)


# --- cue lexicons: features, and the reason shown in a finding ---------------------------------------

def _cue_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for cue, items in lx.CUE_WORDS.items():
        for word in items:
            table.setdefault(word, cue)
    return table


@lru_cache(maxsize=1)
def cue_table() -> dict[str, str]:
    """word -> cue name (``slur``, ``selfharm``, ``pupil``, ...), from ``_lexicon.CUE_WORDS``."""
    return _cue_table()


@lru_cache(maxsize=1)
def cue_phrases() -> dict[str, tuple[tuple[str, str, re.Pattern[str]], ...]]:
    """Cue phrases by their first word: word -> ((phrase, cue, pattern), ...), so a comment only tries the
    phrases whose first word it contains."""
    out: dict[str, list[tuple[str, str, re.Pattern[str]]]] = {}
    for cue, items in lx.CUE_PHRASES.items():
        for phrase in items:
            first = (_WORDS.findall(phrase) or [phrase])[0]
            pattern = re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")
            out.setdefault(first, []).append((phrase, cue, pattern))
    return {k: tuple(v) for k, v in out.items()}


def personal_data(text: str) -> list[str]:
    """Kinds of personal data in a comment (a phone number, a home address, a private email, ...).

    The one call into the named-children check's detector, so that moving it is a one-line change. A comment's
    own word that a number is the school's counts for nothing (``claims=False``): anyone can write it.
    """
    return [hit.kind for hit in _personal.personal_data(text, None, True, claims=False)]


def lexicon_hits(text: str, norm: str, lex: Any = None, toks: Sequence[str] | None = None,
                 cased: str | None = None) -> tuple[list[Any], bool, bool]:
    """The lexicon's hits on the comment (or, when it has none, on its case-kept normalised text:
    "f u c k" and "k.y.s" are seen only once the letters are joined), and whether they are *sure*:
    the high-precision first pass that flags a comment whatever the model says.

    A hit is not sure when its word also has innocent uses (``_lexicon.AMBIGUOUS``: Swedish "slut",
    "faggots and peas", a quoted "kys") or sits inside a longer Capitalised word ("Dikshit",
    "Bitchfield", "Wankhede": names and places). Unsure hits remain features for the model.
    """
    if lex is None:
        lex = lx.lexicon(lx.DEFAULT_THREATS, lx.DEFAULT_ATTACKS, lx.DEFAULT_ALLOW)
    source = text
    hits = lex.find(text)
    if not hits and norm and norm != text.lower():
        if cased is None:
            cased = normalise(text, lower=False)
        if cased != text:
            source = cased
            hits = lex.find(source)
    sure = bool(hits) and any(h.word not in lx.AMBIGUOUS and not _inside_a_name(source, h.start, h.end) for h in hits)
    if toks is None:
        toks = _WORDS.findall(norm)
    if not sure and not (lx.EXTRA_PROFANITY.isdisjoint(toks) and lx.SURE_SLURS.isdisjoint(toks)):
        sure = True
    return hits, sure, source is not text


def _inside_a_name(text: str, start: int, end: int) -> bool:
    a, b = start, end
    while a > 0 and text[a - 1].isalpha():
        a -= 1
    while b < len(text) and text[b].isalpha():
        b += 1
    word = text[a:b]
    if not (word[:1].isupper() and word[1:].islower()) or b - a <= end - start:
        return False
    return text[end:b].lower() not in lx.INSULT_ENDINGS


def analyse(text: str, lex: Any = None, bigrams: bool = False) -> tuple[list[str], bool, list[Any], list[str]]:
    """(features, sure first-pass hit, lexicon hits, personal data kinds) of one comment: what training and
    the check both use. Personal data in a comment (a phone number, a home address) is a sure hit too."""
    cased, norm = _normalise_both(text)
    toks = _WORDS.findall(norm)
    hits, sure, _ = lexicon_hits(text, norm, lex, toks, cased)
    personal = personal_data(text) if _MAYBE_PERSONAL.search(text) else []
    feats = features(text, norm, _kinds(hits, sure, toks), personal, bigrams, toks)
    return feats, sure or _sure_personal(personal, norm), hits, personal


_MAYBE_PERSONAL = re.compile(r"\d|@")
# Personal data that is doxxing in a public comment whoever posts it; a landline only when it is someone
# else's home line (below); an email address (it may be a teacher's work address) or a date of birth (a
# birthday post) only weigh in the model.
_SURE_PERSONAL = frozenset({"mobile number", "home address", "postcode"})
# A landline is sure only when the comment says it is someone else's home line ("her home number is",
# "Mr Lowe's landline"): "call them on 01632 ..." is the office, "ring me on ..." the commenter's own.
_THEIR_LINE = re.compile(r"\b(?:his|her|their|\w+'s)\s+(?:home\s+|own\s+|private\s+|personal\s+)?(?:phone|number|landline|tel)\b"
                         r"|\bhome\s+(?:phone|number|landline)\s+(?:is|was|:)")


def _sure_personal(personal: Sequence[str], norm: str = "") -> bool:
    return not _SURE_PERSONAL.isdisjoint(personal) or (
        "phone number" in personal and _THEIR_LINE.search(norm) is not None)


def _kinds(hits: Sequence[Any], sure: bool, toks: Sequence[str]) -> list[str]:
    """The lexicon features: a hit's kind when the first pass is sure of it, else just "weak"."""
    kinds = {h.kind for h in hits} if sure else ({"weak"} if hits else set())
    if not lx.EXTRA_PROFANITY.isdisjoint(toks):
        kinds.add("profanity")
    if not lx.SURE_SLURS.isdisjoint(toks):
        kinds.add("slur")
    return sorted(kinds)


def features(text: str, norm: str | None = None, lexicon_kinds: Sequence[str] = (),
             personal: Sequence[str] = (), bigrams: bool = False, toks: Sequence[str] | None = None) -> list[str]:
    """The comment's distinct features (present or not, never counted): the same for training and scoring.

    ``w:word`` for each word but function words, ``a b`` bigrams (when the model uses them), ``C:cue``
    for each cue word or phrase of ``_lexicon.CUE_WORDS`` / ``CUE_PHRASES`` (a Capitalised word inside a
    sentence is a name, not a cue), ``C:isa`` for an insult said of someone, ``L:kind`` for the lexicon's
    hits, ``P:kind`` for personal data, ``S:name`` for a name, and ``X:a+b`` for a few pairs of cues. A form
    or year group ("9C", "Year 9s") is a pupil, a hashtag a campaign; both count only in pairs ("#BinHer" and a
    name; bodies or clothes and a pupil, a photo or a leer).
    """
    if norm is None:
        norm = normalise(text)
    if toks is None:
        toks = _WORDS.findall(norm)
    out = ["w:" + t for t in toks if t not in _STOP]
    if bigrams:
        out.extend(a + " " + b for a, b in zip(toks, toks[1:], strict=False))
    table = cue_table()
    present: set[str] = set()
    cued = [t for t in toks if t in table]
    capital = _CAPITAL.search(text) is not None
    if cued:
        # a proper noun is a Capitalised word of the text: only then is it worth looking for
        if capital and any(t[:1].upper() + t[1:] in text for t in cued):
            proper = _proper_nouns(text)
            cued = [t for t in cued if t not in proper]
        present.update(table[t] for t in cued)
    said = lx.SAID_OF_SOMEONE
    if not said.isdisjoint(toks) and any(m.group(1) in said for m in _SAID_OF.finditer(norm)):
        present.add("isa")
    phrases = cue_phrases()
    for first in phrases.keys() & set(toks):
        present.update(cue for phrase, cue, pattern in phrases[first] if phrase in norm and pattern.search(norm))
    if "(((" in text:
        present.add("slur")  # the antisemitic "echo"
    if "#" in text and _HASHTAG.search(text):
        present.add("hashtag")  # a campaign: "#BinHer", "#ByeTyler"
    if _DIGITS.search(text) and _FORM.search(text):
        present.add("pupil")  # a form or year group: "7B", "10H", "Year 9s"
    out.extend("C:" + c for c in sorted(present) if c not in _CONTEXT_ONLY)
    out.extend("L:" + k for k in lexicon_kinds)
    out.extend("P:" + k for k in personal)
    if _DIGITS.search(text):
        out.extend("P:" + k for k, pattern in _WHEREABOUTS if pattern.search(text))
    if capital and _NAMEISH.search(text):  # both of its forms start with a capital and a small letter
        out.append("S:name")
        present.add("name")
    # a few pairs a linear model cannot add up: a group and a sweeping word, a leer and a pupil, ...
    if len(present) > 1:
        out.extend("X:" + a + "+" + b for a, b in _PAIRS if a in present and b in present)
    return list(dict.fromkeys(out))


# Where a person can be found, the doxxing the personal-data detector does not read: a number plate
# ("YD68 PLN", parked on a named road) and a routine with its time ("every Saturday at 9", "about 9ish").
# Features only: a club's "training every Tuesday at 6pm" is not doxxing, and the model weighs them with
# the rest of the comment.
_WHEREABOUTS = (
    ("number-plate", re.compile(r"\b[A-Z]{2}[0-9]{2} ?[A-Z]{3}\b")),
    ("routine", re.compile(r"\b(?:every|each|always|usually)\b[^.!?\n]{0,60}?\b(?:at|from|about|around|by|till|until)\s+"
                           r"[0-9]{1,2}(?:[.:][0-9]{2})?\s*(?:am|pm|ish)?\b|\b[0-9]{1,2}(?:[.:][0-9]{2})?\s*(?:am|pm|ish)?\b"
                           r"[^.!?\n]{0,40}?\b(?:every|each) (?:day|morning|night|evening|week|weekday|"
                           r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)|\b(?:every|each)\s+\w+\s+[0-9]{1,2}(?:[.:][0-9]{2})?\s*(?:am|pm|ish)\b",
                re.I)),
)


# Cues that mean something only next to another (a photo, a pupil, "always", "you"): pairs only.
_CONTEXT_ONLY = frozenset({"photo", "pupil", "general", "looks", "second", "group", "hashtag", "body"})
_HASHTAG = re.compile(r"(?<![\w&])#[A-Za-z]\w+")  # "#BinHer"; not "&#39;" nor "C#"
# A secondary form or year group: "9C", "10H", "Year 9s", "yr10s" (a pupil in a pair, like "girls")
_FORM = re.compile(r"\b(?:[7-9]|1[0-3])[A-Z]\b|\b[Yy](?:ea)?r\s?(?:[1-9]|1[0-3])s\b")


_PAIRS = (("group", "general"), ("group", "hostile"), ("leer", "pupil"), ("leer", "photo"), ("sexual", "pupil"),
          ("violence", "staff"), ("violence", "pupil"), ("violence", "second"), ("violence", "name"),
          ("mock", "name"), ("laugh", "name"), ("laugh", "looks"), ("looks", "name"), ("mock", "pupil"),
          ("laugh", "pupil"), ("insult", "name"), ("insult", "staff"), ("selfharm", "second"), ("selfharm", "name"),
          ("hashtag", "name"), ("hashtag", "pupil"), ("hashtag", "laugh"), ("hashtag", "looks"), ("body", "pupil"),
          ("body", "photo"), ("body", "leer"), ("insult", "second"), ("isa", "second"), ("mock", "second"))


# Function words: a few hundred labelled comments give them weights by chance ("this", "they", "it"),
# so they are not features by themselves (the cue phrases still read them: "someone should", "go home").
_STOP = frozenset("the a an and or but this that these those it its it's is are was were be been being do does did "
                  "have has had to of in on at for with from by as so what when where which who how all any some "
                  "one again just very too also then than there here my our we us they them their see get got can "
                  "could would will about into out up off over after before me i i'm im someone anyone everyone "
                  "came come back home".split())
_CAPITAL = re.compile(r"[A-Z][a-z]")
_SAID_OF = re.compile(r"(?:\bis|'s|\bare|\byou're|\byoure|\bur|\bsuch|=)\s+(?:(?:a|an|such|absolute|total|proper|"
                      r"right|complete|little|fat|old|bitter|smug|useless|jumped-up|wet|utter|massive|bloody|"
                      r"pathetic|nasty|fake)\s+){0,3}([a-z]+)")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")


def _proper_nouns(text: str) -> frozenset[str]:
    """Capitalised words inside a sentence ("Grimes Dyke Primary", "Archbishop Wake"): names, whose
    words are not cues ("dyke", "wake"), though they stay words the model reads."""
    out = set()
    for m in _CAPITALISED.finditer(text):
        before = text[:m.start()].rstrip(" \t\"'“‘(")
        if before and before[-1] not in ".!?:\n" and not before.endswith(("Mr", "Mrs", "Ms", "Miss", "Dr")):
            out.add(m.group().lower())
    return frozenset(out)


_NAMEISH = re.compile(r"(?:^|[^.!?]\s)[A-Z][a-z]+(?:'s)?\b|\b(?:Mr|Mrs|Ms|Miss|Dr|Sir)\.?\s+[A-Z]")


# --- the model -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Verdict:
    """The model's reading of one comment."""

    flagged: bool
    category: str  # one of CATEGORIES, or "" when not flagged
    score: float  # the flag score (a logit)
    cues: tuple[str, ...] = ()  # the normalised words that weighed most for the category


class Model:
    """Shipped weights: one logistic regression for "flag" and one per category, over string features.

    ``weights[name]`` maps a feature to its weight; scores are logits, compared with thresholds chosen
    by cross-validation (``thresholds``).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.meta = {k: v for k, v in data.items() if k not in ("weights", "bias")}
        self.bias: dict[str, float] = {k: float(v) for k, v in data["bias"].items()}
        self.weights: dict[str, dict[str, float]] = {k: dict(v) for k, v in data["weights"].items()}
        self.thresholds: dict[str, float] = {k: float(v) for k, v in data["thresholds"].items()}
        # what each category head's score is compared with when the heads name the category of a flagged comment:
        # its own offset, or else its threshold (a head that never flags alone still has one: "offsets")
        self.offsets: dict[str, float] = {c: float(data.get("offsets", {}).get(c, self.thresholds.get(c, 0.0)))
                                          for c in data["categories"]}
        self.categories: tuple[str, ...] = tuple(data["categories"])
        self.bigrams = bool(data.get("bigrams", False))

    def score(self, name: str, feats: Sequence[str]) -> float:
        """The logit of one head ("flag" or a category) for a comment's features."""
        w = self.weights[name]
        return self.bias[name] + sum(map(w.get, feats, repeat(0.0)))

    def verdict(self, feats: Sequence[str], first: bool = False) -> Verdict:
        """Flag or not, and the most likely category with its cues (only computed for a flagged comment).

        ``first``: the lexicon's first pass found swearing or a configured phrase, so the comment is
        flagged whatever the flag head says; the heads still name the category."""
        flag = self.score("flag", feats)
        gate = self.thresholds.get("gate", self.thresholds["flag"])
        if flag < gate and not first:
            return Verdict(False, "", flag)
        scores = {c: self.score(c, feats) for c in self.categories}
        off = self.offsets
        category = max(self.categories, key=lambda c: (scores[c] - off[c], -self.categories.index(c)))
        # "critical": a lower bar for the flag score when the heads name a critical category (a model without one
        # flags as before); a critical comment missed costs more than a false alarm
        flagged = (first or flag >= self.thresholds["flag"] or scores[category] >= self.thresholds.get(category, 99.0)
                   or (category in CRITICAL and flag >= self.thresholds.get("critical", 99.0)))
        if not flagged:
            return Verdict(False, "", flag)
        return Verdict(True, category, flag, self.cues(category, feats))

    def cues(self, category: str, feats: Sequence[str], top: int = 3) -> tuple[str, ...]:
        """The words (unigrams and bigrams) that pushed most towards ``category``, strongest first."""
        w = self.weights[category]
        cand = {f: w.get(f, 0.0) for f in feats if f[:2] == "w:" or (" " in f and ":" not in f)}
        best = sorted((f for f, v in cand.items() if v > 0), key=lambda f: (-cand[f], f))[:top]
        return tuple(f[2:] if f[:2] == "w:" else f for f in best)


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Model:
    """The shipped model (read once; a few milliseconds)."""
    with open(path or MODEL_PATH, encoding="utf-8") as fh:
        return Model(json.load(fh))


# --- one comment, read: category, severity, the cue, what to mask ----------------------------------

LABELS = {
    "profanity": "A comment with swearing",
    "threat": "A threatening comment",
    "attack": "A comment insulting a member of staff or a pupil",
    "bullying": "A comment bullying a pupil",
    "sexual": "A sexual comment",
    "slur": "A comment with a slur or identity hate",
    "doxxing": "A comment giving out personal details (doxxing)",
    "self-harm": "A comment encouraging self-harm",
}
# Cue kinds whose words are abuse in themselves, so they are masked wherever they appear.
_ABUSIVE_CUES = frozenset({"slur", "insult", "sexual"})
_PERSONAL = re.compile(r"\S*\d\S*|\S+@\S+|@\w+")


@dataclass(frozen=True, slots=True)
class Reading:
    """What the check reports about one comment ("" category: nothing to report)."""

    category: str = ""
    critical: bool = False
    why: str = ""  # the cue, already masked: "“f******”", "a mobile number", "“lesson”, “teach”"
    spans: tuple[tuple[int, int], ...] = ()  # where to mask in the original text


def _sexual_about_pupils(cues: set[str]) -> bool:
    """A sexual comment is about pupils (critical) when it says so, or speaks of a photo and not of staff."""
    return "pupil" in cues or ("photo" in cues and "staff" not in cues)


def read(text: str, lex: Any = None, *, exclude: Sequence[str] = (), model: Model | None = None) -> Reading:
    """Read one comment: the lexicon's first pass, then the model; never raises on odd input.

    ``exclude``: lowercase phrases (the school's own name, its staff) whose words are never abuse.
    """
    if not text or not text.strip():
        return Reading()
    model = model or load()
    if lex is None:
        lex = lx.lexicon(lx.DEFAULT_THREATS, lx.DEFAULT_ATTACKS, lx.DEFAULT_ALLOW)
    if exclude:
        text = _blank(text, exclude)
    cased, norm = _normalise_both(text)
    toks = _WORDS.findall(norm)
    hits, sure, from_norm = lexicon_hits(text, norm, lex, toks, cased)
    personal = personal_data(text) if _MAYBE_PERSONAL.search(text) else []
    feats = features(text, norm, _kinds(hits, sure, toks), personal, model.bigrams, toks)
    configured_threat = bool(hits) and any(h.kind == "threat" and h.word not in lx.AMBIGUOUS for h in hits)
    verdict = model.verdict(feats, sure or configured_threat or _sure_personal(personal, norm))
    if not verdict.flagged:
        return Reading()
    category = verdict.category
    if configured_threat and category not in ("threat", "self-harm"):
        category = "threat"
    elif _sure_personal(personal, norm) and (category not in ("threat", "self-harm")
                                             or not (sure or model.verdict(feats, False).flagged)):
        # flagged for the personal data alone: doxxing, whatever head scored highest ("please call me on
        # 07700 ... if found" is no threat); a threat the model flags by itself keeps its category
        category = "doxxing"
    table = cue_table()
    critical = category in ("threat", "doxxing", "self-harm") or (
        category == "sexual" and _sexual_about_pupils({table[t] for t in toks if t in table}))
    # what to mask: the lexicon's words, the normalised abusive words, and personal data
    word_span = lx.word_span
    bad = set(lx.EXTRA_PROFANITY) | set(lx.SURE_SLURS) | {h.word for h in hits}
    bad |= {w for w in toks if table.get(w) in _ABUSIVE_CUES}
    spans: list[tuple[int, int]] = [] if from_norm else [(h.start, h.end) for h in hits]
    for m in re.finditer(r"\S+", text):
        token = m.group()
        words_here = _WORDS.findall(normalise(token))
        if any(w in bad or any(b in w for b in _STRONG if len(w) > len(b)) for w in words_here):
            spans.append(word_span(text, m.start(), m.start() + 1))
        elif from_norm and not token.isalpha() and lex.find(normalise(token, lower=False)):
            spans.append(word_span(text, m.start(), m.start() + 1))  # a disguise ("w***3rs", an emoji inside a word)
    for m in _SPACED.finditer(text):
        joined = "".join(c for c in m.group() if c.isalpha()).lower()
        if joined in bad or any(b in joined for b in _STRONG):
            spans.append((m.start(), m.end()))
    if category == "doxxing":
        spans.extend((m.start(), m.end()) for m in _PERSONAL.finditer(text))
    names = _name_spans(text) if category != "profanity" else []
    why = _why(text, category, spans, _cue_words(model, category, text, norm, toks, names), personal)
    return Reading(category=category, critical=critical, why=why, spans=tuple(sorted(set(spans + names))))


_STRONG = ("fuck", "cunt", "shit", "wank", "nigg", "twat")
_TITLES = frozenset("mr mrs ms miss dr sir mx".split())
# Words that start many sentences and are also given names somewhere.
_COMMON_CAPITALS = frozenset("go look see just please well so no yes thanks thank love hope imagine tell ask why who "
                             "what when where how nobody everyone someone anyone poor nice sack run wait pass rate "
                             "every another same".split())
_NAME_WORD = re.compile(r"(?<![\w'])[A-Z][a-z]+(?:-[A-Z][a-z]+)?(?=\b)")


def _name_spans(text: str) -> list[tuple[int, int]]:
    """Where a person's name probably is: a Capitalised word after a title, inside a sentence, or a known
    given name; masked in the evidence like the abuse, so a report never spreads a pupil's name."""

    tables = name_tables()
    out = []
    for m in _NAME_WORD.finditer(text):
        word = m.group()
        low = word.lower()
        if low in _TITLES:
            continue
        before = text[:m.start()].rstrip(" \t\"'\u201c\u2018(")
        previous = before.split()[-1].lower().rstrip(".") if before else ""
        inside = bool(before) and before[-1] not in ".!?:\n"
        common = low in _STOP or low in _COMMON_CAPITALS or low in cue_table()
        if previous in _TITLES or (not common and (inside or low in tables)):
            out.append((m.start(), m.end()))
    return out


def _cue_words(model: Model, category: str, text: str, norm: str, toks: Sequence[str],
               names: Sequence[tuple[int, int]]) -> list[str]:
    """The words and phrases that weighed most for ``category``: a word's own weight plus its cue's."""
    w = model.weights.get(category, {})
    table = cue_table()

    british = name_tables().british
    hidden = {text[a:b].lower() for a, b in names} | _TITLES | {t for t in toks if t in british and t not in table}
    scores: dict[str, float] = {}
    for t in toks:
        if t in _STOP or t in hidden or t[:2] == "e_":
            continue
        cue = table.get(t)
        scores[t] = w.get("w:" + t, 0.0) + (w.get("C:" + cue, 0.0) if cue and cue not in _CONTEXT_ONLY else 0.0)
    phrases = cue_phrases()
    for first in phrases.keys() & set(toks):
        for phrase, cue, pattern in phrases[first]:
            if phrase in norm and pattern.search(norm) and not any(h in phrase.split() for h in hidden):
                scores[phrase] = w.get("C:" + cue, 0.0) + 0.01 * len(phrase)
    best = sorted((k for k, v in scores.items() if v > 0), key=lambda k: (-scores[k], k))[:3]
    return [b for b in best if not any(b != o and b in o.split() for o in best)]


def _blank(text: str, phrases: Sequence[str]) -> str:
    """``text`` with every phrase (case-insensitive, whole words) replaced by spaces: same length, so
    spans still point into the original, and the school's own names or allowed terms are never read."""
    low = text.lower()
    out = text
    for phrase in phrases:
        if not phrase or phrase not in low:
            continue
        for m in re.finditer(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", low):
            out = out[:m.start()] + " " * (m.end() - m.start()) + out[m.end():]
    return out


def _why(text: str, category: str, spans: Sequence[tuple[int, int]], cues: Sequence[str], personal: Sequence[str]) -> str:
    if personal and category == "doxxing":
        kinds = sorted(set(personal))
        return "it gives " + " and ".join(f"a {k}" for k in kinds)
    masked = lx.mask_spans(text, spans)
    shown: list[str] = []
    for a, b in sorted(set(spans)):
        s, e = lx.word_span(text, a, b)
        word = masked[s:e]
        if word and word not in shown:
            shown.append(word)
    if not shown:
        shown = list(cues)[:3]
    if not shown:
        return f"the wording reads as {category}"
    return "the words " + ", ".join(f"\u201c{w}\u201d" for w in shown[:3])
