"""Children's names in post text: candidates, features and a trained decision (infrastructure for named_children).

How a post is read:

1. **Tokens** (:func:`tokenize`): words with their offsets, letter case, place in the sentence,
   hashtag parts (``#WellDoneAva`` -> ``Well`` ``Done`` ``Ava``), possessives. Links, email addresses
   and @handles are blanked first: they are accounts and addresses, not names.
2. **Candidates**: every word that could be a person's name. A capitalised word is one unless it is
   a very common English word that no child in England and Wales is called ("The", "Year",
   "Science"); a lowercase word is one when it is a given name and not a very common word
   ("jack", "mia", "chidi"; not "will", "may"). Initials are never candidates (they identify nobody).
3. **Features** (:func:`mention_keys`, :class:`Featurizer`): how common the word is as a given name among children born in
   England and Wales since 1996 (ONS) and as an English word (wordfreq), its case and position, the
   words on either side, and cue families around it (child cues and year groups, adult roles,
   organisations, animals, religious and story context, greetings), whether it is part of a
   well-known person's name, a surname after a given name, a possessive followed by a piece of work,
   the capitalised phrase after "from", "at", "of" or "with" by its last word ("Jordan from Ridgefield Netball
   Club", "Ava from Oak Class"), and the words themselves: each word up to five either side and every word of
   the post. The mention's
   words and the two words either side also give their *word cluster* (``word_clusters.tsv``: words that
   stand in the same places in the training posts share one), so a word no labelled post had beside a name
   weighs what its cluster's words weigh.
4. **Decision**: a logistic regression trained on labelled school posts (``python -m
   socialaudit.name_training``) gives each candidate the probability that it names a child; at or
   above the shipped threshold it is a child's name. Hard exclusions stay rules, documented: a word
   after a title kept for adults (Mrs, Fr, Revd, ...) and the school's staff list.
5. **Mentions**: adjacent capitalised words of one person ("Isla Pennington") make one mention; a
   mention with a given name and a surname is a full name.

Everything the decision needs ships in ``checks/data/``: the weights (``name_model.json``), three derived
tables (``given_names.tsv`` from the ONS, ``word_zipf.tsv`` from wordfreq, ``word_clusters.tsv`` from the
training posts' text) and the Welsh readings
(``welsh_gloss.tsv``; see docs/checks.md for their licences). Nothing is read from ``../shared`` at run time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from itertools import repeat
from typing import Any, ClassVar

from checks import _welsh
from checks._names import (
    _RELIGIOUS_CONTEXT,
    ADULT_TITLES,
    BIBLICAL,
    FAMOUS,
    FICTIONAL_SINGLE,
    RELIGIOUS_ALWAYS,
    TITLES,
    _fold,
    _starts_sentence,
)
from socialaudit.errors import ModelFilesError

DATA = "data"

# --- cue families: words whose presence near a candidate is a feature -------------------------

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CUES: dict[str, frozenset[str]] = {
    "child": _words("""well done congratulations congrats bravo superstar superstars star pupil pupils student students
        proud certificate award awarded winner winners won scored goal goals try tries wicket runs
        medal champion champions head boy girl boys girls learner learners reader writer mathematician
        scientist artist athlete captain prefect prefects ambassador ambassadors councillors council
        birthday aged age son daughter brother sister twins twin child children kid kids his her
        llongyfarchiadau iawn disgybl disgyblion plentyn"""),  # Welsh: congratulations, (da) iawn, pupil(s), child ("plant" is English too)
    "year": _words("""year yr reception nursery y1 y2 y3 y4 y5 y6 y7 y8 y9 y10 y11 y12 y13 ks1 ks2 ks3 ks4 eyfs
        u7 u8 u9 u10 u11 u12 u13 u14 u15 u16 u18 u11s u12s u13s u14s u15s u16s sixth form class"""),
    "adult": _words("""mr mrs ms miss mx dr sir dame professor prof teacher teachers head headteacher headmaster
        headmistress deputy assistant ta tas senco manager office admin administrator bursar clerk secretary
        receptionist caretaker cleaner cook chef kitchen cooks lunchtime midday supervisor supervisors
        librarian technician governor governors chair trustee trustees volunteer volunteers helper helpers
        parent parents mum mums dad dads grandad grandma nan grandparent grandparents granny auntie uncle
        author illustrator poet writer novelist journalist mp mayor councillor cllr police officer pc
        firefighter firefighters fireman paramedic nurse doctor dentist vet optician plumber electrician
        builder engineer architect farmer coach coaches instructor trainer referee vicar priest rector
        curate rabbi imam chaplain minister pastor reverend bishop deacon nun sister brother father canon
        retired retirement retiring leaving wedding married maternity paternity colleague colleagues staff
        former alumnus alumna alumni director ceo founder owner speaker visitor guest guests expert
        ambassador olympian footballer athlete musician composer artist singer actor actress comedian
        presenter scientist astronaut historian inspector sergeant crossing patrol lollipop driver
        partner husband wife welcome welcomed joined joining thank thanks
        reporter correspondent photographer journalist editor broadcaster producer filmmaker host dj
        gardener groundsman groundskeeper beekeeper keeper ranger warden churchwarden verger organist
        choirmaster conductor bandleader pianist violinist drummer guitarist dancer choreographer
        playwright storyteller magician entertainer puppeteer baker butcher grocer shopkeeper florist
        hairdresser barber tailor mechanic carpenter joiner decorator painter roofer bricklayer surveyor
        solicitor lawyer barrister judge magistrate accountant banker alderman mayoress sheriff constable
        detective superintendent chief soldier sailor airman pilot major colonel lieutenant corporal
        veteran midwife gp surgeon physio physiotherapist therapist counsellor psychologist pharmacist
        hygienist paramedic zookeeper shepherd fisherman lifeguard tutor lecturer researcher programmer
        developer designer planner consultant adviser advisor examiner treasurer registrar steward
        benefactor patron donor chairman chairwoman chairperson president mentor practitioner
        keyworker childminder nanny carer archdeacon archbishop dean cardinal monk friar cantor granthi
        pandit swami elder preacher missionary marshal umpire official quizmaster caterer landlord
        landlady manageress owner proprietor entrepreneur businessman businesswoman mp msp councillor"""),
    "org": _words("""ltd limited plc llp inc co company companies trust foundation charity charities appeal
        supermarket supermarkets shop shops store stores bakery bakers butchers garage homes housebuilder
        sports tv channel magazine newspaper brand brands partnership partners agency agencies
        federation association institute network studio studios gallery galleries
        builders group sponsor sponsors sponsored sponsorship donating donated donation donations
        business businesses firm solicitors estate agents cafe restaurant pub hotel centre club fc afc
        united rovers city town academy school college university church chapel mosque temple gurdwara
        synagogue hospital hospice practice surgery pharmacy bank society funeral directors garden centre
        nurseries farm farms park library museum theatre cinema stadium radio news media press"""),
    "animal": _words("""dog dogs puppy puppies pup cat cats kitten kittens hamster hamsters guinea pig pigs rabbit
        rabbits bunny bunnies tortoise tortoises chicken chickens hen hens chick chicks duck ducks ducklings
        fish goldfish pony ponies horse horses donkey alpaca alpacas llama lamb lambs sheep goat goats
        cow calf pet pets therapy reading woof paws paw bark barked purr tail snake lizard gecko
        stick insects bee bees owl owls falcon hedgehog robot"""),
    "religious": _RELIGIOUS_CONTEXT | _words("""hindu hinduism muslim islam islamic sikh sikhism jewish judaism
        buddhist buddhism diwali eid ramadan vaisakhi baisakhi guru gurus prophet prophets rama sita hanuman
        ganesh krishna lakshmi shiva vishnu hanukkah chanukah passover seder torah quran koran bible
        synagogue mosque gurdwara temple mandir story stories festival holi navratri rosh hashanah yom
        kippur sukkot purim moses abraham ibrahim muhammad pbuh nanak gobind khalsa diya rangoli
        nativity saint st feast shrine pilgrimage"""),
    "story": _words("""book books story stories storytelling character characters author read reading reads novel
        novels play plays musical production role roles starring cast as pantomime panto film films
        movie tale tales poem poems series chapter chapters scheme phonics dressed costume costumes
        dress fictional hero heroine villain adventures adventure picture picturebook comic"""),
    "greeting": _words("""bore da diolch croeso shwmae nadolig llawen blwyddyn newydd dda pen-blwydd hapus
        salaam assalamu alaikum salam mubarak shalom namaste sat sri akal bonjour hola ciao guten tag
        merci gracias dzien dobry hello hi hiya good morning afternoon evening"""),
    "place": _words("""street road lane avenue close drive way crescent grove terrace park river town village
        city county hill wood woods forest bay beach valley moor lake"""),
    # what a person does: after a name at the start of a sentence ("Sanjay swam", "Ben caught")
    "verb": _words("""is was has had did does can will would swam swims caught catches won wins ran runs made makes
        took takes came comes went goes got gets gave gives wrote writes drew draws sang sings built builds read
        reads scored scores played plays kicked saved finished completed achieved earned received showed shows
        brought brings led leads told tells found finds kept keeps left lost met sat stood spoke thought threw
        bought taught began begun became flew fell felt grew knew rode saw says said spent swung tried wore
        loves loved enjoys enjoyed helped helps learned learnt shared shares smashed landed reached climbed"""),
}
_FAMILIES: dict[str, tuple[str, ...]] = {}
for _fam, _members in CUES.items():
    for _w in _members:
        _FAMILIES[_w] = (*_FAMILIES.get(_w, ()), _fam)


def _plurals(word: str) -> tuple[str, ...]:
    """The plural forms of a cue noun ("instructor" -> "instructors", "nursery" -> "nurseries")."""
    if len(word) < 3 or not word.isalpha():
        return ()
    if word.endswith("y") and word[-2] not in "aeiou":
        return (word[:-1] + "ies",)
    if word.endswith(("s", "x", "ch", "sh")):
        return (word + "es",)
    return (word + "s",)


for _w, _fams in list(_FAMILIES.items()):  # a plural cue cues as its singular does: "the churchwardens, Margaret and Alan"
    for _p in _plurals(_w):
        if _p not in _FAMILIES:
            _FAMILIES[_p] = _fams
# Words before a capitalised word that make it a thing's name ("Storm Amy", "HMS Victory", "River Aire").
THING_BEFORE = _words("storm hurricane hms river mount lake team house class ysgol gynradd uwchradd fc")
_NATURE_BEFORE = _words("storm hurricane river mount lake")  # a thing's name after them in lowercase too
# Words after a name that make it a thing, not a person ("Tudor day", "Willow Class", "Hexley Rangers").
THING_AFTER = _words("""class house houses team day days week topic club road street lane avenue close drive lodge
    farm park hall wood court way centre center church chapel cathedral academy primary school college
    fair fete term concert award trust foundation bridge hill green gardens museum zoo beach castle abbey
    palace stadium station theatre cinema market university hospital gallery library forest bay island
    valley rovers united city town fc afc athletic wanderers rangers albion county harriers ltd limited
    homes group appeal sponsor bakery garage shop store supermarket era times period style sponge cake""")
# What children make and do, after a possessive: "Ottilie's model".
CREATIONS = _words("""drawing painting poem story model work artwork picture project design writing letter sculpture
    collage speech reading performance question idea invention experiment certificate award medal trophy
    goal try portrait poster essay piece entry dance song solo""")
_PP_WORDS = frozenset(("from", "at", "of", "with"))
_YEAR_TOKEN = re.compile(r"^(?:y|yr|year|u)\d{1,2}s?$|^(?:reception|nursery|ks[1-4]|p[1-7]|eyfs)$")
_FAMOUS_BY_WORD: dict[str, tuple[tuple[str, ...], ...]] = {}  # word -> the well-known phrases that hold it
for _phrase in FAMOUS:
    for _w in set(_phrase):
        _FAMOUS_BY_WORD[_w] = (*_FAMOUS_BY_WORD.get(_w, ()), _phrase)
_FAMOUS_WORDS = frozenset(_FAMOUS_BY_WORD)

# --- tokens ----------------------------------------------------------------------------------

_WORD = re.compile(r"#?[^\W\d_][^\W_]*(?:['’\-][^\W\d_][^\W_]*)*")
# the same, for ASCII text (twice as fast); it opens with a character class, not "#?", so the regex engine
# skips to the next "#" or letter instead of trying a match at every space, digit and stop
_WORD_ASCII = re.compile(r"[#A-Za-z](?:(?<=#)[A-Za-z]|(?<!#))[A-Za-z0-9]*(?:['\-][A-Za-z][A-Za-z0-9]*)*")
_CAMEL = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+")
_LINKS = re.compile(r"https?://\S+|www\.\S+")
_ADDRESSES = re.compile(r"(?<![\w.+-])[\w.+-]*@[\w-]*(?:\.[\w-]+)*")  # email addresses and @handles
_TAG_CUES = ("welldone", "congratulations", "congrats", "happybirthday", "thankyou", "goodluck", "staroftheweek",
             "wellplayed", "bravo", "proudof", "goteam")


@dataclass(slots=True)
class Token:
    text: str  # as written, possessive and hashtag mark removed
    low: str
    start: int  # offset in the segment
    end: int
    shape: str  # "cap", "upper", "lower", "mixed"
    initial: bool  # first word of a sentence, of the text or of a hashtag
    hashtag: bool = False
    possessive: bool = False
    tagcue: bool = False  # the name part of a one-word cue hashtag: "#welldoneava"


def _shape(word: str) -> str:
    if word.islower():
        return "lower"
    if word.isupper():
        return "upper" if len(word) > 1 else "cap"
    if word[0].isupper() and (word[1:].islower() or "-" in word or "'" in word):
        return "cap"
    return "mixed" if not word[0].isupper() else "cap"


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


_LOWER_TOKENS: dict[str, Token] = {}  # shared, offset-less tokens of lowercase words when nothing is kept


def tokenize(text: str, keep: frozenset[str] | set[str] = frozenset(),
             shared: dict[str, Token] | None = None) -> list[Token]:
    """Words of ``text`` with offsets; CamelCase hashtags become their words (offsets inside the tag).

    Speed: a plain lowercase word that is not in ``keep`` (the lowercase words that could be a name)
    is one shared token without offsets (``start`` and ``end`` are -1), kept in ``shared`` (one dict
    per ``keep``): nothing reads where an ordinary word is, only what it is. Every other word is
    found in order with its offsets.
    """
    if "http" in text or "www." in text:
        text = _LINKS.sub(_blank, text)
    if "@" in text:
        text = _ADDRESSES.sub(_blank, text)
    if shared is None:
        shared = _LOWER_TOKENS if not keep else {}
    words = (_WORD_ASCII if text.isascii() else _WORD).findall(text)
    get = shared.get
    tokens: list[Any] = list(map(get, words))  # most words: a dictionary hit
    missing = [k for k, t in enumerate(tokens) if t is None]  # by identity: "None in tokens" would call Token.__eq__
    if not missing:
        return tokens
    pos = 0
    size = len(text)
    splits: list[tuple[int, list[Token]]] = []  # hashtags that became several tokens
    plain_get = _PLAIN_CAPS.get
    for k in missing:
        word = words[k]
        low = plain_get(word)
        if low is None:
            low = _plain_cap(word)
        if not low and word.islower() and word.isascii() and word[0] != "#" and "'" not in word and word not in keep:
            if len(shared) > 100_000:
                shared.clear()
            tokens[k] = shared[word] = Token(word, word, -1, -1, "lower", False)
            continue
        start = text.find(word, pos)
        end = start + len(word)
        if start < 0 or not ((start == 0 or text[start - 1] in _BOUNDARY) and (end == size or text[end] in _BOUNDARY)):
            start = _place(text, word, pos)  # not plainly the whole word there: look closer
            if start < 0:  # a word that searching cannot place: let the regex say where every word is
                return [t for m in _WORD.finditer(text) for t in _tokens_of(text, m.group(), m.start(), keep, shared)]
            end = start + len(word)
        pos = end
        if low:  # a plain capitalised word (most of the rest): no possessive or hashtag to take apart
            inside = start > 1 and text[start - 1] == " " and text[start - 2].isalnum()  # _starts_sentence's commonest no
            tokens[k] = Token(word, low, start, pos, "cap", not inside and _starts_sentence(text, start))
            continue
        got = _hashtag(word, start) if word[0] == "#" else _tokens_of(text, word, start, keep, shared)
        tokens[k] = got[0] if got else None
        if len(got) != 1:  # several words ("#WellDoneAva"), or none ("#Ŵŵ": no word the splitter keeps)
            splits.append((k, got))
    for k, got in reversed(splits):
        tokens[k:k + 1] = got
    return tokens


_HASHTAGS: dict[str, list[Token]] = {}  # hashtag -> its tokens as if it began the text (see _hashtag)


def _hashtag(word: str, start: int) -> list[Token]:
    """The tokens of the hashtag ``word`` found at ``start``: what _tokens_of gives, its parts worked out
    once per hashtag (they depend on the tag alone, not on the text around it) and moved to ``start``."""
    parts = _HASHTAGS.get(word)
    if parts is None:
        if len(_HASHTAGS) > 100_000:
            _HASHTAGS.clear()
        parts = _HASHTAGS[word] = _tokens_of(word, word, 0, frozenset(), {})
    return [Token(t.text, t.low, start + t.start, start + t.end, t.shape, t.initial, t.hashtag, t.possessive, t.tagcue)
            for t in parts]


_PLAIN_CAPS: dict[str, str] = {}  # word -> its lowercase if a plain capitalised word ("Ava", not "#Ava", "Ava's", "AVA"), else ""


def _plain_cap(word: str) -> str:
    """``word.lower()`` if ``word`` is a plain capitalised word, else "" (remembered per word)."""
    plain = word[0] != "#" and "'" not in word and "’" not in word and word[0].isupper() and word[1:].islower()
    if len(_PLAIN_CAPS) > 100_000:
        _PLAIN_CAPS.clear()
    low = _PLAIN_CAPS[word] = word.lower() if plain else ""
    return low


_BOUNDARY = frozenset(" \t\n\r\x0b\x0c.,;:!?()[]{}\"“”/\\|&+*=<>~`^%$£€")  # never part of a word


def _place(text: str, word: str, pos: int) -> int:
    """Where the regex's word ``word`` starts, at or after ``pos``: a place where the regex matches
    exactly this word (not the inside, the start or the end of a longer one); -1 if there is none."""
    size = len(word)
    start = text.find(word, pos)
    while start >= 0:
        end = start + size
        if (start == 0 or text[start - 1] in _BOUNDARY) and (end == len(text) or text[end] in _BOUNDARY):
            return start  # spaces or punctuation either side: certainly the whole word
        if _word_at(text, start, size):
            return start
        start = text.find(word, start + 1)
    return -1


def _word_at(text: str, start: int, size: int) -> bool:
    """Whether the regex, reading the run of word characters around ``start``, finds a word of ``size``
    characters starting exactly there."""
    k = start
    while k > 0 and (text[k - 1].isalnum() or text[k - 1] in "_'’-#"):
        k -= 1
    for m in _WORD.finditer(text, k):
        if m.start() >= start:
            return m.start() == start and m.end() == start + size
    return False


_INVISIBLE = dict.fromkeys((0x00AD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065), 0xFEFF))
_INVISIBLE.update({0x02BC: "’", 0x2019: "’", 0xFF07: "'"})


def clean(text: str) -> str:
    """Composed characters (NFC), no zero-width or direction marks, one kind of apostrophe: 'Ol\u200bivia' and
    'Zoe\u0308' read as 'Olivia' and 'Zoë'."""
    return unicodedata.normalize("NFC", text).translate(_INVISIBLE)


def _tokens_of(text: str, word: str, start: int, keep: frozenset[str] | set[str],
               shared: dict[str, Token]) -> list[Token]:
    """The token(s) of one word found at ``start``: a hashtag gives one per CamelCase part."""
    end = start + len(word)
    if word.islower() and word[0] != "#" and "'" not in word and "’" not in word:
        if word.isascii() and word not in keep:
            tok = shared.get(word)
            if tok is None:
                tok = shared[word] = Token(word, word, -1, -1, "lower", False)
            return [tok]
        return [Token(word, word, start, end, "lower", False)]
    if word[0] == "#":
        body = word[1:]
        if body.islower() or body.isupper():
            low = body.lower()
            for cue in _TAG_CUES:
                if low.startswith(cue) and len(low) > len(cue) + 1:
                    rest = body[len(cue):]
                    return [Token(rest, rest.lower(), start + 1 + len(cue), end, "cap", False, True, False, True)]
            return [Token(body, low, start + 1, end, _shape(body), True, True)]
        out = []
        offset = start + 1
        for n, part in enumerate(_CAMEL.findall(body)):
            at = body.find(part, offset - start - 1) + start + 1
            offset = at + len(part)
            out.append(Token(part, part.lower(), at, offset, _shape(part), n == 0, True))
        return out
    possessive = False
    bare = word
    if "'" in word or "’" in word:
        for suffix in ("'s", "’s", "'S", "’S"):
            if word.endswith(suffix):
                bare, possessive = word[: -len(suffix)], True
                break
        else:
            if word.endswith(("s'", "s’")):
                bare, possessive = word[:-1], True
    shape = _shape(bare)
    initial = shape != "lower" and _starts_sentence(text, start)
    low = bare.lower()
    return [Token(bare, low.replace("’", "'") if possessive or "’" in low else low, start, start + len(bare), shape,
                  initial, False, possessive)]


# --- tables and weights ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, eq=False)
class Model:
    """The shipped decision: tables, weights and the threshold."""

    given: dict[str, int]  # lowercase given name -> bucket 1..7 (log10 of births 1996-2024, rounded up)
    zipf: dict[str, int]  # lowercase word -> Zipf frequency x10 (wordfreq, English)
    weights: dict[str, float]
    bias: float
    threshold: float
    cap_zipf_max: int  # a capitalised word is no candidate when more common than this and no given name
    lower_zipf_max: int  # a lowercase given name is a candidate only when rarer than this
    lower_given_min: int  # ... and at least this common as a given name
    clusters: dict[str, int] = field(default_factory=dict)  # lowercase word -> its word cluster (see word_clusters.tsv)
    featurizer: Featurizer = field(init=False, repr=False, compare=False)
    candidates: dict[str, bool] = field(init=False, repr=False, compare=False)  # a cache: capitalised word -> is_candidate
    lower_candidates: frozenset[str] = field(init=False, repr=False, compare=False)  # lowercase words that may be names
    shared_tokens: dict[str, Token] = field(init=False, repr=False, compare=False)  # see tokenize
    welsh_words: frozenset[str] = field(init=False, repr=False, compare=False)  # see _welsh.is_welsh

    def __post_init__(self) -> None:
        object.__setattr__(self, "featurizer", Featurizer(self.given, self.zipf, self.weights, self.clusters))
        object.__setattr__(self, "candidates", {})
        object.__setattr__(self, "shared_tokens", {})
        object.__setattr__(self, "welsh_words", _welsh.welsh_words(self.zipf))
        object.__setattr__(self, "lower_candidates", frozenset(
            w for w, g in self.given.items() if g >= self.lower_given_min and self.zipf.get(w, 0) < self.lower_zipf_max))

    def with_extra(self, extra: frozenset[str]) -> Model:
        """This model with a school's ``extra_names`` as common given names (built once per set of names)."""
        return _with_extra(self, extra)

    def score(self, keys: Iterable[tuple[object, ...]]) -> float:
        """The probability that a mention with these feature groups names a child."""
        featurizer = self.featurizer
        weight = featurizer.weight
        known = featurizer._sums.get  # most groups' shares are known: one lookup, no call (the same sum)
        z = self.bias
        for key in keys:
            got = known(key)
            z += weight(key) if got is None else got
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


