"""Children's names in post text: candidates, features and a trained decision (infrastructure for named_children).

How a post is read:

1. **Tokens** (:func:`tokenize`): words with their offsets, letter case, place in the sentence,
   hashtag parts (``#WellDoneAva`` -> ``Well`` ``Done`` ``Ava``), possessives. Links, email addresses
   and @handles are blanked first: they are accounts and addresses, not names.
2. **Candidates**: every word that could be a person's name. A capitalised word is one unless it is
   a very common English word that no child in England and Wales is called ("The", "Year",
   "Science"); a lowercase word is one when it is a given name and not a very common word
   ("jack", "mia"; not "will", "may"). Initials are never candidates (they identify nobody).
3. **Features** (:func:`features`): how common the word is as a given name among children born in
   England and Wales since 1996 (ONS) and as an English word (wordfreq), its case and position, the
   words on either side, and cue families around it (child cues and year groups, adult roles,
   organisations, animals, religious and story context, greetings), whether it is part of a
   well-known person's name, a surname after a given name, a possessive followed by a piece of work.
4. **Decision**: a logistic regression trained on labelled school posts (``python -m
   socialaudit.name_training``) gives each candidate the probability that it names a child; at or
   above the shipped threshold it is a child's name. Hard exclusions stay rules, documented: a word
   after a title (Mrs, Fr, Coach, ...) and the school's staff list.
5. **Mentions**: adjacent capitalised words of one person ("Isla Pennington") make one mention; a
   mention with a given name and a surname is a full name.

Everything the decision needs ships in ``checks/data/``: the weights (``name_model.json``) and two
derived tables (``given_names.tsv`` from the ONS, ``word_zipf.tsv`` from wordfreq; see
``checks/data/README.md`` for their licences). Nothing is read from ``../shared`` at run time.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

from checks._names import (BIBLICAL, FAMOUS, FICTIONAL_SINGLE, RELIGIOUS_ALWAYS, TITLES, _RELIGIOUS_CONTEXT, _fold,
                           _starts_sentence)

DATA = "data"

# --- cue families: words whose presence near a candidate is a feature -------------------------

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CUES: dict[str, frozenset[str]] = {
    "child": _words("""well done congratulations congrats bravo superstar superstars star pupil pupils student students
        proud certificate award awarded winner winners won scored goal goals try tries wicket runs
        medal champion champions head boy girl boys girls learner learners reader writer mathematician
        scientist artist athlete captain prefect prefects ambassador ambassadors councillors council
        birthday aged age son daughter brother sister twins twin child children kid kids his her"""),
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
        partner husband wife welcome welcomed joined joining thank thanks"""),
    "org": _words("""ltd limited plc llp inc co company companies trust foundation charity charities appeal
        supermarket supermarkets shop shops store stores bakery bakers butchers garage homes housebuilder
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
}
_FAMILIES: dict[str, tuple[str, ...]] = {}
for _fam, _members in CUES.items():
    for _w in _members:
        _FAMILIES[_w] = (*_FAMILIES.get(_w, ()), _fam)
# Words before a capitalised word that make it a thing's name ("Storm Amy", "HMS Victory", "River Aire").
THING_BEFORE = _words("storm hurricane hms river mount lake team house class ysgol fc")
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
_YEAR_TOKEN = re.compile(r"^(?:y|yr|year|u)\d{1,2}s?$|^(?:reception|nursery|ks[1-4]|p[1-7]|eyfs)$")
_FAMOUS_WORDS = frozenset(w for phrase in FAMOUS for w in phrase)

# --- tokens ----------------------------------------------------------------------------------

_WORD = re.compile(r"#?[^\W\d_](?:[^\W_]|['’][^\W\d_]|-[^\W\d_])*", re.UNICODE)
_CAMEL = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+")
_LINKS = re.compile(r"https?://\S+|www\.\S+")
_ADDRESSES = re.compile(r"[\w.+-]*@[\w-]*(?:\.[\w-]+)*")  # email addresses and @handles
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


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with offsets; CamelCase hashtags become their words (offsets inside the tag)."""
    tokens: list[Token] = []
    append = tokens.append
    if "http" in text or "www." in text:
        text = _LINKS.sub(_blank, text)
    if "@" in text:
        text = _ADDRESSES.sub(_blank, text)
    for match in _WORD.finditer(text):
        word = match.group()
        start = match.start()
        if word[0] == "#":
            body = word[1:]
            if body.islower() or body.isupper():
                low = body.lower()
                for cue in _TAG_CUES:
                    if low.startswith(cue) and len(low) > len(cue) + 1:
                        rest = body[len(cue):]
                        append(Token(rest, rest.lower(), start + 1 + len(cue), match.end(), "cap", False, True, False, True))
                        break
                else:
                    append(Token(body, low, start + 1, match.end(), _shape(body), True, True))
                continue
            offset = start + 1
            for n, part in enumerate(_CAMEL.findall(body)):
                at = body.find(part, offset - start - 1) + start + 1
                offset = at + len(part)
                append(Token(part, part.lower(), at, offset, _shape(part), n == 0, True))
            continue
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
        append(Token(bare, bare.lower().replace("’", "'"), start, start + len(bare), shape, initial, False, possessive))
    return tokens


# --- tables and weights ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
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

    def score(self, feats: Iterable[str]) -> float:
        weights = self.weights
        z = self.bias
        for f in feats:
            w = weights.get(f)
            if w is not None:
                z += w
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


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


def model_from(payload: dict[str, object], given: dict[str, int], zipf: dict[str, int]) -> Model:
    weights = payload["weights"]
    assert isinstance(weights, dict)
    return Model(given=given, zipf=zipf, weights={str(k): float(v) for k, v in weights.items()},
                 bias=float(payload["bias"]), threshold=float(payload["threshold"]),  # type: ignore[arg-type]
                 cap_zipf_max=int(payload["cap_zipf_max"]), lower_zipf_max=int(payload["lower_zipf_max"]),  # type: ignore[call-overload]
                 lower_given_min=int(payload["lower_given_min"]))  # type: ignore[call-overload]


@functools.cache
def load_model() -> Model:
    """The shipped model (``checks/data/name_model.json``), once per process."""
    given, zipf = tables()
    return model_from(json.loads(_read("name_model.json")), given, zipf)


DEFAULT_LIMITS = {"cap_zipf_max": 50, "lower_zipf_max": 50, "lower_given_min": 3}


# --- candidates and features -------------------------------------------------------------------

def is_candidate(tok: Token, given: dict[str, int], zipf: dict[str, int], limits: Model | dict[str, int]) -> bool:
    """Whether ``tok`` could be a person's name (see the module's docstring)."""
    low = tok.low
    if len(low) < 2 or low[-1] == ".":
        return False
    get = limits.__getitem__ if isinstance(limits, dict) else limits.__getattribute__
    g = given.get(low) or given.get(_fold(low), 0)
    if tok.shape == "lower":
        return g >= get("lower_given_min") and zipf.get(low, 0) < get("lower_zipf_max")
    if tok.tagcue:
        return True
    return bool(g) or zipf.get(low, 0) < get("cap_zipf_max") or "-" in low


def _bucket_z(z: int) -> str:
    return str(min(z // 10, 7))


def _lexical(tok: Token, given: dict[str, int], zipf: dict[str, int], prefix: str) -> tuple[list[str], int]:
    """Features of one word of a mention: the word, how common as a given name and as a word, its shape."""
    low = tok.low
    g = given.get(low) or given.get(_fold(low), 0)
    hyph = ""
    if "-" in low:
        parts = low.split("-")
        if not g:
            g = min((given.get(p, 0) for p in parts), default=0)
        hyph = "hn" if g else "hx"
    zf = _bucket_z(zipf.get(low, 0))
    pos = "i" if tok.initial else "m"
    f = [f"{prefix}w={low}", f"{prefix}g={g}", f"{prefix}z={zf}", f"{prefix}gz={g}{zf}", f"{prefix}s={tok.shape}{pos}",
         f"{prefix}sg={tok.shape}{pos}{g}"]
    if hyph:
        f.append(f"{prefix}hy={hyph}")
    if not g and len(low) > 4:
        f.append(f"{prefix}suf={low[-3:]}")
    return f, g


def features(tokens: Sequence[Token], i: int, j: int, where: str, post_cues: frozenset[str], given: dict[str, int],
             zipf: dict[str, int], punct: tuple[str, str] | None = None) -> list[str]:
    """The features of the mention ``tokens[i..j]`` (one word, or a given name and a surname);
    ``where`` is "text" or "alt"; ``post_cues`` are the cue families anywhere in the post."""
    tok = tokens[i]
    last = tokens[j]
    n = len(tokens)
    f, g = _lexical(tok, given, zipf, "")
    zf = _bucket_z(zipf.get(tok.low, 0))
    pos = "i" if tok.initial else "m"
    f += [f"sz={tok.shape}{pos}{zf}", f"at={where}{pos}", f"len={min(j - i + 1, 3)}"]
    if j > i:
        lf, lg = _lexical(last, given, zipf, "l")
        f += lf
        f.append(f"gl={g}{lg}")
    if tok.hashtag:
        f.append("tag" if not tok.tagcue else "tagcue")
    if last.possessive:
        f.append("poss")
        if j + 1 < n and tokens[j + 1].low in CREATIONS:
            f.append("poss+work")
    if where == "alt" and i == 0:
        f.append("alt0")
    # neighbours: the words, their cue families, case and frequency; the characters either side
    if i > 0:
        p = tokens[i - 1]
        f.append(f"p1={p.low}")
        f.extend(f"p1f:{fam}" for fam in _FAMILIES.get(p.low, ()))
        f.append(f"p1s={p.shape}")
        if p.shape == "lower" and len(p.low) > 3:
            f.append(f"p1suf={p.low[-2:]}")
            f.append(f"p1suf_len={p.low[-2:]}{min(j - i + 1, 2)}")
        if p.low.rstrip(".") in TITLES:
            f.append("title")
        if p.low in THING_BEFORE:
            f.append("thing_before")
        if i > 1:
            f.append(f"p2={tokens[i - 2].low}")
            f.extend(f"p2f:{fam}" for fam in _FAMILIES.get(tokens[i - 2].low, ()))
    else:
        f.append("p1=^")
    if j + 1 < n:
        q = tokens[j + 1]
        f.append(f"n1={q.low}")
        f.extend(f"n1f:{fam}" for fam in _FAMILIES.get(q.low, ()))
        f.append(f"n1s={q.shape}{_bucket_z(zipf.get(q.low, 0))}")
        if q.shape == "lower" and len(q.low) > 3:
            f.append(f"n1suf={q.low[-2:]}")
        if q.low in THING_AFTER and q.shape == "cap":
            f.append("thing_after")
        if _YEAR_TOKEN.match(q.low) or (q.low in ("in", "from") and j + 2 < n and _YEAR_TOKEN.match(tokens[j + 2].low)):
            f.append("year_after")
        if j + 2 < n:
            f.append(f"n2={tokens[j + 2].low}")
    else:
        f.append("n1=$")
    if punct is not None:
        b, a = punct
        f.append(f"cb={b}")
        f.append(f"ca={a}")
    # cue families in a window, left and right, in the sentence and in the post
    for side, lo, hi in (("L", max(0, i - 4), i), ("R", j + 1, min(n, j + 5))):
        seen: set[str] = set()
        for k in range(lo, hi):
            fams = _FAMILIES.get(tokens[k].low)
            if fams:
                seen.update(fams)
        f.extend(f"{side}:{fam}" for fam in sorted(seen))
    for fam in post_cues:
        f.append(f"P:{fam}")
    lo = i
    while lo > 0 and not tokens[lo].initial:
        lo -= 1
    hi = j + 1
    while hi < n and not tokens[hi].initial:
        hi += 1
    sentence: set[str] = set()
    for k in range(lo, hi):
        if not i <= k <= j:
            fams = _FAMILIES.get(tokens[k].low)
            if fams:
                sentence.update(fams)
    f.extend(f"S:{fam}" for fam in sorted(sentence))
    low = tok.low
    if low in FICTIONAL_SINGLE:
        f.append("fictional")
    if low in BIBLICAL:
        f.append("biblical")
    return f


def _in_famous(tokens: Sequence[Token], i: int) -> bool:
    low = tokens[i].low
    for phrase in FAMOUS:
        if low not in phrase:
            continue
        at = phrase.index(low)
        s = i - at
        if s >= 0 and tuple(t.low for t in tokens[s: s + len(phrase)]) == phrase:
            return True
    return False


def post_cue_families(segments: Sequence[Sequence[Token]]) -> frozenset[str]:
    fams: set[str] = set()
    for toks in segments:
        for t in toks:
            got = _FAMILIES.get(t.low)
            if got:
                fams.update(got)
    return frozenset(fams & _POST_FAMILIES)


_POST_FAMILIES = frozenset(("religious", "animal", "story"))


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
    feats: dict[int, list[str]]  # mention start -> features (candidates not excluded)
    ends: dict[int, int] = field(default_factory=dict)  # mention start -> its last word


def _excluded(tokens: Sequence[Token], i: int, ctx: NameContext, reasons: Sequence[str]) -> str:
    low = tokens[i].low
    if low in ctx.ignore:
        return "ignored"
    if i > 0:
        prev = tokens[i - 1]
        if prev.low.rstrip(".") in TITLES and prev.shape != "lower":
            return "title"
        if i > 1 and len(prev.low) == 1 and tokens[i - 2].low.rstrip(".") in TITLES:
            return "title"
        if reasons[i - 1] in ("title", "staff") and prev.shape == "cap" and tokens[i].shape == "cap" \
                and prev.end + 1 >= tokens[i].start:
            return reasons[i - 1]  # the surname of an adult: "Mrs Rachel Oduya"
    if low in RELIGIOUS_ALWAYS:
        return "religious"
    if i > 0 and tokens[i - 1].low in THING_BEFORE and tokens[i - 1].shape == "cap" and tokens[i - 1].end + 1 == tokens[i].start:
        return "thing"  # "Storm Amy", "River Aire", "HMS Victory"
    k = i
    while k + 1 < len(tokens) and tokens[k + 1].shape == "cap" and tokens[k + 1].end == tokens[k].end + 1 + len(tokens[k + 1].text) \
            and tokens[k + 1].low not in THING_AFTER and k - i < 2:
        k += 1
    if k + 1 < len(tokens) and tokens[k + 1].low in THING_AFTER and tokens[k + 1].shape == "cap" \
            and tokens[k + 1].start == tokens[k].end + 1:
        return "thing"  # "Willow Class", "Tudor Day", "Hexley Rangers", "Morgan Sindall Homes"
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


def _cue_word(tok: Token, given: dict[str, int]) -> bool:
    """A cue word ("Pupil", "Coach") does not join a name; a given name that is also a word ("Faith") does."""
    return tok.low in _FAMILIES and given.get(tok.low, 0) < 3


def read_post(segments: Sequence[tuple[str, str]], model: Model, ctx: NameContext | None = None) -> list[Segment]:
    """Tokens, candidates, exclusions and features for each (where, text) segment of a post."""
    ctx = ctx or NameContext()
    given, zipf = model.given, model.zipf
    if ctx.extra:
        given = {**given, **{w: 5 for w in ctx.extra}}
    read: list[Segment] = []
    for where, text in segments:
        if not text:
            continue
        tokens = tokenize(text)
        cand = [is_candidate(t, given, zipf, model) for t in tokens]
        reasons = [""] * len(tokens)
        for i, ok in enumerate(cand):
            if ok:
                reasons[i] = _excluded(tokens, i, ctx, reasons)
        read.append(Segment(where, text, tokens, cand, reasons, {}))
    post_cues = post_cue_families([s.tokens for s in read])
    for seg in read:
        where = "alt" if seg.where == "alt text" else "text"
        toks = seg.tokens
        n = len(toks)
        i = 0
        while i < n:
            if not seg.candidate[i] or seg.excluded[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and seg.candidate[j + 1] and not seg.excluded[j + 1] and _adjacent(toks, j, j + 1, seg) \
                    and not toks[j + 1].initial and not _cue_word(toks[j], given) and not _cue_word(toks[j + 1], given):
                j += 1
            seg.ends[i] = j
            seg.feats[i] = features(toks, i, j, where, post_cues, given, zipf, _punct(seg.text, toks[i], toks[j]))
            i = j + 1
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


def _cue(seg: Segment, i: int, model: Model) -> str:
    feats = set(seg.feats.get(i, ()))
    best, best_w = "", 0.0
    for feat, words in _EXPLAINED:
        w = model.weights.get(feat, 0.0)
        if feat in feats and w > best_w:
            best, best_w = words, w
    if not best:
        g = next((f for f in feats if f.startswith("g=")), "g=0")
        return "a common given name" if int(g[2:]) >= 3 else "the words around it"
    if "{left}" in best or "{right}" in best:
        toks = seg.tokens
        side = range(i - 1, max(-1, i - 5), -1) if "{left}" in best else range(i + 1, min(len(toks), i + 5))
        word = next((toks[k].text for k in side if "child" in _FAMILIES.get(toks[k].low, ())), "")
        return best.format(left=word, right=word) if word else "a word said of children"
    return best


def child_names(read: Sequence[Segment], probs: Sequence[dict[int, float]], threshold: float,
                model: Model | None = None) -> list[ChildName]:
    """The children's names in a read post, given each mention's probability."""
    found: list[ChildName] = []
    seen: set[tuple[str, str]] = set()
    for seg, p in zip(read, probs):
        toks = seg.tokens
        for i, j in seg.ends.items():
            prob = p.get(i, 0.0)
            if prob < threshold:
                continue
            if j == i and j + 1 < len(toks) and _adjacent(toks, j, j + 1, seg) and not toks[j + 1].initial \
                    and _surname_shape(toks[j + 1], seg, j + 1):
                j += 1  # a surname too common a word to be a candidate: "Isla Brown"
            given = toks[i].text
            surname = toks[j].text if j > i else ""
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
    return found


def _adjacent(toks: Sequence[Token], a: int, b: int, seg: Segment) -> bool:
    """Tokens ``a`` and ``b`` could be one name's words: one space apart, neither excluded, same hashtag state."""
    ta, tb = toks[a], toks[b]
    return (not seg.excluded[a] and not seg.excluded[b] and ta.hashtag == tb.hashtag and not ta.possessive
            and tb.start - ta.end == 1 and seg.text[ta.end] == " " and tb.shape in ("cap", "upper"))


def _surname_shape(tok: Token, seg: Segment, i: int) -> bool:
    """A capitalised word too common to be a candidate may still be a surname ("Isla Brown")."""
    return not seg.candidate[i] and not seg.excluded[i] and tok.shape == "cap" and tok.low not in THING_AFTER and len(tok.low) > 2 \
        and tok.low not in _FAMILIES


def score_post(read: Sequence[Segment], model: Model) -> list[dict[int, float]]:
    return [{i: model.score(f) for i, f in seg.feats.items()} for seg in read]


def names_a_person(read: Sequence[Segment], model: Model) -> bool:
    """Whether any capitalised given name is in the post (a date of birth needs a person beside it)."""
    given = model.given
    return any(t.shape == "cap" and t.low in given for seg in read for t in seg.tokens)
