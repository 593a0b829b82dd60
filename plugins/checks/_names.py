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
# Titles that children wear too: role play ("Dr Evie", "Firefighter Freddie"), team captains ("Captain Ifeoma
# Chukwu"), and given names ("Deacon", "Princess", "King"). After one of these a word is still a candidate: the
# model reads the title as a feature (``p1=captain``, ``title``) with the rest of the post. Every other title is
# a form of address kept for adults, and the word after it is never a child (a documented hard exclusion).
ROLE_TITLES = frozenset(
    "dr captain capt nurse coach chef officer firefighter professor prof king queen prince princess lord lady dame "
    "deacon".split()
)
ADULT_TITLES = TITLES - ROLE_TITLES


RELIGIOUS_ALWAYS = frozenset("jesus christ god allah buddha krishna yahweh messiah".split())
BIBLICAL = frozenset(
    """mary joseph noah moses abraham sarah david goliath daniel jonah peter paul john matthew mark luke
    gabriel elizabeth zacchaeus zechariah adam eve isaac jacob rebecca ruth naomi esther samuel elijah elisha
    joshua solomon thomas andrew james simon martha lazarus herod joachim anne magdalene michael raphael
    bartholomew philip stephen timothy barnabas miriam aaron nicholas patrick george andrew bernadette
    francis clare dominic benedict teresa therese
    mordecai haman judah maccabee boaz jesse saul delilah samson gideon deborah
    isaiah jeremiah ezekiel nehemiah cain abel hagar ishmael
    ibrahim musa isa yusuf nuh yunus dawud sulaiman maryam khadijah fatimah hajar yaqub ishaq
    harun zakariya yahya idris salih shuayb ayub hawwa
    rama sita lakshman lakshmana hanuman ravana ganesh ganesha lakshmi vishnu shiva parvati durga kali
    arjuna bhima yudhishthira draupadi prahlad holika
    nanak angad arjan gobind tegh bahadur
    siddhartha gautama ananda
    brigid columba cuthbert hilda bede alban swithun dunstan""".split()
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
    daniel in the lions|jonah and the whale|
    mary berry|jamie oliver|tom daley|jessica ennis|kelly holmes|usain bolt|serena williams|simone biles|
    lucy bronze|leah williamson|chloe kelly|alessia russo|mary earps|beth mead|raheem sterling|wayne rooney|
    david beckham|gareth southgate|steven gerrard|ben stokes|joe root|eddie jones|jonny wilkinson|chris hoy|
    laura kenny|jason kenny|bradley wiggins|ellie simmonds|tanni grey-thompson|muhammad ali|
    pele|diego maradona|cristiano ronaldo|mohamed salah|erling haaland|roger federer|rafael nadal|
    dina asher-smith|keely hodgkinson|katarina johnson-thompson|max whitlock|adam peaty|tom pidcock|
    malala yousafzai|mahatma gandhi|mother teresa|martin luther|harriet tubman|sojourner truth|
    frederick douglass|barack obama|michelle obama|kamala harris|joe biden|donald trump|abraham lincoln|
    george washington|rishi sunak|keir starmer|boris johnson|theresa may|margaret thatcher|tony blair|
    queen elizabeth|elizabeth ii|king henry|elizabeth i|mary queen of scots|richard iii|
    william the conqueror|alfred the great|oliver cromwell|horatio nelson|duke of wellington|
    captain cook|james cook|christopher columbus|ernest shackleton|robert falcon scott|edmund hillary|
    tenzing norgay|yuri gagarin|buzz aldrin|sally ride|helen sharman|mae jemison|valentina tereshkova|
    thomas edison|nikola tesla|alexander graham bell|alexander fleming|louis pasteur|edward jenner|
    rosalind franklin|dorothy hodgkin|jane goodall|steve irwin|chris packham|greta gerwig|
    galileo galilei|leonardo da vinci|michelangelo|johannes gutenberg|archimedes|pythagoras|
    ludwig van beethoven|wolfgang amadeus mozart|johann sebastian bach|edward elgar|benjamin britten|
    bob marley|stevie wonder|michael jackson|whitney houston|aretha franklin|dolly parton|adele adkins|
    stormzy|dua lipa|lewis capaldi|olly murs|ant and dec|dermot o'leary|claudia winkleman|
    lowry|ls lowry|banksy|yayoi kusama|georgia o'keeffe|henry moore|barbara hepworth|anthony gormley|
    antony gormley|quentin blake|axel scheffler|eric carle|judith kerr|anthony browne|oliver jeffers|
    mo willems|dr seuss|enid blyton|lewis carroll|kenneth grahame|a a milne|c s lewis|j k rowling|
    jk rowling|j r r tolkien|philip pullman|cressida cowell|malorie blackman|onjali rauf|tom fletcher|
    liz pichon|jeff kinney|dav pilkey|rick riordan|anthony horowitz|frank cottrell-boyce|katherine rundell|
    benjamin zephaniah|michael rosen|roger mcgough|allan ahlberg|shirley hughes|nick sharratt|
    greg heffley|tracy beaker|horrid henry|the very hungry caterpillar|the tiger who came to tea|
    mog the cat|biff chip and kipper|floppy the dog|fred frog|mr men|little miss|
    peppa pig|george pig|bing bunny|hey duggee|paw patrol|bluey heeler|bluey and bingo|
    mr tumble|sarah and duck|clifford the big red dog|spot the dog|kipper the dog|maisy mouse|
    fantastic mr fox|james henry trotter|the secret garden|mary lennox|
    bilbo baggins|frodo baggins|lucy pevensie|edmund pevensie|aslan|mowgli|baloo|
    toad of toad hall|mr toad|ratty and mole|sherlock holmes|dr watson|romeo and juliet|macbeth|
    lady macbeth|hamlet|ebenezer scrooge|bob cratchit|jacob marley|oliver twist|artful dodger|fagin|
    bill sikes|pip and estella|jane eyre|elizabeth bennet|mr darcy|atticus finch|scout finch|
    boo radley|curley's wife|arthur birling|sheila birling|
    inspector goole|jekyll and hyde|dr jekyll|mr hyde|victor frankenstein|dracula|beowulf|grendel|
    odysseus|achilles|hercules|perseus|medusa|theseus|zeus|poseidon|athena|thor|loki|odin|anansi|
    rama and sita|guru nanak|guru gobind singh|prophet muhammad|prophet ibrahim|prophet musa|
    prophet yusuf|prophet nuh|prophet isa|judah maccabee|queen esther|king david|king solomon|
    saint george|saint patrick|saint andrew|saint david|st george|st patrick|st andrew|st david|
    st nicholas|saint nicholas|st francis|st bernadette|st teresa|st john bosco|st lucy|st valentine|
    father christmas|santa claus|saint nick|baby jesus|mother mary|virgin mary|three wise men|
    hedd wyn|dafydd iwan|owain glyndŵr|owain glyndwr|owain lawgoch|llywelyn ein llyw olaf|llywelyn fawr|
    betsi cadwaladr|dylan thomas|gareth bale|sali mali|tomos tanc|jac y jwc|barti ddu|santes dwynwen|
    king herod|pontius pilate|john the baptist|doubting thomas|good samaritan|prodigal son""".replace("\n", " ").split("|")
    if phrase.strip()
)
FICTIONAL_SINGLE = frozenset("elsa moana peppa elmer paddington pinocchio aladdin mulan simba nemo shrek "
                             "pooh matilda gruffalo zog supertato rapunzel cinderella ariel olaf "
                             # reading schemes, picture books and stories taught in primary school
                             "biff chip kipper floppy wilf wilma tigger eeyore piglet gruffalo's bluey bingo "
                             "duggee mowgli baloo bagheera aslan gandalf hagrid dumbledore voldemort hermione "
                             "wonka oompa scrooge cratchit fagin gollum bilbo frodo pippi heidi pollyanna "
                             "pinkalicious fantastic grinch rudolph frosty stickman tiddler superworm "
                             "wombat gretel hansel rumpelstiltskin thumbelina goldilocks zeus thor loki "
                             "anansi hercules odysseus beowulf grendel medusa".split())



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