@functools.lru_cache(maxsize=64)
def _with_extra(model: Model, extra: frozenset[str]) -> Model:
    return replace(model, given={**model.given, **dict.fromkeys(extra, 5)})


def _read(name: str) -> str:
    return resources.files("checks").joinpath(DATA, name).read_text(encoding="utf-8")


def read_table(text: str) -> dict[str, int]:
    """``word<TAB>int`` lines (``#`` comments skipped)."""
    table: dict[str, int] = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        word, _, value = line.partition("\t")
        table[word] = int(value)
    return table


@functools.cache
def tables() -> tuple[dict[str, int], dict[str, int]]:
    """The given-name and word-frequency tables, parsed once per process."""
    return read_table(_read("given_names.tsv")), read_table(_read("word_zipf.tsv"))


def digest(text: str) -> str:
    """The SHA-256 of a table's text, as the model records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clusters_table(expected: str | None) -> dict[str, int]:
    """The shipped word clusters the weights were trained with (see :func:`clusters_from`)."""
    try:
        text: str | None = _read("word_clusters.tsv")
    except FileNotFoundError:
        text = None
    return clusters_from(text, expected)


def clusters_from(text: str | None, expected: str | None) -> dict[str, int]:
    """The word clusters of the table ``text`` (None: no file), checked against ``expected``, the digest
    ``name_model.json`` records (None: weights trained without clusters, which need no table). A table missing
    or from another build is an error (:class:`ModelFilesError`), never a quietly weaker check (the clusters'
    features would find nothing)."""
    if expected is None:
        return {}
    if text is None or digest(text) != expected:
        raise ModelFilesError("checks/data/word_clusters.tsv is missing or is not the table name_model.json was "
                              "trained with: rebuild with python -m socialaudit.name_training")
    return read_table(text)


def model_from(payload: dict[str, object], given: dict[str, int], zipf: dict[str, int],
               clusters: dict[str, int] | None = None) -> Model:
    weights = payload["weights"]
    assert isinstance(weights, dict)
    return Model(given=given, zipf=zipf, weights={str(k): float(v) for k, v in weights.items()},
                 bias=float(payload["bias"]), threshold=float(payload["threshold"]),  # type: ignore[arg-type]
                 cap_zipf_max=int(payload["cap_zipf_max"]), lower_zipf_max=int(payload["lower_zipf_max"]),  # type: ignore[call-overload]
                 lower_given_min=int(payload["lower_given_min"]), clusters=clusters or {})  # type: ignore[call-overload]


@functools.cache
def load_model() -> Model:
    """The shipped model (``checks/data/name_model.json``), once per process."""
    given, zipf = tables()
    payload = json.loads(_read("name_model.json"))
    expected = payload.get("clusters_sha256")
    return model_from(payload, given, zipf, clusters_table(expected if isinstance(expected, str) else None))


DEFAULT_LIMITS = {"cap_zipf_max": 40, "lower_zipf_max": 50, "lower_given_min": 2}
CONTEXT_REACH = 5  # words on either side of a mention that are features themselves ("ctx:L1=our")


# --- candidates and features -------------------------------------------------------------------

def is_candidate(tok: Token, given: dict[str, int], zipf: dict[str, int], model: Model) -> bool:
    """Whether ``tok`` could be a person's name (see the module's docstring)."""
    low = tok.low
    if len(low) < 2 or low[-1] == ".":
        return False
    g = given.get(low) or (given.get(_fold(low), 0) if not low.isascii() else 0)
    if tok.shape == "lower":
        return g >= model.lower_given_min and zipf.get(low, 0) < model.lower_zipf_max
    if tok.tagcue:
        return True
    # a common English word counts only when more than a handful of children a year are given it
    return zipf.get(low, 0) < model.cap_zipf_max or g >= 2 or "-" in low


def _bucket_z(z: int) -> str:
    return str(min(z // 10, 7))


class Featurizer:
    """Features of a mention, built from small groups (the head word, the word before, the word after,
    the cue families around it...). Each group depends on a short key, so both its feature strings
    and, once weights are known, its share of the score are computed once per key and cached: a
    mention is scored with a dozen dictionary lookups, not fifty strings."""

    MAX_CACHE: ClassVar[int] = 200_000  # ClassVar: read through the class too (and mypyc compiles it so)

    def __init__(self, given: dict[str, int], zipf: dict[str, int], weights: dict[str, float] | None = None,
                 clusters: dict[str, int] | None = None) -> None:
        self.given = given
        self.zipf = zipf
        self.clusters = clusters or {}
        self.weights = weights or {}
        self._groups: dict[tuple[object, ...], tuple[str, ...]] = {}
        self._sums: dict[tuple[object, ...], float] = {}
        self._bag: dict[str, float] | None = None  # word -> weight of "ctx:P=word", built on first use
        self._near: dict[str, dict[str, float]] | None = None  # "L1".."R3" -> word -> weight of "ctx:L1=word"
        self._near_slots: tuple[Any, ...] = ()  # the six tables' get, L1..L3 then R1..R3 (built with _near)
        self._last_bag: tuple[object, ...] | None = None
        self._last_bag_sum = 0.0

    def given_bucket(self, low: str) -> int:
        given = self.given
        g = given.get(low)
        if g is None:
            g = given.get(_fold(low), 0) if not low.isascii() else 0
            if not g and "-" in low:
                g = min((given.get(p, 0) for p in low.split("-")), default=0)
        return g

    def group(self, key: tuple[object, ...]) -> tuple[str, ...]:
        if key[0] in ("bag", "near"):  # every post's words differ: never cached (see weight)
            return tuple(self._build(key))
        got = self._groups.get(key)
        if got is None:
            if len(self._groups) > self.MAX_CACHE:
                self._groups.clear()
            got = self._groups[key] = tuple(self._build(key))
        return got

    def weight(self, key: tuple[object, ...]) -> float:
        if key[0] == "near":  # never the same twice: summed straight from per-slot word tables, no strings
            return self._near_weight(key)
        if key[0] == "bag":  # a post's words: summed straight from a per-word table, no strings
            if key is self._last_bag:  # the post's other mentions share the key: summed once per post
                return self._last_bag_sum
            bag = key[1]
            assert isinstance(bag, frozenset)
            if self._bag is None:
                self._bag = {f[6:]: w for f, w in self.weights.items() if f.startswith("ctx:P=")}
            table = self._bag
            total = sum(map(table.get, bag, repeat(0.0)))  # in the set's order, as before: the same sum
            self._last_bag, self._last_bag_sum = key, total  # one post kept, never a cache of every post's words
            return total
        got = self._sums.get(key)
        if got is None:
            if len(self._sums) > self.MAX_CACHE:
                self._sums.clear()
            weights = self.weights
            got = self._sums[key] = sum(weights.get(f, 0.0) for f in self.group(key))
        return got

    def _near_weight(self, key: tuple[object, ...]) -> float:
        if self._near is None:
            near: dict[str, dict[str, float]] = {f"{side}{slot}": {} for side in "LR" for slot in (1, 2, 3)}
            for f, w in self.weights.items():
                if f.startswith("ctx:") and f[4] in "LR":
                    near[f[4:6]][f[7:]] = w
            self._near = near
            self._near_slots = tuple(near[f"{side}{slot}"].get for side in "LR" for slot in (1, 2, 3))
        l1, l2, l3, r1, r2, r3 = self._near_slots
        left, right = key[1], key[2]
        assert isinstance(left, tuple) and isinstance(right, tuple)
        total = 0.0  # added in the same order as ever (left then right; near, second, then the far slot)
        if left:
            total += l1(left[0], 0.0)
            if len(left) > 1:
                total += l2(left[1], 0.0)
                for word in set(left[2:]):  # the far slot: each word once (not "w": mypyc types a name once per function)
                    total += l3(word, 0.0)
        if right:
            total += r1(right[0], 0.0)
            if len(right) > 1:
                total += r2(right[1], 0.0)
                for word in set(right[2:]):
                    total += r3(word, 0.0)
        return total

    def features(self, keys: Iterable[tuple[object, ...]]) -> list[str]:
        out: list[str] = []
        for key in keys:
            out.extend(self.group(key))
        return out

    def _lexical(self, low: str, shape: str, initial: bool, prefix: str) -> tuple[list[str], int]:
        g = self.given_bucket(low)
        zf = _bucket_z(self.zipf.get(low, 0))
        pos = "i" if initial else "m"
        f = [f"{prefix}w={low}", f"{prefix}g={g}", f"{prefix}z={zf}", f"{prefix}gz={g}{zf}", f"{prefix}s={shape}{pos}",
             f"{prefix}sg={shape}{pos}{g}"]
        if "-" in low:
            f.append(f"{prefix}hy={'hn' if g else 'hx'}")
        if not g and len(low) > 4:
            f.append(f"{prefix}suf={low[-3:]}")
        c = self.clusters.get(low)
        if c is not None:
            f += [f"{prefix}wc={c}", f"{prefix}wcs={shape}{pos}{c}"]  # the cluster, and with the case and place
        return f, g

    def _build(self, key: tuple[object, ...]) -> list[str]:
        kind = key[0]
        if kind == "head":  # the mention's first word, where it is, how long the mention is
            _, low, shape, initial, where, length = key
            assert isinstance(low, str) and isinstance(shape, str)
            f, _g = self._lexical(low, shape, bool(initial), "")
            zf = _bucket_z(self.zipf.get(low, 0))
            f += [f"sz={shape}{'i' if initial else 'm'}{zf}", f"at={where}{'i' if initial else 'm'}", f"len={length}"]
            if low in FICTIONAL_SINGLE:
                f.append("fictional")
            if low in BIBLICAL:
                f.append("biblical")
            return f
        if kind == "last":  # a surname: the last word of a longer mention
            _, low, shape, initial, first = key
            assert isinstance(low, str) and isinstance(shape, str) and isinstance(first, str)
            f, lg = self._lexical(low, shape, bool(initial), "l")
            f.append(f"gl={self.given_bucket(first)}{lg}")
            return f
        if kind == "p1":
            _, low, shape, length = key
            assert isinstance(low, str)
            f = [f"p1={low}", *(f"p1f:{fam}" for fam in _FAMILIES.get(low, ())), f"p1s={shape}"]
            if low in self.clusters:
                f.append(f"p1c={self.clusters[low]}")
            if shape == "lower" and len(low) > 3:
                f += [f"p1suf={low[-2:]}", f"p1suf_len={low[-2:]}{length}"]
            if low.rstrip(".") in TITLES:
                f.append("title" if shape != "lower" else "title_lower")
            if low in THING_BEFORE:
                f.append("thing_before")
            return f
        if kind == "p2":
            low = str(key[1])
            return [f"p2={low}", *(f"p2f:{fam}" for fam in _FAMILIES.get(low, ())),
                    *((f"p2c={self.clusters[low]}",) if low in self.clusters else ())]
        if kind == "n1":
            _, low, shape = key
            assert isinstance(low, str)
            f = [f"n1={low}", *(f"n1f:{fam}" for fam in _FAMILIES.get(low, ())),
                 f"n1s={shape}{_bucket_z(self.zipf.get(low, 0))}"]
            if low in self.clusters:
                f.append(f"n1c={self.clusters[low]}")
            if shape == "lower" and len(low) > 3:
                f.append(f"n1suf={low[-2:]}")
            if low in THING_AFTER and shape == "cap":
                f.append("thing_after")
            return f
        if kind == "n2":
            low = str(key[1])
            return [f"n2={low}", *((f"n2c={self.clusters[low]}",) if low in self.clusters else ())]
        if kind == "pp":  # the capitalised phrase after "from", "at", "of", "with": its last word and cluster
            _, prep, head = key
            assert isinstance(head, str)
            f = [f"pp={prep}", f"pp={prep}:{head}"]
            if head in self.clusters:
                f.append(f"ppc={prep}:{self.clusters[head]}")
            return f
        if kind == "punct":
            return [f"cb={key[1]}", f"ca={key[2]}"]
        if kind in ("L", "R", "S"):  # the families, alone and with the mention's length (a full name or one word)
            length = key[1]
            return [f for fam in key[2:] for f in (f"{kind}:{fam}", f"{kind}{length}:{fam}")]
        if kind == "P":
            return [f"{kind}:{fam}" for fam in key[1:]]
        if kind == "near":  # the words near the mention, by side and distance (1, 2, 3-5), each once
            left, right = key[1], key[2]
            assert isinstance(left, tuple) and isinstance(right, tuple)
            return sorted({f"ctx:{side}{min(d, 3)}={w}" for side, words in (("L", left), ("R", right))
                           for d, w in enumerate(words, 1)})
        if kind == "bag":  # every word of the post
            bag = key[1]
            assert isinstance(bag, frozenset)
            return [f"ctx:P={w}" for w in sorted(bag)]
        return [str(x) for x in key[1:]]  # ("flags", "tag", "poss", ...): the names are the features


def mention_keys(tokens: Sequence[Token], fams: Sequence[tuple[str, ...] | None], sentence_of: Sequence[int],
                 sentences: Sequence[dict[str, int]], i: int, j: int, where: str, post_cues: tuple[str, ...],
                 punct: tuple[str, str], cand: Sequence[bool] = (), excl: Sequence[str] = (),
                 lows: Sequence[str] | None = None) -> list[tuple[object, ...]]:
    """The feature groups of the mention ``tokens[i..j]`` (one word, or a given name and a surname);
    ``fams`` the cue families of each word, ``sentence_of`` and ``sentences`` from sentence_families;
    ``where`` is "text" or "alt"; ``post_cues`` the cue families found anywhere in the post; ``cand`` and
    ``excl`` each word's candidacy and exclusion (a name in a list of names); ``lows`` each word's ``low``
    (read from the tokens when not given)."""
    tok = tokens[i]
    n = len(tokens)
    length = min(j - i + 1, 3)
    keys: list[tuple[object, ...]] = [("head", tok.low, tok.shape, tok.initial, where, length)]
    if j > i:
        last = tokens[j]
        keys.append(("last", last.low, last.shape, last.initial, tok.low))
    flags: list[str] = []
    if tok.hashtag:
        flags.append("tagcue" if tok.tagcue else "tag")
    if tokens[j].possessive:
        flags.append("poss")
        if j + 1 < n and tokens[j + 1].low in CREATIONS:
            flags.append("poss+work")
    if where == "alt" and i == 0:
        flags.append("alt0")
    if post_cues:  # a figure of faith in a post about faith, a character in a post about a story
        if tok.low in BIBLICAL and "religious" in post_cues:
            flags.append("faith_ctx")
        if tok.low in FICTIONAL_SINGLE and "story" in post_cues:
            flags.append("fiction_ctx")
    if j + 1 < n:
        q = tokens[j + 1]
        if _YEAR_TOKEN.match(q.low) or (q.low in ("in", "from") and j + 2 < n and _YEAR_TOKEN.match(tokens[j + 2].low)):
            flags.append("year_after")
            k = j + 2 if _YEAR_TOKEN.match(q.low) else j + 3
            if k < n and "adult" in (fams[k] or ()):  # "Nisha (Y3 mum)": the year group is a parent's
                flags.append("year_adult")
    if cand:  # one of a list of names: "Kyle, Sian, Precious and Harvey"; "Mrs Patel and Amira"
        for k in (i - 1, i - 2 if i > 1 and tokens[i - 1].low in ("and", "&") else -1,
                  j + 1, j + 2 if j + 2 < n and tokens[j + 1].low in ("and", "&") else -1):
            if 0 <= k < n and cand[k]:
                flags.append("list_adult" if excl[k] in ("title", "staff") else "list")
                break
    if flags:
        keys.append(("flags", *flags))
    if i > 0:
        p = tokens[i - 1]
        keys.append(("p1", p.low, p.shape, min(length, 2)))
        if i > 1:
            keys.append(("p2", tokens[i - 2].low))
    else:
        keys.append(("flags", "p1=^"))
    if j + 1 < n:
        q = tokens[j + 1]
        keys.append(("n1", q.low, q.shape))
        if j + 2 < n:
            keys.append(("n2", tokens[j + 2].low))
    else:
        keys.append(("flags", "n1=$"))
    keys.append(("punct", *punct))
    if j + 2 < n and tokens[j + 1].low in _PP_WORDS:  # "Jordan from Ridgefield Netball Club", "Ava from Oak Class"
        k = j + 2 + (tokens[j + 2].low == "the" and j + 3 < n)
        head = -1
        while k < n and k <= j + 6 and tokens[k].shape != "lower" and not tokens[k].initial:
            head = k  # the phrase's last capitalised word names what it is
            k += 1
        if head >= 0:
            keys.append(("pp", tokens[j + 1].low, tokens[head].low))
    # the words themselves on either side, up to five away (the third to fifth share one slot)
    if lows is None:
        lows = [t.low for t in tokens]
    keys.append(("near", tuple(lows[max(0, i - CONTEXT_REACH):i][::-1]), tuple(lows[j + 1:j + 1 + CONTEXT_REACH])))
    for side, lo, hi in (("L", max(0, i - 4), i), ("R", j + 1, min(n, j + 5))):
        window = [f for f in fams[lo:hi] if f]
        if window:
            keys.append((side, min(length, 2), *sorted({fam for f in window for fam in f})))
    if post_cues:
        keys.append(("P", *post_cues))
    # the cue families of the rest of the mention's sentence (counted once per segment)
    counts = sentences[sentence_of[i]]
    if counts:
        own: dict[str, int] = {}
        for f in fams[i:j + 1]:
            for fam in f or ():
                own[fam] = own.get(fam, 0) + 1
        rest = sorted(fam for fam, c in counts.items() if c > own.get(fam, 0))
        if rest:
            keys.append(("S", min(length, 2), *rest))
    return keys


def sentence_families(tokens: Sequence[Token], fams: Sequence[tuple[str, ...] | None]) -> tuple[list[int], list[dict[str, int]]]:
    """Each word's sentence, and how many words of each cue family each sentence holds (the sentences'
    first words found first, then only the words with a family looked at)."""
    starts = [k for k, t in enumerate(tokens) if t.initial and k]
    sentence_of: list[int] = []
    before = 0
    for s, k in enumerate(starts):
        sentence_of += [s] * (k - before)
        before = k
    sentence_of += [len(starts)] * (len(tokens) - before)
    counts: list[dict[str, int]] = [{} for _ in range(len(starts) + 1)]
    for k in [k for k, f in enumerate(fams) if f]:
        here = counts[sentence_of[k]]
        for fam in fams[k] or ():
            here[fam] = here.get(fam, 0) + 1
    return sentence_of, counts


_LIST_NOUNS = frozenset("classes houses teams groups clubs forms sets".split())  # what a list of names can name


_LIST_GAPS = frozenset((", ", " and ", ", and ", " & ", ", & "))  # between the words of a list


def tok_is_listed_thing(tokens: Sequence[Token], i: int, text: str) -> bool:
    """Whether ``tokens[i]`` is one of a list of capitalised words that a plural noun names as things:
    "Oak and Maple classes", "Hazel, Rowan and Willow houses" (not a list of children). The list's words
    are one space, a comma or "and" apart in ``text``, and the noun follows the last one after one space."""
    n = len(tokens)

    def step_back(k: int) -> int:  # the list word before tokens[k], or -1
        for back in (1, 2):
            p = k - back
            if p >= 0 and tokens[p].shape == "cap" and tokens[p].start >= 0 and text[tokens[p].end:tokens[k].start] in _LIST_GAPS:
                return p
        return -1

    def step_on(k: int) -> int:  # the list word after tokens[k], or -1
        for on in (1, 2):
            q = k + on
            if q < n and tokens[q].shape == "cap" and not tokens[q].initial and tokens[q].start >= 0 \
                    and text[tokens[k].end:tokens[q].start] in _LIST_GAPS:
                return q
        return -1

    start = i
    for _ in range(12):
        p = step_back(start)
        if p < 0:
            break
        start = p
    end, words = start, 1
    for _ in range(12):
        q = step_on(end)
        if q < 0:
            break
        end, words = q, words + 1
    if words < 2 or end < i or end + 1 >= n:
        return False
    noun = tokens[end + 1].low
    at = tokens[end].end
    return noun in _LIST_NOUNS and text.startswith(" " + noun, at) and \
        (at + 1 + len(noun) == len(text) or not text[at + 1 + len(noun)].isalnum())


def _in_famous(tokens: Sequence[Token], i: int) -> bool:
    low = tokens[i].low
    for phrase in _FAMOUS_BY_WORD.get(low, ()):
        at = phrase.index(low)
        s = i - at
        if s >= 0 and tuple(t.low for t in tokens[s: s + len(phrase)]) == phrase:
            return True
    return False


_POST_FAMILIES = frozenset(("religious", "animal", "story"))
_POST_WORDS = frozenset(w for w, fams in _FAMILIES.items() if _POST_FAMILIES.intersection(fams))


# --- reading a post ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NameContext:
    """What the hard exclusions need to know about a school."""

    staff: tuple[tuple[str, ...], ...] = ()  # lowercase word phrases of staff names, titles dropped
    ignore: frozenset[str] = frozenset()  # words never a child's name at this school
    extra: frozenset[str] = frozenset()  # given names the tables lack

    @classmethod
    def build(cls, staff: Iterable[str] = (), ignore: Iterable[str] = (), extra: Iterable[str] = ()) -> NameContext:
        phrases = []
        for entry in staff:
            toks = tokenize(entry)
            words = tuple(t.low for t in toks if t.low.rstrip(".") not in TITLES)
            if len(words) >= 2 or (words and len(words) == len(toks)):
                phrases.append(words)  # "Mrs Thompson" alone is left to the title rule: a bare "Thompson" may be a pupil
        return cls(staff=tuple(phrases), ignore=frozenset(w.lower() for w in ignore),
                   extra=frozenset(w.lower() for w in extra))


@dataclass(slots=True)
class Segment:
    """One part of a post (the text or one alt text), its tokens and its candidates."""

    where: str  # "text" or "alt text"
    text: str
    tokens: list[Token]
    candidate: list[bool]
    excluded: list[str]  # per token: "" or why it is never a child ("title", "staff", "ignored")
    feats: dict[int, list[tuple[object, ...]]]  # mention start -> its feature groups (see Featurizer)
    ends: dict[int, int] = field(default_factory=dict)  # mention start -> its last word
    placed: list[int] | None = None  # the tokens with offsets (not shared lowercase words); None: not worked out


def _excluded(tokens: Sequence[Token], i: int, ctx: NameContext, reasons: Sequence[str], text: str = "",
              lists: bool = True) -> str:
    """Why ``tokens[i]`` is never a child's name ("" if it may be one); ``lists``: False when the segment has
    none of the plural nouns that make a list of names a list of things (``tok_is_listed_thing`` is then skipped)."""
    low = tokens[i].low
    if low in ctx.ignore:
        return "ignored"
    if i > 0:
        prev = tokens[i - 1]
        if prev.low.rstrip(".") in ADULT_TITLES and prev.shape != "lower":
            return "title"
        if i > 1 and len(prev.low) == 1 and tokens[i - 2].low.rstrip(".") in ADULT_TITLES:
            return "title"
        if reasons[i - 1] in ("title", "staff") and prev.shape == "cap" and tokens[i].shape == "cap" \
                and prev.end + 1 >= tokens[i].start:
            return reasons[i - 1]  # the surname of an adult: "Mrs Rachel Oduya"
    if low in RELIGIOUS_ALWAYS:
        return "religious"
    if i > 0 and tokens[i - 1].low in THING_BEFORE and tokens[i - 1].end + 1 == tokens[i].start \
            and (tokens[i - 1].shape == "cap" or tokens[i - 1].low in _NATURE_BEFORE):
        return "thing"  # "Storm Amy", "River Aire", "HMS Victory"; "storm Ciarán", "lake Bala" (not "team Ava")
    k = i
    while k + 1 < len(tokens) and tokens[k + 1].shape == "cap" and tokens[k + 1].end == tokens[k].end + 1 + len(tokens[k + 1].text) \
            and tokens[k + 1].low not in THING_AFTER and k - i < 2:
        k += 1
    if k + 1 < len(tokens) and tokens[k + 1].low in THING_AFTER and tokens[k + 1].shape == "cap" \
            and tokens[k + 1].start == tokens[k].end + 1:
        return "thing"  # "Willow Class", "Tudor Day", "Hexley Rangers", "Morgan Sindall Homes"
    if lists and text and tok_is_listed_thing(tokens, i, text):
        return "thing"  # "Oak and Maple classes", "Hazel, Rowan and Willow houses"
    if low in _FAMOUS_WORDS and _in_famous(tokens, i):
        return "well known"
    for phrase in ctx.staff:
        k = len(phrase)
        if low not in phrase:
            continue
        for s in range(max(0, i - k + 1), i + 1):
            if tuple(t.low for t in tokens[s: s + k]) == phrase:
                return "staff"
    return ""


def _punct(text: str, tok: Token, last: Token) -> tuple[str, str]:
    """The characters just before and after a word, spaces skipped: ',' '(' '!' ... or 'w' for a letter, '^' '$' for the ends."""
    k = tok.start - 1
    while k >= 0 and text[k] == " ":
        k -= 1
    b = "^" if k < 0 else ("w" if text[k].isalnum() else text[k])
    k = last.end + (2 if last.possessive else 0)
    while k < len(text) and text[k] == " ":
        k += 1
    a = "$" if k >= len(text) else ("w" if text[k].isalnum() else text[k])
    return b, a


LABEL_WORD_ZIPF = 25  # Zipf x10: words at least this common in English (see _label_word)
# The commonest Chinese, Korean and Vietnamese surnames, which are written before the given name ("Liu Yang",
# "Park Ji-woo", "Pham Minh"): many are common words to wordfreq ("park", "song", "huang"), never labels.
SURNAMES_WRITTEN_FIRST = frozenset("""wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo
zheng liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan cai jiang yu du ye cheng wei su lu ding
ren shen yao jin fu zhong wong chan cheung leung ho ng chow tsang lau kwok fong yip mak tam lam kim lee park choi jung
jeong kang cho yoon yun jang lim oh seo shin kwon hwang ahn an yoo ryu hong jeon go moon son bae baek nguyen tran le
pham hoang huynh phan vu vo dang bui do ngo duong ly""".split())


def _label_word(low: str, given: dict[str, int], zipf: dict[str, int]) -> bool:
    """A common English word that no child is given ("Shooters", "Goalkeeper", "Meet", "Wishing"): before a name
    it is a label, not the name's first word ("Shooters Amara" is Amara alone, not a full name). A surname
    written first ("Liu Yang") is no label."""
    return zipf.get(low, 0) >= LABEL_WORD_ZIPF and low not in SURNAMES_WRITTEN_FIRST \
        and not (given.get(low) or (given.get(_fold(low), 0) if not low.isascii() else 0))


def _hyphen_label(text: str, given: dict[str, int], zipf: dict[str, int]) -> bool:
    """A hyphenated word whose later parts are written in lowercase and one part of which is a label word
    ("Sixth-former", "Eco-captain", "Vice-captain"): a label before a name, not its first word. Not a double name
    ("Lily-mae": no part a label word) nor a double surname written first ("Mills-Hall Isla": capitalised parts)."""
    if "-" not in text:
        return False
    parts = text.split("-")
    return all(parts) and all(part[0].islower() for part in parts[1:]) \
        and any(_label_word(part.lower(), given, zipf) for part in parts)


def _name_first(low: str, given: dict[str, int], zipf: dict[str, int]) -> bool:
    """A lowercase word that is a name before it is a word, and may start a name with a capitalised surname
    ("harry Smith", "kacper Nowak"): a given name of 10,000 children or more, or of 1,000 or more and rarer than
    Zipf 4 as a word. Not "hero", "bow", "buddy", "queen" ("hero Priya Ramanathan" is Priya Ramanathan)."""
    g = given.get(low, 0)
    return g >= 5 or (g == 4 and zipf.get(low, 0) < 40)


def _cue_word(tok: Token, given: dict[str, int]) -> bool:
    """A cue word ("Pupil", "Coach") does not join a name; a given name that is also a word ("Faith") does."""
    return tok.low in _FAMILIES and given.get(tok.low, 0) < 3


def _as_english(tokens: list[Token], given: dict[str, int], zipf: dict[str, int]) -> list[Token]:
    """A Welsh segment's tokens, each Welsh word read as its English word (``low``); text and offsets unchanged."""
    read = _welsh.english_words([t.low for t in tokens], [t.shape != "lower" for t in tokens], [t.initial for t in tokens],
                                given, zipf)
    if not read:
        return tokens
    out = list(tokens)
    for k, low in read.items():
        t = tokens[k]
        out[k] = Token(t.text, low, t.start, t.end, t.shape, t.initial, t.hashtag, t.possessive, t.tagcue)
    return out


