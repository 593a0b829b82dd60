"""Word lists about names, shared by the named-children detector and the comments check.

* Titles (a word after one is an adult's name), religious figures and context words, well-known,
  historical and fictional people: hard exclusions and features of ``checks/_childnames.py``.
* :func:`name_tables`: the given names of ``gender-guesser``'s ``nam_dict.txt`` (Jörg Michael's name
  dictionary, GFDL), British and Irish ones apart; the comments check asks whether a capitalised
  word is a name. Parsed once per process (``functools.cache``, about 0.3 s).
* :func:`_starts_sentence`: whether a word begins a sentence.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

# --- word lists ------------------------------------------------------------------------------

TITLES = frozenset(
    "mr mrs miss ms mx dr fr father rev revd reverend canon deacon sister brother bishop archbishop pope "
    "cllr councillor pc sgt sergeant inspector sir dame lord lady prof professor st saint sr br mgr monsignor "
    "king queen prince princess captain capt coach chef nurse officer prophet auntie aunty uncle mister "
    "madam headteacher head governor rabbi imam pcso vicar rector chaplain pastor firefighter".split()
)


RELIGIOUS_ALWAYS = frozenset("jesus christ god allah buddha krishna yahweh messiah".split())
BIBLICAL = frozenset(
    """mary joseph noah moses abraham sarah david goliath daniel jonah peter paul john matthew mark luke
    gabriel elizabeth zacchaeus zechariah adam eve isaac jacob rebecca ruth naomi esther samuel elijah elisha
    joshua solomon thomas andrew james simon martha lazarus herod joachim anne magdalene michael raphael
    bartholomew philip stephen timothy barnabas miriam aaron nicholas patrick george andrew bernadette
    francis clare dominic benedict teresa therese""".split()
)
_RELIGIOUS_CONTEXT = frozenset(
    """god jesus christ lord holy bible gospel nativity mass prayer prayers pray praying church advent easter
    lent pentecost angel angels shepherd shepherds bethlehem manger apostle apostles disciple disciples saint
    rosary hail virgin liturgy worship ark psalm parable parables blessed feast feastday sacrament communion
    confirmation baptism christening parish heaven faith saints stable crib magi kings re religious""".split()
)


# Well-known, historical and fictional people: whole phrases, matched on lowercase tokens.
FAMOUS = tuple(
    tuple(phrase.split())
    for phrase in """florence nightingale|mary seacole|grace darling|harry potter|hermione granger|ron weasley|
    roald dahl|julia donaldson|david walliams|michael morpurgo|jacqueline wilson|beatrix potter|peter rabbit|
    winnie the pooh|christopher robin|mary poppins|peter pan|tiny tim|oliver twist|charlie bucket|willy wonka|
    horrid henry|anne frank|anne boleyn|henry viii|queen victoria|isaac newton|charles darwin|albert einstein|
    marie curie|neil armstrong|tim peake|rosa parks|martin luther king|nelson mandela|emmeline pankhurst|
    ada lovelace|amelia earhart|william shakespeare|charles dickens|captain tom|tom moore|jack frost|
    father christmas|guy fawkes|julius caesar|marcus rashford|lionel messi|harry kane|jude bellingham|
    bukayo saka|emma raducanu|andy murray|mo farah|greta thunberg|david attenborough|joe wicks|lewis hamilton|
    ed sheeran|king charles|prince william|robin hood|alice in wonderland|jack and the beanstalk|
    hansel and gretel|snow white|goldilocks|paddington bear|thomas the tank engine|bob the builder|
    fireman sam|postman pat|stick man|elmer the elephant|the gruffalo|room on the broom|rapunzel|cinderella|
    matilda wormwood|miss trunchbull|james and the giant peach|charlie and the chocolate factory|
    george and the dragon|king arthur|boudicca|tutankhamun|walter tull|mary anning|frida kahlo|
    vincent van gogh|claude monet|pablo picasso|andy warhol|henri matisse|katherine johnson|stephen hawking|
    jane austen|charlotte bronte|emily bronte|george stephenson|isambard kingdom brunel|winston churchill|
    elizabeth fry|grace hopper|alan turing|tim berners lee|john lennon|paul mccartney|freddie mercury|
    elvis presley|taylor swift|billie eilish|harry styles|jack sparrow|david and goliath|noah ark|adam and eve|
    daniel in the lions|jonah and the whale""".replace("\n", " ").split("|")
    if phrase.strip()
)
FICTIONAL_SINGLE = frozenset("elsa moana peppa elmer paddington pinocchio aladdin mulan simba nemo shrek "
                             "pooh matilda gruffalo zog supertato rapunzel cinderella ariel olaf".split())



# --- the name tables -------------------------------------------------------------------------

GB_COLUMN = 30  # nam_dict.txt: the Great Britain frequency is column 31 (0-based 30), Ireland the next


@dataclass(frozen=True, slots=True)
class NameTables:
    """Lowercase given names: British/Irish (any case) and all others (capitalised or in context)."""

    british: frozenset[str]
    other: frozenset[str]
    min_frequency: int

    def __contains__(self, word: str) -> bool:
        return word in self.british or word in self.other


def _fold(name: str) -> str:
    """'Seán' -> 'sean': posts often drop the accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def _dict_lines() -> Iterable[str]:
    with resources.files("gender_guesser").joinpath("data/nam_dict.txt").open(encoding="utf-8") as handle:
        yield from handle


@functools.cache
def name_tables(min_frequency: int = 1) -> NameTables:
    """Parse ``nam_dict.txt`` once per process and frequency threshold."""
    british: set[str] = set()
    other: set[str] = set()
    for line in _dict_lines():
        if not line or line[0] in "#=" or len(line) <= GB_COLUMN:
            continue
        if line[29] == "+":  # a second copy sorted by expanded umlauts (the file's own advice)
            continue
        raw = line[3:29].strip()
        if not raw:
            continue
        freq = 0
        for ch in line[GB_COLUMN:GB_COLUMN + 2]:
            if ch.strip():
                freq = max(freq, int(ch, 16))
        variants = {raw.replace("+", sep) for sep in ("", "-")} if "+" in raw else {raw}
        target = british if freq >= min_frequency else other
        for variant in variants:
            low = variant.lower()
            target.add(low)
            target.add(_fold(low))
    other -= british
    return NameTables(british=frozenset(british), other=frozenset(other), min_frequency=min_frequency)



# --- sentences -------------------------------------------------------------------------------

_MID_SENTENCE = frozenset(",'’\"“”‘()&+/-_%£$")
_SKIP_BACK = frozenset(" \t\"'“‘(")
_SENTENCE_END = frozenset(".!?:;\n\u2022|")


def _starts_sentence(text: str, start: int) -> bool:
    """The word at ``start`` begins the text or a sentence (after . ! ? : ; a new line, a bullet or a
    symbol such as an emoji; spaces, quotes and brackets skipped)."""
    k = start - 1
    while k >= 0 and text[k] in _SKIP_BACK:
        k -= 1
    if k < 0:
        return True
    prev = text[k]
    return prev in _SENTENCE_END or (not prev.isalnum() and prev not in _MID_SENTENCE)
