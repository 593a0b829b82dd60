"""Finding children's names and personal information in post text (infrastructure for named_children).

Two layers, kept apart so each can be measured on its own:

* :func:`find_names` is the *raw name finder*: which tokens of a text are a person's given name
  (plus a following surname, when there is one). It knows given names, letter case, hashtags,
  hyphenated and possessive forms, and ordinary words that are also names (``grace``, ``may``,
  ``will``), which count only when the context makes them a name ("well done Grace", "Grace in
  Year 3", "Jack, Grace and Mia").
* :func:`analyse` applies the policy's exclusions on top: adults with a title ("Mrs Grace Hill"),
  the school's staff list, saints and religious figures ("St Joseph", "Mary" in a Nativity post),
  well-known, historical and fictional people ("Florence Nightingale", "Harry Potter"), class and
  place names ("Willow Class", "Holly Lodge"), and finds the other personal information (mobile
  numbers, personal email addresses, home addresses and postcodes, dates of birth).

Where the given names come from: ``gender-guesser``'s ``nam_dict.txt`` (Jörg Michael's name
dictionary, GFDL), which gives each of ~48,000 names a frequency from 1 (rare) to 13 per country.

* **British and Irish names** (frequency >= 1 in the Great Britain or Ireland column, ~2,500 names)
  count in any letter case: ``well done jack and mia``.
* **Every other name in the dictionary** (~43,000 names from its other 53 countries: Muhammad,
  Aisha, Oliwia, Priya...) counts only when written with a capital inside a sentence, or in a
  name context. Children in British schools carry these names; the GB/IE columns date from 2008
  and alone recognise under half of the babies born in England and Wales in 2022-2024, while
  matching them in lowercase would turn thousands of English words into names.

The tables are parsed once per process (``functools.cache``, about 0.3 s), never per post.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

# --- word lists ------------------------------------------------------------------------------

TITLES = frozenset(
    "mr mrs miss ms mx dr fr father rev revd reverend canon deacon sister brother bishop archbishop pope "
    "cllr councillor pc sgt sergeant inspector sir dame lord lady prof professor st saint sr br mgr monsignor "
    "king queen prince princess captain capt coach chef nurse officer prophet auntie aunty uncle mister "
    "madam headteacher head governor rabbi imam pcso vicar rector chaplain pastor firefighter".split()
)

# Ordinary English words that are also given names: a name only when the context says so.
AMBIGUOUS = frozenset(
    """
    al ap abbey amber angel april archer art august autumn avon basil bay bell belle berry bet bill birch
    bob bonny brook brooke buck bud cain cal cam candy carol carr cass chance chase cherry christian clay
    clement cliff con coral crystal daisy dale dawn dean dee del des destiny di dick dolly don dot dove
    drew duke dusty ear earl earnest eden ed eve faith fanny fawn fay fern frank gay gale gene ger gill
    glen glory golden grace grant gray guy hal harmony hay hazel heath heather hew holly honey honor hope
    hunter iris ivy jack jade jan jay jewel jock jolly joy june kay key kit lake lance laurel lean lear lee
    len liberty lily lincoln loy mac mack major marina march mare mark marshall mason matt max may mel
    melody mercy merry miles misty mo mon nan nat nest nick noble noel non olive ora pat patience peace
    pearl peg penny pepper per pip pol poppy precious price queenie rain ray reed reg rex rich river robin
    rock rod rose rosemary ross rowan roy royal ruby rush rusty sage sandy scot serenity shell sherry sky
    skye sol sonny star sterling stirling storm sue summer sunny tad tam ted tiger tip ty una unity val
    valentine vic victor violet walker wren win will willow winter wolf worth york
    paris sydney chelsea devon kent dallas denver jordan georgia india kerry shannon carlton preston clyde
    derry tyrone florence charity verity felicity trinity christy marvel bishop canon deacon
    """.split()
)

# Surnames in the dictionary's given-name list: as a bare word they are someone's surname.
SURNAME_LIKE = frozenset(
    """
    anderson armstrong baird baxter burton campbell chalmers chisholm clark clarke cooper crawford
    cunningham davidson davis dawson drummond ferguson fletcher forbes hamilton harris harrison henderson
    jackson johnson johnston jones livingstone matheson menzies mitchell morris morrison munro murray
    nelson parry powell robertson sinclair stafford stanford sutherland wilson williams taylor brown smith
    """.split()
)

# Words that are never a child's name in a school post, though some are in the dictionary.
STOP = frozenset(
    """
    a an and the of to in on at for by with from as is are was were be been it its this that these those
    we our us you your they their he she his her him i me my all any some no not so but or if then than
    well done very great good fab fabulous amazing brilliant super fantastic wonderful lovely happy
    today tomorrow yesterday tonight morning afternoon evening week weekend month term year years yr
    monday tuesday wednesday thursday friday saturday sunday january february april june july august
    september october november december jan feb mar apr jun jul aug sep sept oct nov dec
    school schools primary academy college nursery reception class classes pupil pupils children child
    student students parent parents family families carers staff team teacher teachers governors pta
    trust church parish diocese catholic christian cathedral chapel hall house street road lane avenue
    close drive way park garden gardens green centre center museum library farm wood woods forest lodge
    field fields court place square hill mount bridge cross gate end row walk terrace crescent grove
    maths math science english history geography art music drama dance pe re computing french spanish
    german latin phonics reading writing spelling sports sport football netball rugby cricket hockey
    tennis swimming gym athletics choir orchestra band club clubs fair fete fayre concert service mass
    assembly play production show disco party trip visit visitors residential camp festival celebration
    christmas easter advent lent harvest halloween diwali eid hanukkah ramadan pentecost epiphany
    nativity remembrance bonfire pancake world book day night days nights national international
    ks1 ks2 ks3 ks4 eyfs sen send sendco senco ofsted sats gcse gcses ofsted uk gb england wales scotland
    ireland britain british english welsh scottish irish european london manchester birmingham leeds
    liverpool york bristol lunch breakfast menu uniform kit homework news newsletter update reminder
    please thanks thank congratulations congrats welcome hello hi goodbye bye dear love best wishes
    star stars award awards winner winners champion champions captain captains certificate certificates
    new old big little first second third last next every each many more most much other another own
    one two three four five six seven eight nine ten hundred thousand
    here there come came just red odd anti do does did can could even sad windy spring silver trees roman
    romans stone age moon sun sunshine africa asia america europe france kenya made take took go went santa
    panto what who why how when where which while also plus only still fun look see saw seen read watch
    find share follow like love enjoy enjoyed join bring remember wear keep stay safe let lets time got get
    make give gave sent raised donated collected collection food bank appeal presents gifts elf elves
    reindeer snowman tree lights carols piano violin guitar drums ukulele recorder steel such lots huge
    busy proud delighted pleased excited thrilled sorry important urgent notice latest info information
    details click visit everyone everybody nobody both few several final finally after before during
    dinner half black white blue green yellow orange purple pink grey gold bronze beach castle theatre
    cinema pool playground allotment pond flowers seeds plants animals dogs cats birds chicks eggs ducks
    butterflies caterpillars frogs tadpoles worms snails bugs insects vikings saxons tudors victorians
    egyptians greeks space planets rockets volcano volcanoes rivers mountains oceans rainforest desert
    arctic antarctica australia china japan spain italy germany poland brazil mexico canada peru egypt
    greece rome berlin madrid has have had will would should must may might shall am being having
    about above across again against along among around because below beside between beyond down into
    near off out over through under until up upon within without yes ok okay oh wow hooray yay
    always never often sometimes soon now later early late together alone around away back home
    boys girls men women man woman people friends friend everyone mum mums dad dads grandparents nan
    baby babies toddlers kids help helping helped learn learning learned learnt work working worked
    play playing played sing singing sang dance dancing danced paint painting painted draw drawing drew
    build building built cook cooking cooked bake baking baked plant planting planted grow growing grew
    explore exploring explored design designing designed create creating created perform performing
    performed practise practising practice win winning won lose lost race races match matches game games
    goal goals points score scored medal medals trophy cup league tournament heat final semi
    co com org net www http https html php htm asp
    save donate
    """.split()
) - AMBIGUOUS  # "will", "may", "june": names when the context says so

# Name context around a word.
_PREFIX_CUES = (
    ("well", "done"), ("done",), ("done", "to"), ("congratulations",), ("congratulations", "to"), ("congrats",), ("congrats", "to"),
    ("thank", "you", "to"), ("thanks", "to"), ("shout", "out", "to"), ("shoutout", "to"), ("well", "played"),
    ("happy", "birthday"), ("happy", "birthday", "to"), ("good", "luck"), ("good", "luck", "to"), ("goes", "to"),
    ("awarded", "to"), ("presented", "to"), ("of", "the", "week"), ("of", "the", "week", "is"), ("bravo",),
    ("pupil",), ("pupils",), ("student",), ("students",), ("captain",), ("captains",), ("winner",),
    ("winners",), ("superstar",), ("superstars",), ("our", "very", "own"), ("proud", "of"),
)
# What children make and do, after a possessive: "Daisy's drawing".
_CREATIONS = frozenset("drawing painting poem story model work artwork picture project design writing letter "
                       "sculpture collage speech reading performance question idea invention experiment "
                       "certificate award medal trophy goal".split())
# Verbs that follow a child's name at the start of a sentence: "Layla wrote ...", "Yusuf and his team".
_NAME_VERBS = frozenset("holding showing wearing smiling standing sitting receiving presenting reading writing "
                        "playing singing dancing running celebrating collecting accepting painting building "
                        "read wrote won scored made built painted drew sang played ran showed shared performed "
                        "led gave has had was is did helped completed achieved received earned designed created "
                        "presented swam danced cooked baked took came joined brought told asked explained loved "
                        "enjoyed finished raised learned learnt reached passed climbed walked".split())
# Words after a name that make it a topic or a thing, not a person: "Tudor day", "Sherwood topic".
_TOPIC_NOUNS = frozenset("day days topic week costume costumes times era period style food house houses class "
                         "museum castle forest road street estate era kings queens history village".split())
# Words that, seen anywhere in a text, mean a cue may be present (the fast path's test).
_CUE_WORDS = frozenset(w for cue in _PREFIX_CUES for w in cue if w not in ("to", "you", "the", "of", "is", "our", "out",
                                                                           "well", "good", "happy", "very"))
# After a word: a year group ("in Year 3", "(Y4)", "aged 7") or a possessive and a piece of work.
_CONTEXT_AFTER = re.compile(r"(?:'s|’s|')?[\s,(\-–]*(?:in\s+|from\s+)?(?:year|yr|y\d|reception|nursery|aged|age|ks[12]|p[1-7])\b"
                            r"|(?:'s|’s|')\s+(?:" + "|".join(sorted(_CREATIONS)) + r")\b")
_HYPHENATED = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
_AFTER_CUE = re.compile(r"\b[\s,:;!.-]+(?:to\s+|is\s+)?[A-Z]")  # what follows a cue word: a capital
_YEAR_WORDS = frozenset(("year", "yr", "reception", "nursery", "aged", "age", "ks1", "ks2"))
_YEAR_DIGITS = re.compile(r"\b[yYpP]\d")
# The cues after which even a word the dictionary lacks is taken for a child's name.
_CHILD_CUES = tuple(cue for cue in _PREFIX_CUES if cue[0] in (
    "well", "done", "congratulations", "congrats", "happy", "good", "of", "bravo", "pupil", "pupils", "student",
    "students", "superstar", "superstars", "proud") and cue != ("well", "played"))
_CUES_BY_LAST: dict[str, list[tuple[str, ...]]] = {}
for _cue in _PREFIX_CUES:
    _CUES_BY_LAST.setdefault(_cue[-1], []).append(_cue)
_HASHTAG_CUES = ("welldone", "congratulations", "congrats", "happybirthday", "thankyou", "goodluck",
                 "staroftheweek", "wellplayed", "bravo", "proudof", "goteam", "go")
_YEARISH = re.compile(r"^(?:y|yr|year)\d{1,2}$|^(?:reception|nursery|ks[12]|p[1-7])$")
_NAME_NOUNS = frozenset("class house team group street road lane avenue close drive lodge farm park hall "
                        "wood court way centre center church chapel cathedral academy primary school college "
                        "fair fete day term concert award trust bridge hill green gardens museum zoo aquarium "
                        "beach castle abbey palace stadium airport station theatre cinema market university "
                        "hospital gallery library forest bay island valley point park rovers united city town "
                        "fc afc athletic wanderers rangers albion county harriers".split())

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
_FAMOUS_BY_WORD: dict[str, list[tuple[tuple[str, ...], int]]] = {}
for _phrase in FAMOUS:
    for _at, _word in enumerate(_phrase):
        _FAMOUS_BY_WORD.setdefault(_word, []).append((_phrase, _at))
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
    candidates: frozenset[str] = frozenset()  # every word that can make find_names look closer

    def __post_init__(self) -> None:
        parts = {p for name in self.british | self.other for p in name.replace("'", "-").split("-")}
        object.__setattr__(self, "candidates", frozenset(((self.british | self.other | parts) - STOP) | _CUE_WORDS))

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


# --- tokens ----------------------------------------------------------------------------------

_WORD = re.compile(r"#?[^\W\d_](?:[^\W_]|['’][^\W\d_]|-[^\W\d_])*", re.UNICODE)
_CAMEL = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+")
_LINKS = re.compile(r"https?://\S+|www\.\S+")
_ADDRESSES = re.compile(r"[\w.+-]*@[\w-]*(?:\.[\w-]+)*")  # email addresses and @handles
_PLAIN = re.compile(r"[^\W\d_]+")
_HASHTAG = re.compile(r"#([^\W\d_][^\W_]*)")
_MID_SENTENCE = frozenset(",'’\"“”‘()&+/-_%£$")
_SKIP_BACK = frozenset(" \t\"'“‘(")
_SENTENCE_END = frozenset(".!?:;\n\u2022|")


@dataclass(slots=True)
class Token:
    text: str  # as written, possessive and hashtag mark removed
    low: str  # lowercase, accents kept
    start: int
    capital: bool  # first letter upper-case, rest not all upper
    initial: bool  # first word of a sentence (or of the text)
    hashtag: bool = False
    possessive: bool = False  # written "Leo's" / "Lucas'"
    whole_tag: bool = False  # a hashtag that is one word: "#welldoneava"


def _possessive(word: str) -> str:
    for suffix in ("'s", "’s", "'S", "’S"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    if word.endswith(("s'", "s’")):
        return word[:-1]
    return word


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


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def tokenize(text: str) -> list[Token]:
    """Words with their case and position; CamelCase hashtags become their words.

    Links, email addresses and @handles are blanked first (same length, so offsets hold): a
    handle is an account, and ``jane.smith@...`` is reported as an email address, not a name.
    """
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
            body = word[1:].replace("’", "'")
            parts = _CAMEL.findall(body) if not body.islower() and not body.isupper() else [body]
            whole = len(parts) == 1
            for n, part in enumerate(parts):
                append(Token(part, part.lower(), start, part[0].isupper() and not part.isupper(), n == 0, True, False, whole))
            continue
        if "'" in word or "’" in word:
            bare = _possessive(word)
            low = bare.lower().replace("’", "'")
        else:
            bare, low = word, word.lower()
        if bare[0].isupper():  # only a capital's place in its sentence is ever asked
            append(Token(bare, low, start, not (len(bare) > 1 and bare.isupper()), _starts_sentence(text, start),
                         False, bare is not word))
        else:
            append(Token(bare, low, start, False, False, False, bare is not word))
    return tokens


# --- the raw name finder ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NameSpan:
    """Tokens ``first..last`` (inclusive) are one person: a given name, maybe middle names and a surname."""

    first: int
    last: int
    given: str  # as written
    surname: str = ""  # as written; "" when only a given name
    strong: bool = False  # the context said "this is a child's name" (well done X, X in Year 3)


def _is_name_word(low: str, tables: NameTables) -> bool:
    if low in tables.british or low in tables.other:
        return True
    if "-" in low:
        parts = low.split("-")
        return all(p in tables.british or p in tables.other for p in parts) and not all(p in STOP for p in parts)
    return False


def _has_prefix_cue(tokens: Sequence[Token], i: int) -> bool:
    if i == 0:
        return False
    cues = _CUES_BY_LAST.get(tokens[i - 1].low)
    if not cues:
        return False
    for cue in cues:
        k = len(cue)
        if k <= i and all(tokens[i - k + j].low == cue[j] for j in range(k - 1)):
            return True
    return False


def _has_child_cue(tokens: Sequence[Token], i: int) -> bool:
    """A cue said of children, not of shops or councils ("well done", not "thanks to")."""
    lows = tuple(t.low for t in tokens[max(0, i - 4): i])
    return any(lows[-len(cue):] == cue for cue in _CHILD_CUES if len(lows) >= len(cue))


def _has_suffix_cue(tokens: Sequence[Token], i: int) -> bool:
    after = [t.low for t in tokens[i + 1: i + 4]]
    if not after:
        return False
    if after[0] in ("in", "from") and len(after) > 1:
        return after[1] in ("year", "yr", "reception", "nursery") or bool(_YEARISH.match(after[1]))
    return bool(_YEARISH.match(after[0])) or (after[0] in ("year", "yr", "aged", "age") and len(after) >= 1)


def _looks(text: str, tables: NameTables, extra: frozenset[str]) -> bool:
    """Whether ``text`` has any word that could make a name (the fast path's test)."""
    words = set(_PLAIN.findall(text.lower()))
    if "#" in text:
        for tag in _HASHTAG.findall(text):
            low = tag.lower()
            if low in tables.british or low.startswith(_HASHTAG_CUES):
                return True  # a one-word hashtag that may hold a name
            words.update(part.lower() for part in _CAMEL.findall(tag))
    return bool(extra and not words.isdisjoint(extra)) or _worth_a_look(text, words, tables)


def _cue_then_capital(text: str, words: set[str]) -> bool:
    """A cue word ("done", "congratulations") followed by a capitalised word: "Well done Aarav"."""
    lowered = text.lower()
    for cue in words & _CUE_WORDS:
        at = lowered.find(cue)
        while at >= 0:
            if _AFTER_CUE.match(text, at + len(cue)):
                return True
            at = lowered.find(cue, at + 1)
    return False


def _worth_a_look(text: str, words: set[str], tables: NameTables) -> bool:
    """Whether any rule of find_names could fire on a text with these (lowercase) words.

    A word the dictionary has only outside the GB/IE columns, or an ordinary word that is also a
    name, needs a capital, a cue, a year group straight after it, a possessive and a piece of work,
    a hyphenated partner or another name to count, so a text where none is present is passed over
    without building its tokens (most posts: a few microseconds, not ~40).
    """
    named = words & tables.candidates
    cues = not named.isdisjoint(_CUE_WORDS)
    named -= _CUE_WORDS
    if not named:
        return cues and _cue_then_capital(text, words)
    if cues:
        return True
    lowered = ""
    for word in named:
        if word in tables.british and word not in AMBIGUOUS:
            return True
        if word in tables.other and (word[:1].upper() + word[1:]) in text:
            return True
        lowered = lowered or text.lower()
        at = lowered.find(word)
        while at >= 0:
            if _CONTEXT_AFTER.match(lowered, at + len(word)):
                return True
            at = lowered.find(word, at + 1)
    if "-" in text:
        for joined in _HYPHENATED.findall(lowered or text.lower()):
            if all(part in tables.candidates for part in joined.split("-")):
                return True
    return False


def _starts_sentence_as_name(tokens: Sequence[Token], i: int, tables: NameTables) -> bool:
    """A capitalised sentence-initial word is a name when what follows reads like a person's."""
    tok = tokens[i]
    if tok.possessive:
        return True
    if i + 1 >= len(tokens):
        return False
    nxt = tokens[i + 1]
    if nxt.low in _NAME_VERBS:
        return True
    if nxt.low == "and" and i + 2 < len(tokens) and tokens[i + 2].low in ("his", "her", "their"):
        return True
    return nxt.capital and not nxt.initial and _surname_like(nxt, tables)


def _hashtag_name(token: Token, tables: NameTables) -> bool:
    """'#welldoneava' -> True (and the token becomes 'ava'): a one-word hashtag that is a cue and a name."""
    low = token.low
    for cue in _HASHTAG_CUES:
        if low.startswith(cue) and len(low) > len(cue) + 1:
            rest = low[len(cue):]
            if rest in tables.british or rest in tables.other:
                token.text, token.low = token.text[len(cue):], rest
                return True
    return low in tables.british and low not in AMBIGUOUS and low not in STOP and len(low) > 2


def _surname_like(token: Token, tables: NameTables) -> bool:
    low = token.low
    if not token.capital or token.initial or low in STOP or low in TITLES or low in _NAME_NOUNS:
        return False
    if _YEARISH.match(low) or len(low) < 2:
        return False
    return low not in AMBIGUOUS or low in SURNAME_LIKE


def find_names(text: str, tables: NameTables | None = None, *, extra: frozenset[str] = frozenset(),
               ignore: frozenset[str] = frozenset()) -> tuple[list[Token], list[NameSpan]]:
    """The raw name finder: people's names in ``text``, before the policy's exclusions."""
    tables = tables or name_tables()
    # fast path: most posts have no word that could start a name; skip the tokens altogether
    if not _looks(text, tables, extra):
        return [], []
    tokens = tokenize(text)
    n = len(tokens)
    verdict: list[int] = [0] * n  # 0 no, 1 a name, 2 a name by context
    pending: list[int] = []
    for i, tok in enumerate(tokens):
        low = tok.low
        if low in ignore or (low in STOP and low not in extra):
            continue
        if tok.whole_tag:
            if low in extra or _hashtag_name(tok, tables):
                verdict[i] = 2
                continue
        if low not in extra and not _is_name_word(low, tables):
            # a capitalised word the dictionary lacks, straight after "well done", "congratulations to"...
            if tok.capital and len(low) > 2 and low not in TITLES and not _YEARISH.match(low) \
                    and _has_child_cue(tokens, i) and not (i + 1 < n and tokens[i + 1].low in _NAME_NOUNS):
                verdict[i] = 2
            continue
        context = _has_prefix_cue(tokens, i) or _has_suffix_cue(tokens, i) or (
            tok.possessive and i + 1 < n and tokens[i + 1].low in _CREATIONS)
        if not context and not tok.possessive and i + 1 < n and tokens[i + 1].low in _TOPIC_NOUNS:
            continue
        hyphen = "-" in low
        if low in extra:
            verdict[i] = 2 if context else 1
        elif low in AMBIGUOUS or low in SURNAME_LIKE:
            if context or (hyphen and tok.capital):
                verdict[i] = 2
            else:
                pending.append(i)
        elif low in tables.british or hyphen:
            verdict[i] = 2 if context else 1
        elif context or (tok.capital and not tok.initial) or (tok.capital and tok.hashtag):
            verdict[i] = 2 if context else 1
        elif tok.capital and _starts_sentence_as_name(tokens, i, tables):
            verdict[i] = 1
        else:
            pending.append(i)
    # A doubtful word joined to a name by "and", "&" or a comma is in the same list of names.
    changed = True
    while changed and pending:
        changed = False
        for i in list(pending):
            tok = tokens[i]
            if tok.low in SURNAME_LIKE and tok.low not in AMBIGUOUS:
                continue
            for j in (i - 2, i + 2):
                if 0 <= j < n and verdict[j] and _joined(text, tokens, min(i, j), max(i, j)):
                    verdict[i] = verdict[j]
                    pending.remove(i)
                    changed = True
                    break
            if not verdict[i] and _comma_joined(text, tokens, i, verdict):
                verdict[i] = 1
                pending.remove(i)
                changed = True
    spans: list[NameSpan] = []
    i = 0
    while i < n:
        if not verdict[i]:
            i += 1
            continue
        last = i
        # middle names and a surname: capitalised words straight after, in the same sentence
        while last + 1 < n and tokens[last + 1].capital and not tokens[last + 1].initial \
                and tokens[last + 1].start - (tokens[last].start + len(tokens[last].text)) <= 3 \
                and not tokens[last + 1].hashtag and _surname_like(tokens[last + 1], tables) \
                and text[tokens[last].start: tokens[last + 1].start].count(",") == 0:
            last += 1
            if not _is_name_word(tokens[last].low, tables):
                break
        surname = tokens[last].text if last > i else ""
        spans.append(NameSpan(first=i, last=last, given=tokens[i].text, surname=surname, strong=verdict[i] == 2))
        i = last + 1
    return tokens, spans


def _between(text: str, tokens: Sequence[Token], a: int, b: int) -> str:
    return text[tokens[a].start + len(tokens[a].text): tokens[b].start].strip().lower()


def _joined(text: str, tokens: Sequence[Token], a: int, b: int) -> bool:
    """Tokens a < b with exactly one word between that is 'and' or '&', or a comma list: 'X, Y and Z'."""
    if b - a == 2 and tokens[a + 1].low in ("and", "or"):
        return True
    return b - a == 1 and _between(text, tokens, a, b) in (",", "&", "and", "+")


def _comma_joined(text: str, tokens: Sequence[Token], i: int, verdict: Sequence[int]) -> bool:
    for j in (i - 1, i + 1):
        if 0 <= j < len(tokens) and verdict[j] and _between(text, tokens, min(i, j), max(i, j)) in (",", "&", "+"):
            return True
    return False


# --- policy exclusions and personal information -----------------------------------------------

_PHONE_MOBILE = re.compile(r"(?<![\d+])(?:\+44\s?\(?0?\)?\s?7\d{3}|\(?07\d{3}\)?)[\s.-]?\d{3}[\s.-]?\d{3}(?!\d)")
_PHONE_LAND = re.compile(r"(?<![\d+])(?:\+44\s?\(?0?\)?\s?|\(?0)(?:1\d{2,4}|2\d|3\d{2}|8\d{2})\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
_ADDRESS = re.compile(r"\b\d{1,4}[a-zA-Z]?,?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Drive|Dr|"
                      r"Way|Crescent|Grove|Gardens|Terrace|Place|Court|Walk|Mews|Rise|View|Row|Square|Hill|Park)\b")
_DATE = re.compile(r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?"
                   r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+(?:19|20)\d{2})\b", re.I)
_BIRTH = re.compile(r"\b(?:born|d\.?o\.?b\.?|date of birth|birthday|birth date)\b", re.I)
_VENUE = re.compile(r"\b(?:school|academy|church|parish|hall|office|reception|venue|centre|center|college|"
                    r"library|museum|cathedral|chapel|club|stadium|leisure|admissions|enquiries|nursery)\b", re.I)
# A landline is the school's, a church's or a club's unless the post ties it to a person or a home.
_PERSONAL = re.compile(r"\b(?:home|mum|dad|mother|father|grandparents?|nan|grandma|grandad|family|parents?|"
                       r"carers?|his|her|their)\b", re.I)
_PHONE_HINT = re.compile(r"\d(?:[\s().-]{0,2}\d){8}")
_PLACE_HINT = re.compile(r"\b[A-Z]{1,2}\d|\b\d{1,4}[a-zA-Z]?,?\s+[A-Z]")
ORG_SUFFIXES = (".sch.uk", ".gov.uk", ".nhs.uk", ".ac.uk", ".police.uk")


@dataclass(frozen=True, slots=True)
class NameHit:
    """A child's name found in a post: the words as written (never shown), and what may be shown."""

    given: str
    surname: str
    where: str  # "text", "alt text", "hashtag"
    year: str = ""  # "Year 4", "Reception" when the text says so

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


@dataclass(frozen=True, slots=True)
class PiiHit:
    kind: str  # "mobile number", "phone number", "personal email address", "postcode", "home address", "date of birth"
    shown: str  # masked


@dataclass(slots=True)
class Analysis:
    """What one post carries: children's names and personal information, with what was excluded."""

    names: list[NameHit] = field(default_factory=list)
    pii: list[PiiHit] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # reasons, e.g. "title", "staff" (no names)


@dataclass(frozen=True, slots=True)
class SchoolContext:
    """What the exclusions need to know about the school and the trust."""

    staff: tuple[tuple[str, ...], ...] = ()  # lowercase token phrases of staff names, titles dropped
    own_domains: tuple[str, ...] = ()  # the trust's and its schools' domains (and their subdomains)
    school_words: frozenset[str] = frozenset()  # words of the school's own name
    extra: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()


def school_context(staff: Iterable[str], domains: Iterable[str], school_name: str = "",
                   extra: Iterable[str] = (), ignore: Iterable[str] = ()) -> SchoolContext:
    """Build the exclusion context once per school (staff phrases without their titles)."""
    phrases = []
    for entry in staff:
        words = [t.low for t in tokenize(entry) if t.low.rstrip(".") not in TITLES]
        if words:
            phrases.append(tuple(words))
    return SchoolContext(staff=tuple(phrases), own_domains=tuple(d.lower().lstrip(".") for d in domains if d),
                         school_words=frozenset(t.low for t in tokenize(school_name)),
                         extra=frozenset(w.lower() for w in extra), ignore=frozenset(w.lower() for w in ignore))


def _year_near(tokens: Sequence[Token], span: NameSpan) -> str:
    """'Reception', 'Year 4' (from 'Y4') or 'KS2' in the three words after a name, else ''."""
    for tok_index in range(span.last + 1, min(len(tokens), span.last + 4)):
        low = tokens[tok_index].low
        if low in ("year", "yr"):
            return ""  # "Year 4": the number is no word token; _year_of reads it from the text
        m = _YEARISH.match(low)
        if m:
            if low in ("reception", "nursery"):
                return low.capitalize()
            digits = "".join(c for c in low if c.isdigit())
            return f"Year {digits}" if digits and low[0] == "y" else low.upper()
    return ""


_YEAR_AFTER = re.compile(r"[\s,(\-–]*(?:in\s+|from\s+)?(?:(?:year|yr)\s*(\d{1,2})|y(\d{1,2})\b)", re.I)


def _year_of(text: str, tokens: Sequence[Token], span: NameSpan) -> str:
    """'Year 4' when the words straight after the name give the year group, else ''."""
    end = tokens[span.last].start + len(tokens[span.last].text)
    while end < len(text) and text[end] in "'’s":  # a possessive
        end += 1
    m = _YEAR_AFTER.match(text, end)
    if m:
        return f"Year {m.group(1) or m.group(2)}"
    return _year_near(tokens, span)


def _excluded(text: str, tokens: Sequence[Token], span: NameSpan, ctx: SchoolContext, religious: bool) -> str:
    """Why this name is not a child's ("" when it is one)."""
    i = span.first
    low = tokens[i].low
    prev = tokens[i - 1].low.rstrip(".") if i > 0 else ""
    prev2 = tokens[i - 2].low.rstrip(".") if i > 1 else ""
    if prev in TITLES or (len(prev) == 1 and prev2 in TITLES):
        return "title"
    if prev in ("our",) and low in ("lady",):
        return "religious"
    seq = [t.low for t in tokens[i: span.last + 1]]
    for phrase in ctx.staff:
        if len(phrase) >= 2 and tuple(t.low for t in tokens[i: i + len(phrase)]) == phrase:
            return "staff"
        if len(phrase) == 1 and len(seq) == 1 and seq[0] == phrase[0] and span.surname == "":
            # a staff list entry without a surname ("Coach Dan"): the bare given name is that adult
            return "staff"
    for phrase, at in _FAMOUS_BY_WORD.get(low, ()):
        k = len(phrase)
        for s in (i - at,):
            if s < 0:
                continue
            words = [t.low for t in tokens[s: s + k]]
            if words and words[-1].endswith("s") and words[-1][:-1] == phrase[-1]:
                words[-1] = phrase[-1]  # "three Willy Wonkas"
            if tuple(words) == phrase:
                return "famous"
    if low in RELIGIOUS_ALWAYS:
        return "religious"
    if low in FICTIONAL_SINGLE and (prev in ("as", "read", "reading", "watched", "about") or not span.strong):
        return "fictional"
    if low in BIBLICAL and religious and not span.strong:
        return "religious"
    if span.last + 1 < len(tokens):
        nxt = tokens[span.last + 1]
        if nxt.low in _NAME_NOUNS and nxt.capital:
            return "place"
    if low in ctx.school_words and not span.strong:
        return "school name"
    return ""


def _where(tok: Token, segment: str) -> str:
    return "hashtag" if tok.hashtag else segment


def _mask_email(local: str, domain: str) -> str:
    return f"{local[:1]}***@{domain}"


def _own_domain(domain: str, ctx: SchoolContext) -> bool:
    domain = domain.lower()
    if domain.endswith(ORG_SUFFIXES):
        return True
    return any(domain == own or domain.endswith("." + own) for own in ctx.own_domains)


def _pii(text: str, ctx: SchoolContext, named: bool) -> list[PiiHit]:
    hits: list[PiiHit] = []
    if "@" in text:
        for m in _EMAIL.finditer(text):
            if not _own_domain(m.group(2), ctx):
                hits.append(PiiHit("personal email address", _mask_email(m.group(1), m.group(2).lower())))
    phones = _PHONE_HINT.search(text) is not None  # nine digits or more, maybe spaced
    places = _PLACE_HINT.search(text) is not None  # "AB1", "12 Oak"
    if not (phones or places or named):
        return hits
    venue = (phones or places) and _VENUE.search(text) is not None
    if phones:
        mobiles = list(_PHONE_MOBILE.finditer(text))
        for m in mobiles:
            hits.append(PiiHit("mobile number", m.group()[:4] + "*** ***"))
        personal = named or bool(_PERSONAL.search(text))
        for m in _PHONE_LAND.finditer(text):
            if any(mm.start() <= m.start() < mm.end() for mm in mobiles):
                continue
            if personal and not venue:
                hits.append(PiiHit("phone number", m.group()[:4] + "*** ***"))
    if places and not venue:
        for m in _POSTCODE.finditer(text):
            hits.append(PiiHit("postcode", m.group().split()[0][:2] + "** ***"))
        for _m in _ADDRESS.finditer(text):
            hits.append(PiiHit("home address", "a house number and street"))
    if named and _BIRTH.search(text) and _DATE.search(text):
        hits.append(PiiHit("date of birth", "a date of birth next to a name"))
    return hits


def analyse(segments: Sequence[tuple[str, str]], ctx: SchoolContext | None = None,
            tables: NameTables | None = None) -> Analysis:
    """Children's names and personal information in a post's segments: (where, text) pairs.

    ``where`` is "text" or "alt text"; hashtags inside a segment are reported as "hashtag".
    """
    ctx = ctx or SchoolContext()
    tables = tables or name_tables()
    result = Analysis()
    seen: set[tuple[str, str]] = set()
    for where, text in segments:
        if not text:
            continue
        tokens, spans = find_names(text, tables, extra=ctx.extra, ignore=ctx.ignore)
        religious = bool(spans) and not _RELIGIOUS_CONTEXT.isdisjoint([t.low for t in tokens])
        named = False
        for span in spans:
            reason = _excluded(text, tokens, span, ctx, religious)
            if reason:
                result.excluded.append(reason)
                continue
            named = True
            key = (span.given.lower(), span.surname.lower())
            if key in seen:
                continue
            seen.add(key)
            result.names.append(NameHit(given=span.given, surname=span.surname,
                                        where=_where(tokens[span.first], where), year=_year_of(text, tokens, span)))
        result.pii.extend(_pii(text, ctx, named or bool(result.names)))
    return result