def read_post(segments: Sequence[tuple[str, str]], model: Model, ctx: NameContext | None = None) -> list[Segment]:
    """Tokens, candidates, exclusions and mentions with their feature groups, for each (where, text)
    segment of a post. Only the words that are not plain lowercase words are looked at one by one;
    the cue families around a mention are read when there is a mention."""
    ctx = ctx or NameContext()  # a school's extra_names: pass model.with_extra(ctx.extra) as ``model``
    given, zipf = model.given, model.zipf
    keep = model.lower_candidates
    cache = model.candidates
    read: list[Segment] = []
    pending: list[tuple[Segment, list[int], list[str]]] = []  # segments with candidates, where they are, the words
    words: set[str] = set()
    done: set[tuple[str, str]] = set()
    parts: list[tuple[str, str, list[Token], list[str]]] = []  # where, text, its tokens and their ``low``
    welsh_words = model.welsh_words
    maybe_welsh = False
    for where, raw in segments:
        if not raw or (where, raw) in done:
            continue  # three photos with the same alt text are read once
        done.add((where, raw))
        text = raw if raw.isascii() else clean(raw)
        tokens = tokenize(text, keep, model.shared_tokens)
        lows = [t.low for t in tokens]
        maybe_welsh = maybe_welsh or not welsh_words.isdisjoint(lows)
        parts.append((where, text, tokens, lows))
    if maybe_welsh and _welsh.is_welsh([w for part in parts for w in part[3]],
                                       [t.shape != "lower" for part in parts for t in part[2]], given, zipf):
        english: list[tuple[str, str, list[Token], list[str]]] = []  # a Welsh post read as English (checks/_welsh.py)
        for where, text, tokens, _ in parts:
            tokens = _as_english(tokens, given, zipf)
            english.append((where, text, tokens, [t.low for t in tokens]))
        parts = english
    for where, text, tokens, lows in parts:
        n = len(tokens)
        words.update(lows)
        cand = [False] * n
        found: list[int] = []
        placed = [k for k, t in enumerate(tokens) if t.start >= 0]
        for k in placed:  # shared lowercase tokens are no candidates
            t = tokens[k]
            if t.shape == "lower":
                ok = t.low in keep or is_candidate(t, given, zipf, model)
            elif t.tagcue:
                ok = is_candidate(t, given, zipf, model)
            else:
                cached = cache.get(t.low)
                if cached is None:
                    if len(cache) > Featurizer.MAX_CACHE:
                        cache.clear()
                    cached = cache[t.low] = is_candidate(t, given, zipf, model)
                ok = cached
            if ok:
                cand[k] = True
                found.append(k)
        reasons = [""] * n
        if found:
            lists = not _LIST_NOUNS.isdisjoint(lows)
            for k in found:
                reasons[k] = _excluded(tokens, k, ctx, reasons, text, lists)
        seg = Segment(where, text, tokens, cand, reasons, {}, placed=placed)
        read.append(seg)
        if found:
            pending.append((seg, found, lows))
    in_post: set[str] = set()
    for word in words & _POST_WORDS:
        in_post.update(_FAMILIES[word])
    post_cues = tuple(sorted(in_post & _POST_FAMILIES))
    bag = ("bag", frozenset(words))  # every word of the post (one key: its weight is summed once per post)
    families = _FAMILIES
    for seg, found, lows in pending:
        where = "alt" if seg.where == "alt text" else "text"
        toks = seg.tokens
        n = len(toks)
        fams = list(map(families.get, lows))
        sentence_of, sentences = sentence_families(toks, fams)
        after = -1
        for i in found:
            if i <= after or seg.excluded[i]:
                continue
            j = i
            while j + 1 < n and seg.candidate[j + 1] and not seg.excluded[j + 1] and _adjacent(toks, j, j + 1, seg) \
                    and not toks[j + 1].initial and not _cue_word(toks[j], given) and not _cue_word(toks[j + 1], given) \
                    and not (j == i and (_label_word(toks[i].low, given, zipf) or _hyphen_label(toks[i].text, given, zipf)
                                         or (toks[i].shape == "lower" and not _name_first(toks[i].low, given, zipf)))):
                j += 1
            seg.ends[i] = j
            seg.feats[i] = mention_keys(toks, fams, sentence_of, sentences, i, j, where, post_cues,
                                        _punct(seg.text, toks[i], toks[j]), seg.candidate, seg.excluded, lows)
            seg.feats[i].append(bag)
            after = j
    return read


@dataclass(frozen=True, slots=True)
class ChildName:
    """A child's name found in a post: the words as written (never shown), and what may be shown."""

    given: str
    surname: str
    where: str  # "text", "alt text", "hashtag"
    year: str = ""  # "Year 4", "Reception" when the text says so
    probability: float = 0.0
    cue: str = ""  # why: "after 'well done'", "year group", "alt text subject"

    @property
    def full(self) -> bool:
        return bool(self.surname)

    def masked(self) -> str:
        """'A*** T*** (Year 4)': only initials, so the report does not spread the name."""
        parts = [f"{self.given[:1].upper()}***"]
        if self.surname:
            parts.append(f"{self.surname[:1].upper()}***")
        out = " ".join(parts)
        return f"{out} ({self.year})" if self.year else out


_YEAR_AFTER = re.compile(r"(?:'s|’s)?[\s,(\-–]*(?:in\s+|from\s+)?(?:(?:year|yr)\s*(\d{1,2})|y(\d{1,2})\b|(reception|nursery)\b)", re.I)

# Features a reader can be told about, in the words of a finding.
_EXPLAINED = (
    ("year_after", "year group"), ("poss+work", "a possessive and a piece of work"), ("alt0", "alt text subject"),
    ("tagcue", "a cue hashtag"), ("L:child", "after '{left}'"), ("L:year", "year group"), ("R:year", "year group"),
    ("R:child", "before '{right}'"), ("len=2", "a given name and a surname"), ("tag", "a hashtag"),
)


@functools.lru_cache(maxsize=64)
def _explained(model: Model) -> tuple[tuple[str, str], ...]:
    """The explainable features that push towards a child, heaviest first (ties in _EXPLAINED's order)."""
    weighted = [(feat, words, model.weights.get(feat, 0.0)) for feat, words in _EXPLAINED]
    return tuple((feat, words) for feat, words, w in sorted(weighted, key=lambda x: -x[2]) if w > 0.0)


def _cue(seg: Segment, i: int, model: Model) -> str:
    feats: set[str] = set()
    head = ""
    for key in seg.feats.get(i, ()):
        kind = key[0]
        if kind == "flags":
            feats.update(map(str, key[1:]))
        elif kind == "L" or kind == "R":
            feats.update(f"{kind}:{fam}" for fam in key[2:])
        elif kind == "head":
            feats.add(f"len={key[5]}")
            head = str(key[1])
    best = next((words for feat, words in _explained(model) if feat in feats), "")  # the heaviest there
    if not best:
        return "a common given name" if head and model.featurizer.given_bucket(head) >= 3 else "the words around it"
    if "{left}" in best or "{right}" in best:
        toks = seg.tokens
        side = range(i - 1, max(-1, i - 5), -1) if "{left}" in best else range(i + 1, min(len(toks), i + 5))
        word = next((toks[k].low for k in side  # a plain lowercase word, never one that could be a name
                     if toks[k].shape == "lower" and not seg.candidate[k] and "child" in _FAMILIES.get(toks[k].low, ())), "")
        return best.format(left=word, right=word) if word else "a word said of children"
    return best


def child_names(read: Sequence[Segment], probs: Sequence[dict[int, float]], threshold: float,
                model: Model | None = None) -> list[ChildName]:
    """The children's names in a read post, given each mention's probability."""
    found: list[ChildName] = []
    seen: set[tuple[str, str]] = set()
    given_table, zipf = (model.given, model.zipf) if model is not None else tables()
    for seg, p in zip(read, probs, strict=True):
        toks = seg.tokens
        taken = -1  # the end of a surname found after a mention: a mention inside it is that surname
        for i, j in seg.ends.items():
            prob = p.get(i, 0.0)
            if prob < threshold or toks[i].start < taken:
                continue
            if j == i and j + 1 < len(toks) and _adjacent(toks, j, j + 1, seg) and not toks[j + 1].initial \
                    and _surname_shape(toks[j + 1], seg, j + 1):
                j += 1  # a surname too common a word to be a candidate: "Isla Brown"
            given = toks[i].text
            surname = toks[j].text if j > i else ""
            if surname and toks[i].low in _SURNAME_FIRST:  # "Ní Bhriain", "Van Dijk": one surname, not a full name
                given, surname = seg.text[toks[i].start:toks[j].end], ""
            if not surname and not toks[i].possessive and not toks[i].hashtag:
                surname, taken = _surname_after(seg.text, toks[i], zipf, given_table)
            key = (given.lower(), surname.lower())
            if key in seen:
                continue
            seen.add(key)
            m = _YEAR_AFTER.match(seg.text, toks[j].end)
            year = ""
            if m:
                year = f"Year {m.group(1) or m.group(2)}" if (m.group(1) or m.group(2)) else m.group(3).capitalize()
            where = "hashtag" if toks[i].hashtag else seg.where
            found.append(ChildName(given=given, surname=surname, where=where, year=year, probability=prob,
                                   cue=_cue(seg, i, model) if model is not None else ""))
    full = {n.given.lower() for n in found if n.surname}
    return [n for n in found if n.surname or n.given.lower() not in full]  # "Ava" in the alt text of "Ava Kowalczyk"


# Words between a given name and a surname: Irish, Scottish, Welsh, Dutch, Romance and Arabic particles, each
# followed by a space ("Ó Briain", "ap Iorwerth"; not the plain "O" of "Jack O Lantern" or "O Come").
_PARTICLES = ("Ó|Ní|Nic|Mac|Mc|Uí|Ua|Ap|ap|Ab|ab|ferch|verch|De|de|Da|da|Di|di|Du|du|Dos|dos|Das|das|Del|del|Van|van|"
              "Von|von|der|den|ter|Le|le|La|la|bin|bint|ibn|Al|al|El|el")
# Particles that begin a surname and that no child in England and Wales was given (not "Van", "Le", "De", "Al",
# "Mac"...: "Van Tran", "Le Roy Campbell"): a mention that starts with one is a surname alone ("Player of the
# match: Ní Bhriain"), not a given name and a surname.
_SURNAME_FIRST = frozenset("ó ní nic uí ua ap ab dos von bin ibn bint".split())  # none of them in given_names.tsv
_PARTICLE_SURNAME = re.compile(rf" ((?:(?:{_PARTICLES}) )+)([^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*)")
_LOWER_SURNAME = re.compile(rf" ((?:(?:{_PARTICLES.lower()}) )*)([^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*)(?![\w'’\-])")
LOWER_SURNAME_ZIPF = 25  # a plain lowercase word is a surname only when rarer than Zipf 2.5 ("okafor", not "netball")
SURNAME_PART_ZIPF = 35  # one part of a hyphenated surname rarer than this ("okafor-reid"; not "well-known", "tie-dye")
PARTICLE_SURNAME_ZIPF = 45  # the word after a particle is no common word ("de Búrca"; not "Noel O Come")


def _lower_surname(low: str, zipf: dict[str, int], given: dict[str, int]) -> bool:
    """Whether a lowercase word after a lowercase given name is a surname: name-shaped ("o'brien", "mcbride",
    "campbell-brown"), a given name that is no common word ("ahmed"), or too rare a word to be one ("okafor",
    "osei"), and never a cue, nor a verb's -s, -ing or -ed form ("paints", "shouted")."""
    if low in _FAMILIES or low in THING_AFTER:
        return False
    if low.startswith(("o'", "mc")) and len(low) > 3:
        return True
    if "-" in low:
        parts = [p for p in low.split("-") if p]
        return len(parts) > 1 and zipf.get(low, 0) < LOWER_SURNAME_ZIPF \
            and any(zipf.get(p, 0) < SURNAME_PART_ZIPF and len(p) > 1 for p in parts)
    if given.get(low, 0) and zipf.get(low, 0) < 45:
        return True
    if zipf.get(low, 0) >= LOWER_SURNAME_ZIPF or low.endswith(("ing", "ly", "ed")):
        return False
    for stem in (low[:-1], low[:-2]) if low.endswith("s") else ():  # "hops", "sketches": a word's -s form
        if zipf.get(stem, 0) and not given.get(stem, 0):
            return False
    return True


def _surname_after(text: str, tok: Token, zipf: dict[str, int], given: dict[str, int]) -> tuple[str, int]:
    """A surname straight after the given name ``tok`` that the candidates did not join to it, and where it
    ends; ("", -1) if there is none. After particles ("Oisín Ó Briain", "Iestyn ap Dafydd", "Róisín de Búrca"),
    a capitalised word that is no common word; after a lowercase given name, a lowercase surname
    (``_lower_surname``: "rehan ahmed", "lily o'brien", "keisha campbell-brown"; not "jack today", "amelia
    netball", "ava paints"). Every pattern here is linear in the text: particles end at a space."""
    if tok.shape == "lower":
        m = _LOWER_SURNAME.match(text, tok.end)
        if m is None or not m.group(2).islower():
            return "", -1
        word = m.group(2)
        if not _lower_surname(word.replace("’", "'"), zipf, given):
            return "", -1
        return (m.group(1) + word).strip(), m.end()
    if tok.shape != "cap":
        return "", -1
    m = _PARTICLE_SURNAME.match(text, tok.end)
    if m is None or not m.group(2)[0].isupper() or m.group(2).lower() in _FAMILIES \
            or zipf.get(m.group(2).lower(), 0) >= PARTICLE_SURNAME_ZIPF:
        return "", -1
    return (m.group(1) + m.group(2)).strip(), m.end()


def _adjacent(toks: Sequence[Token], a: int, b: int, seg: Segment) -> bool:
    """Tokens ``a`` and ``b`` could be one name's words: one space apart, neither excluded, same hashtag state."""
    ta, tb = toks[a], toks[b]
    return (not seg.excluded[a] and not seg.excluded[b] and ta.hashtag == tb.hashtag and not ta.possessive
            and tb.start - ta.end == 1 and seg.text[ta.end] == " " and tb.shape in ("cap", "upper")
            and (ta.shape != "upper" or tb.shape == "upper"))  # "MVP Adebola", "GK Vasquez": a label, then a name


def _surname_shape(tok: Token, seg: Segment, i: int) -> bool:
    """A capitalised word too common to be a candidate may still be a surname ("Isla Brown")."""
    return not seg.candidate[i] and not seg.excluded[i] and tok.shape == "cap" and tok.low not in THING_AFTER and len(tok.low) > 2 \
        and tok.low not in _FAMILIES


def score_post(read: Sequence[Segment], model: Model) -> list[dict[int, float]]:
    return [{i: model.score(f) for i, f in seg.feats.items()} for seg in read]


def names_a_person(read: Sequence[Segment], model: Model) -> bool:
    """Whether a person is named in the post (a date of birth needs one beside it): a capitalised word
    inside a sentence that at least 100 children were given (not a month or a day), or a name after an
    adult's title ("Mr Kowalczyk")."""
    given = model.given
    for seg in read:
        toks, why = seg.tokens, seg.excluded
        for k in range(len(toks)) if seg.placed is None else seg.placed:  # shared lowercase words: never "cap"
            t = toks[k]
            if t.shape == "cap" and ((not t.initial and given.get(t.low, 0) >= 3 and t.low not in _CALENDAR_WORDS)
                                     or why[k] == "title"):
                return True
    return False


_CALENDAR_WORDS = frozenset("""january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday christmas easter""".split())
