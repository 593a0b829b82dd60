"""The comments check's lexicon: which words in a comment are abusive, and where they are.

The vocabulary is the English data set of ``pyobscenity`` (a port of the Obscenity library): about
130 phrases, each a pattern with word-boundary anchors and its own whitelisted terms, which is what
keeps "Scunthorpe", "class", "assess", "Cockburn" and "Sussex" clean. Its transformers' tables
(Unicode look-alikes, leetspeak such as ``sh1t`` or ``$hit``, long repeats such as ``fuuuuck``)
normalise the text first. The library's own matcher runs every pattern over the text one character
at a time (about 3,000 short comments a second); this module compiles the same patterns into one
alternation for a C-speed first pass, and runs the patterns one by one (for their spans and the
whitelist) only on the rare comment that matches, so a comment costs a few microseconds.

On top of the data set:

- masked words (``f***ing``, ``c*nt``, ``sh*t``): a token of letters and ``*``/``#`` whose letters
  fit a word of :data:`MASKED_WORDS` of the same length. The library does not see these;
- configurable phrases: threats (``kill you``, ``i know where you live``), personal attacks on staff
  (``paedo``, ``scumbag``), and allowed phrases that cancel a hit they overlap (a place name).

For the comment classifier (``checks._comment_model``) this module also holds the word lists it reads:
:data:`EXTRA_PROFANITY` and :data:`SURE_SLURS` (a sure first pass), :data:`AMBIGUOUS` (lexicon words
with innocent uses, left to the model), :data:`CUE_WORDS`, :data:`CUE_PHRASES` and
:data:`SAID_OF_SOMEONE` (features), and :func:`mask_spans`, which masks whole words.

All matching is on a lowercased, normalised copy of the text; spans point into the original text
(one character in, one out, so masking the evidence is exact).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from checks._names import name_tables

__all__ = ["SAID_OF_SOMEONE", "mask_spans", "word_span", "AMBIGUOUS", "EXTRA_PROFANITY", "INSULT_ENDINGS", "SURE_SLURS", "CUE_PHRASES", "CUE_WORDS", "DEFAULT_ALLOW", "DEFAULT_ATTACKS", "DEFAULT_THREATS", "IGNORED_WORDS", "MASKED_WORDS", "WEAK_WORDS", "Hit",
           "Lexicon", "lexicon", "mask"]

# Words a self-censored token may stand for. One-letter tokens ("f***") only match these, so
# "A*" and "D**" (exam grades) and "J***" (a masked name) are never taken for swearing.
MASKED_WORDS: tuple[str, ...] = (
    "fuck", "fucks", "fucked", "fucker", "fuckers", "fuckin", "fucking", "motherfucker",
    "shit", "shite", "shits", "shitty", "bullshit", "cunt", "cunts", "bitch", "bitches", "bastard",
    "bastards", "twat", "twats", "wanker", "wankers", "prick", "pricks", "arse", "arsehole", "asshole",
    "bollocks", "dickhead", "piss", "pissed", "slag", "slut", "whore",
)

# Threats: a safeguarding matter as well as abuse, so they are reported as critical at once.
DEFAULT_THREATS: tuple[str, ...] = (
    "kill you", "kill yourself", "kys", "know where you live", "watch your back", "you will pay",
    "you'll pay", "burn the school", "bomb the school", "coming for you", "smash your face",
)

# Personal attacks that the data set does not cover (it is about obscenity, not insults).
DEFAULT_ATTACKS: tuple[str, ...] = (
    "paedo", "pedo", "paedophile", "pedophile", "nonce", "groomer", "scumbag", "scum", "lowlife",
    "waste of space", "slag", "retard",
)

# Swearing the data set does not know, as normalised words: acronyms, dialect and phonetic spellings,
# other languages' strong words. Matched as whole words of the normalised comment.
EXTRA_PROFANITY = frozenset({
    "ffs", "wtf", "stfu", "fml", "gtfo", "fk", "fks", "fkn", "fkin", "fking", "fook", "fooking", "fookin", "fcuk",
    "fcuking", "fcuked", "phuk", "phuck", "phucking", "fuk", "fuking", "fukin", "fucc", "fuccin", "kunt", "kunts",
    "knobhead", "knobheads", "bellend", "bellends", "kurwa", "kurwy", "mierda", "joder", "cabron", "scheisse",
    "scheiße", "merde", "putain", "cazzo", "vaffanculo", "shite", "shitload", "shitshow", "clusterfuck", "dogshit",
    "arsehole", "arseholes", "bastard", "bastards", "bollocks", "pissed", "wankers", "wanker", "twats",
    # self-censored spellings as the normaliser leaves them ("f@#king" -> "f*king")
    "f*ck", "f*cking", "f*cked", "f*cker", "f*k", "f*king", "f*kin", "ph*ck", "ph*cking", "sh*t", "sh*te", "sh*tty",
    "c*nt", "c*nts", "tw*t", "w*nker", "w*nkers", "b*llocks", "b*stard", "p*ss", "a*sehole",
})

# Cue words for the comment classifier (``checks._comment_model``): each word seen in a comment, after
# normalisation, adds a ``C:<cue>`` feature whose weight the model learns. They are hints, not verdicts:
# "girls" is a pupil cue in a leering comment and nothing at all in "girls' football won". Slurs are
# listed in their normalised spellings (look-alikes, leetspeak and repeats are undone first).
CUE_WORDS: dict[str, tuple[str, ...]] = {
    "slur": ("nigger", "niggers", "nigga", "niggas", "nigg", "paki", "pakis", "chink", "chinks", "chinky", "chinkies",
             "coon", "coons", "wog", "wogs", "kike", "kikes", "yid", "yids", "raghead", "ragheads", "towelhead",
             "towelheads", "golliwog", "gollywog", "spastic", "spastics", "spaz", "spazz", "spacker", "spackers",
             "mong", "mongs", "retard", "retards", "retarded", "tranny", "trannies", "faggot", "faggots", "fag", "fags",
             "dyke", "dykes", "poof", "poofs", "poofter", "batty", "bender", "benders", "polack", "polacks", "taig",
             "taigs", "fenian", "fenians", "gyppo", "gyppos", "pikey", "pikeys", "spic", "spics", "gook", "gooks",
             "sambo", "darkie", "darkies", "wetback", "jap", "japs", "shemale", "mongoloid", "cripple", "kaffir",
             "1488", "zog", "niggah", "jigaboo", "zipperhead", "beaner", "beaners", "gypo", "gippo", "gippos", "kraut", "krauts",
             "dago", "dagos", "wop", "wops", "greaseball", "muzzie", "muzzies", "pajeet", "pajeets", "tard", "tards",
             "libtard", "midget", "midgets", "lezza", "lezzer", "lezzers", "lesbo", "ladyboy", "shirtlifter", "bumboy",
             "trannie", "shemales", "mongy", "nig", "nigs"),
    "group": ("muslims", "muslim", "islam", "jews", "jewish", "gay", "gays", "lesbians", "lesbian", "trans", "black",
              "blacks", "chinese", "polish", "romanian", "romanians", "travellers", "gypsies", "immigrants", "migrants",
              "refugees", "foreigners", "asians", "asian", "africans", "pakistanis", "indians", "women", "disabled",
              "catholics", "hindus", "sikhs", "irish", "eastern", "boats", "asylum", "immigrant", "migrant", "refugee", "foreigner", "islamic", "jew", "hindu", "sikh", "lgbt", "lgbtq",
              "transgender", "arabs", "arab", "somalis", "nigerians", "afghans", "albanians", "syrians", "gypsy", "roma",
              "feminists"),
    # sweeping words: with a group, the shape of a stereotype ("X kids always ...", "X shouldn't ...")
    "general": ("always", "only", "never", "naturally", "shouldn't", "shouldnt", "all", "these", "every", "bring",
                "another", "typical", "too", "ones", "lot"),
    "hostile": ("cancer", "vermin", "invaders", "invasion", "thieving", "deport", "deported", "grooming", "parasites",
                "subhuman", "savages", "infestation", "infest", "infesting", "terrorists", "rapists", "diseased",
                "abomination", "unnatural", "inferior", "scroungers"),
    "selfharm": ("kys", "unalive", "unaliv", "noose", "e_noose", "rope", "bleach", "overdose", "starve", "slit",
                 "wrists", "viaduct", "pills", "e_pill", "oxygen", "razor", "razors"),
    "threat": ("stab", "stabbed", "stabbing", "batter", "battered", "kicking", "torch", "torched", "slash", "crowbar",
               "e_knife", "e_gun", "e_bomb", "knife", "machete", "acid", "petrol", "arson", "stretcher", "tyres",
               "ploughs", "e_fist", "baseball", "grassed"),
    # violent words that are also slang praise ("killed it", "dead good", "shoot for the moon")
    "violence": ("kill", "killed", "dead", "blood", "hurt", "smash", "shoot", "shooting", "shot", "burn", "burnt",
                 "burned", "bomb", "gun", "fire", "punch", "break", "knock", "teeth", "catch", "find", "watch"),
    "second": ("you", "your", "u", "ur", "you're", "youre", "yourself", "urself"),
    "sexual": ("sexy", "peng", "milf", "dilf", "nudes", "nude", "tits", "boobs", "jailbait", "onlyfans", "e_peach",
               "e_aubergine", "e_droplets", "e_tongue", "e_drool", "horny", "knickers", "naked", "uncropped", "sexting"),
    # emoji of desire: harmless alone ("🔥" under a goal), telling next to a photo of pupils
    "leer": ("e_hot", "e_smirk", "e_devil", "e_hearteyes", "e_wink", "e_eyes", "e_fire", "e_cherries"),
    "insult": ("moron", "morons", "idiot", "idiots", "liar", "slob", "coward", "disgrace", "pathetic", "useless",
               "incompetent", "clueless", "talentless", "spineless", "smarmy", "vile", "crook", "leech", "doormat", "git",
               "knob", "dickhead", "bellend", "tosser", "muppet", "numpty", "imbecil", "imbecile", "krowa", "glupia",
               "idiota", "stupid", "dumb", "dumbest", "scumbag", "loser", "slag", "cretin", "halfwit", "dimwit", "thick",
               "stinks", "embarrassment", "nasty", "lazy", "smug", "gobby", "bitter", "gormless", "brainless", "gutless", "hag", "slimeball", "sleazebag", "sleaze", "sleazy", "scrote",
               "scrounger", "wasteman", "weasel", "pillock", "plonker", "prat", "berk", "nitwit", "dunce", "bozo",
               "airhead", "bimbo", "jobsworth", "hypocrite", "hypocrites", "sadist", "pervert", "perv", "worthless",
               "senile", "nutter", "nutcase", "headcase", "lunatic", "mingebag", "gimp"),
    "mock": ("loner", "weird", "smells", "skint", "lisp", "unfollow", "monobrow", "wets", "virgin", "greasy",
             "snitch", "uglier", "ugly", "fatty", "freak", "weirdo", "pathetic", "attention", "seeker", "lmao", "crybaby", "wimp", "wuss", "smelly", "stinky", "fatso", "pizzaface", "speccy", "saddo", "friendless",
             "unpopular"),
    "laugh": ("lol", "lmao", "lmfao", "haha", "hahaha", "e_laugh", "e_skull", "e_clown", "e_thumbsdown", "e_vomit"),
    # looks, home and habits: what bullying picks on
    "looks": ("teeth", "hair", "haircut", "glasses", "weight", "fat", "size", "smells", "smell", "poor", "skint", "ugly",
              "spots", "lisp", "monobrow", "trainers", "blazer", "uniform", "teddy", "baby", "wets", "crying", "cried",
              "alone", "friends", "nobody", "everyone", "anyone", "vote", "petition", "rate", "trending", "unfollow",
              "blank", "ignore"),
    # bodies and revealing clothes: with a pupil, a photo or a leer, the shape of a sexual comment about a child
    # (not the praise every proud parent writes: "cute", "gorgeous", "stunning", "fit", "top")
    "body": ("body", "bodies", "legs", "thighs", "bum", "bums", "arse", "ass", "chest", "cleavage", "curves", "curvy",
             "developed", "package", "bouncing", "lips", "skirt", "skirts", "socks", "shorts", "leggings", "bikini",
             "swimsuit", "swimsuits", "leotard", "leotards", "fanciable", "babe", "hottie"),
    "pupil": ("girl", "girls", "boy", "boys", "lad", "lads", "kid", "kids", "pupil", "pupils", "schoolgirl",
              "schoolgirls", "schoolboy", "u11", "u12", "u13", "u14", "u15", "u16", "u18", "sixth", "leavers", "squad",
              "team", "student", "students", "daughter", "son", "7", "8", "9", "10", "11", "12", "13", "year", "yr",
              "y7", "y8", "y9", "y10", "y11", "y12", "y13", "17", "16", "15", "14"),
    "medical": ("biology", "puberty", "reproduction", "rse", "anatomy", "science", "health", "nhs", "nurse", "doctor",
                "gp", "clinic", "vaccine", "vaccination", "lesson", "lessons", "curriculum", "diagram", "menstruation",
                "periods", "contraception", "consent", "wellbeing", "mental", "support", "helpline", "samaritans",
                "awareness", "prevention", "dissected", "organs", "biological", "genitals"),
    "photo": ("photo", "photos", "pic", "pics", "picture", "pictures", "snap", "video", "uncropped"),
    "staff": ("mr", "mrs", "miss", "ms", "sir", "dr", "teacher", "teachers", "head", "headteacher", "deputy",
              "principal", "caretaker", "receptionist", "bursar", "governor", "governors", "coach", "ta", "staff",
              "senco", "dinner", "lady", "ladies", "supply", "trust", "ceo"),
    "dox": ("lives", "address", "insta", "instagram", "snapchat", "linkedin", "tiktok", "hinge", "tinder", "profile",
            "private", "personal", "reg", "airbnb", "listing", "bio"),
}
# Words that insult only when said of someone ("Mr X is a snake", "she's a donkey on the pitch"):
# a comment gets the ``C:isa`` cue when one follows "is a", "'s a", "you're a", "such a" and the like.
SAID_OF_SOMEONE = frozenset({
    "pig", "cow", "rat", "snake", "witch", "clown", "donkey", "dinosaur", "weapon", "lettuce", "madam", "plank",
    "potato", "slob", "hack", "leech", "crook", "liar", "coward", "disgrace", "joke", "bully", "drama", "queen",
    "dragon", "battleaxe", "hag", "troll", "jobsworth", "hypocrite", "pervert", "perv", "wasteman", "scrounger",
    "slimeball", "weasel", "pillock", "plonker", "prat", "dunce", "bozo", "airhead", "bimbo", "nutter", "headcase",
    "lunatic", "maniac", "sadist", "tramp", "minger",
    "doormat", "moron", "idiot", "git", "knob", "muppet", "numpty", "loser", "freak", "baby", "snitch", "failure",
    "waste", "embarrassment", "thug", "psycho", "creep", "weirdo", "parasite", "fraud", "tyrant",
})

# Phrases (normalised, lowercase) that add the same cues.
CUE_PHRASES: dict[str, tuple[str, ...]] = {
    "selfharm": ("kill yourself", "kill urself", "neck yourself", "neck urself", "end it", "end yourself",
                 "unalive yourself", "unalive urself", "hang yourself", "slit your", "drink bleach", "starve herself",
                 "starve himself", "starve yourself", "don't wake up", "dont wake up", "jump off", "nobody would miss",
                 "no one would miss", "waste of oxygen", "take the whole", "do the world a favour", "do us all a favour",
                 "should die", "go die", "e_gun e_pointleft", "k y s", "cut urself", "just die", "hope you die",
                 "hope u die", "hope she dies", "hope he dies", "better off dead", "better off without you",
                 "off yourself", "off urself", "nobody would care", "no one would care", "do everyone a favour",
                 "hang urself", "rope yourself"),
    "threat": ("i know where", "knows where", "watch her back", "watch his back", "watch your back", "watch their back",
               "we'll find you", "we will find you", "see u at", "see you at", "coming up the school", "set fire",
               "burnt to the ground", "burn it down", "burn down", "six feet under", "won't make it", "wont make it",
               "be a shame if", "teach that", "teach her a lesson", "teach him a lesson", "a lesson", "proper kicking",
               "deserves a", "deserve their", "getting stabbed", "get stabbed", "i'll break", "ill break",
               "knock his", "knock her", "knock the", "dead men", "is dead", "he's dead", "she's dead", "you're dead",
               "ur dead", "carrying", "on a stretcher", "blood on", "make their life hell", "make his life hell",
               "make her life hell", "five minutes alone", "5 minutes alone", "after school", "at the gates",
               "tell the head to hide", "walks home", "past my house", "school shooting", "bomb in", "run while",
               "sort him out", "sort her out", "sort them out", "have a word outside", "what's coming", "whats coming",
               "teach them a lesson", "i'll be waiting"),
    "sexual": ("dm me", "send nudes", "how old is she", "how old is he", "could get it", "right goer", "gives good head",
               "on her knees", "on his knees", "cold shower", "all the right places", "worth her while",
               "worth his while", "wish i was", "giving me ideas", "want to see more", "hot tub", "is single",
               "asking for a", "hot singles", "well fit", "biggest package", "nice legs", "rate the",
               "would do her", "would do him", "send pics", "send me pics", "when she's 18",
               "when she turns 18", "legal yet", "barely legal", "age is just a number",
               "sugar daddy", "private snap"),
    "mock": ("nobody sit", "nobody pass", "no friends", "everyone make sure", "everyone blank", "pass it on",
             "spread the word", "comment if", "comments below", "out of 10", "i'll start", "i'll wait",
             "screenshot this", "let him look", "let her look", "alone forever", "sounds like", "looks like",
             "walk like", "the size of", "nobody likes her", "nobody likes him", "nobody likes you",
             "no one likes her", "no one likes him", "no one likes you", "everyone hates her", "everyone hates him",
             "everyone hates you", "does anyone like", "kick her out",
             "kick him out", "vote her out", "vote him out", "even her mum", "even his mum", "yo mama",
             "cry about it", "cry more", "why is she even", "why is he even", "teacher's pet", "teachers pet",
             "four eyes", "pizza face", "no mates", "billy no mates", "what a loser"),
    "insult": ("thick as", "face like", "piss-up", "pathetic excuse", "brain-dead", "brain dead", "waste of space",
               "drama queen", "two-faced", "big gob", "wet lettuce", "jumped-up", "no backbone", "struck off",
               "unfit to teach", "shouldn't be a teacher", "shouldnt be a teacher", "full of himself",
               "full of herself", "power trip", "can't teach", "cant teach", "couldn't teach"),
    "dox": ("lives at", "lives on", "lives in", "lives with", "address is", "new address", "home address",
            "personal number", "private insta", "dating profile", "maiden name", "every morning",
            "most nights", "parks on", "linked in my bio", "search '", "her snap", "his snap", "add her", "add him",
            "works at", "kids go to", "home email", "go round"),
    # slang praise and reports of abuse: what makes a violent or rude word harmless
    "praise": ("killed it", "killing it", "smashed it", "smashing it", "nailed it", "bossed it", "murdered it",
               "murdered that", "the bomb", "slayed", "slaying", "on fire", "sick goal", "filthy goal", "absolute legend",
               "proper legend", "made me cry", "crying laughing"),
    "report": ("said", "says", "saying", "remove", "removed", "delete", "deleted", "report", "reported", "admin",
               "admins", "screenshot of", "someone wrote", "aimed at", "called my", "called her", "called him"),
    "hate": ("go home", "send them back", "this is england", "white power", "shouldn't be teaching",
             "shouldn't teach", "should learn english", "hide your", "mental illness", "too emotional",
             "hold everyone", "(((they)))", "back where they came from", "back where you came from",
             "your own country", "their own country", "people like them"),
}

# Real places whose names contain a swear word (the data set already knows Scunthorpe and Cockburn).
DEFAULT_ALLOW: tuple[str, ...] = ("Penistone", "Twatt", "Shitterton")

# The data set's words that are not abuse in a comment to a school ("damn good job").
IGNORED_WORDS = frozenset({"damn"})
# Words that also occur inside proper nouns: place and school names (Biddick, Wansdyke, Cumnor,
# Penistone, Libanus, St Fagans), children's names (Anushka, Analia, Tanush). Inside a longer
# Capitalised word they are taken for part of a name, unless the rest is an insult ("Dickhead").
WEAK_WORDS = frozenset({"anal", "anus", "arse", "ass", "boob", "chink", "cock", "cuck", "cum", "dick", "dyke", "fag",
                        "hooker", "negro", "penis", "porn", "semen", "sex", "spic", "tit", "turd"})
INSULT_ENDINGS = _INSULT_ENDINGS = ("head", "heads", "face", "faces", "hole", "holes", "wad", "wads", "sucker", "suckers", "s", "ing",
                   "er", "ers")
# Lexicon words with innocent uses too (Swedish "slut" is "end", "faggots and peas", a quoted "kys",
# body-part and proper-noun words): a hit on one is left to the model, never the first pass alone.
AMBIGUOUS = WEAK_WORDS | frozenset({"slut", "fag", "kys", "kill yourself", "tits", "bloody", "hell", "crap", "bugger",
                                    "sod", "god", "kill you", "coming for you", "scum", "nonce", "slag",
                                    # clinical words of biology, RSE and safeguarding lessons
                                    "vagina", "semen", "orgasm", "ejaculate", "masturbate", "incest", "rape",
                                    "bestiality"})
# Slurs with no innocent use (normalised spellings): the first pass flags them wherever they are.
SURE_SLURS = frozenset({"nigger", "niggers", "nigga", "niggas", "paki", "pakis", "chinky", "chinkies", "wog", "wogs",
                        "kike", "kikes", "yid", "yids", "raghead", "ragheads", "towelhead", "towelheads", "golliwog",
                        "spastic", "spastics", "spaz", "spazz", "spacker", "spackers", "retard", "retards", "tranny",
                        "trannies", "faggot", "f*ggot", "poofs", "poofter", "polack", "polacks",
                        "taig", "taigs", "gyppo", "gyppos", "pikey", "pikeys", "gook", "gooks", "sambo", "darkie",
                        "darkies", "wetback", "kaffir"})

# English place names joined by "cum" ("Linby-cum-Papplewick", "Blyton Cum Laughton").
_CUM_PLACE = re.compile(r"[A-Z][a-z]+(?:-| )[Cc]um(?:-| )[A-Z][a-z]+")

_MASK_CHARS = "*#"
_MASKED_TOKEN = re.compile(r"(?<![\w*#])[^\W\d_][^\W\d_*#]*[*#][^\W\d_*#]*(?:[*#]+[^\W\d_*#]*)*(?![\w*#])")
_RUN3 = re.compile(r"(.)\1{2,}")  # three or more of one character
_SPACES = re.compile(r" {2,}")
_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


@dataclass(frozen=True, slots=True)
class Hit:
    """One abusive word or phrase: where it is in the original text and what kind it is."""

    start: int
    end: int
    word: str  # the data set's word ("fuck"), or the configured phrase
    kind: str  # profanity | masked | threat | attack


def _tables() -> tuple[dict[int, str], dict[int, str]]:
    """str.translate tables replaying pyobscenity's transformers, one character to one character."""
    from pyobscenity.transformers import confusable_mapping, leet_mapping

    black: dict[int, str] = {}
    white: dict[int, str] = {}
    for char in set(confusable_mapping) | set(leet_mapping) | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if len(char) != 1:
            continue
        plain = confusable_mapping.get(char, char)
        black_out = leet_mapping.get(plain, plain).lower()
        white_out = plain.lower()
        if len(black_out) == 1:
            black[ord(char)] = black_out
        if len(white_out) == 1:
            white[ord(char)] = white_out
    return black, white


def _lower_same_length(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _collapse(text: str, keep: int, runs: re.Pattern[str] = _RUN3) -> tuple[str, list[int] | None]:
    """Every run ``runs`` matches cut to its first ``keep`` characters.

    Returns the text and its index map into the input, or None for the map when nothing changed
    (the common case: one C-level search).
    """
    pos = 0
    out: list[str] = []
    index: list[int] = []
    for m in runs.finditer(text):
        cut = m.start() + keep
        out.append(text[pos:cut])
        index.extend(range(pos, cut))
        pos = m.end()
    if not out:
        return text, None
    out.append(text[pos:])
    index.extend(range(pos, len(text)))
    return "".join(out), index


def _span(m: re.Match[str], index: list[int] | None) -> tuple[int, int]:
    """A match's span in the text before collapsing."""
    if index is None:
        return m.start(), m.end()
    return index[m.start()], index[m.end() - 1] + 1


def _anchor(pattern: Any) -> str:
    """The longest run of required literal characters of a pyobscenity pattern."""
    from pyobscenity.pattern import LiteralNode

    runs = ["".join(chr(c) for c in node.chars) for node in pattern.nodes if isinstance(node, LiteralNode)]
    return max(runs, key=len) if runs else ""


_COMMON = frozenset("a an and for i is it of the to we you you'll your yourself will where school know".split())


def _phrase_anchor(phrase: str) -> str:
    """The phrase's least common word (longest first), a cheap substring test before its regex runs."""
    words = sorted(_WORD.findall(phrase.lower()), key=len, reverse=True) or [phrase.lower()]
    rare = [w for w in words if w not in _COMMON]
    return (rare or words)[0]


def _phrase_pattern(phrase: str) -> str:
    words = [re.escape(w) for w in phrase.lower().split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


class Lexicon:
    """A compiled matcher: ``find(text)`` gives the abusive words of a comment, ``[]`` for a clean one."""

    def __init__(self, *, threats: Iterable[str] = DEFAULT_THREATS, attacks: Iterable[str] = DEFAULT_ATTACKS,
                 allow: Iterable[str] = ()) -> None:
        from pyobscenity.english_preset import english_dataset

        built = english_dataset.build()
        self._black_table, self._white_table = _tables()
        self._terms: list[tuple[re.Pattern[str], str]] = []  # matched token by token
        anchors: set[str] = set()
        self._text_terms: list[tuple[re.Pattern[str], str, str]] = []  # patterns with a space: whole text
        for term in built["blacklisted_terms"]:
            container = english_dataset.containers[english_dataset.patternIdToContainerIndex[term["id"]]]
            word = str((container.metadata or {}).get("originalWord") or "")
            regex = term["pattern"].as_regex()
            if "\\x20" in regex:
                self._text_terms.append((re.compile(regex), word, _anchor(term["pattern"])))
            else:
                self._terms.append((re.compile(regex), word))
                anchors.add(_anchor(term["pattern"]))
        self._any = re.compile("|".join(f"(?:{p.pattern})" for p, _ in self._terms))
        # Every term contains its anchor (its longest literal run), so a token with none of them is clean:
        # one search of plain literals, many times cheaper than the terms' own alternation on a new token.
        self._anchors = (re.compile("|".join(re.escape(a) for a in sorted(anchors, key=lambda a: (-len(a), a))))
                         if anchors and "" not in anchors else None)
        self._token_hits = lru_cache(maxsize=1 << 16)(self._scan_token)
        white = [re.compile(t["pattern"]) for t in built["whitelisted_terms"]]
        # (term, a word it contains): the cheap substring test that skips most terms
        self._white_words = [(t, max(t.pattern.split(), key=len)) for t in white if " " not in t.pattern]
        self._white_phrases = [(t, max(t.pattern.split(), key=len)) for t in white if " " in t.pattern]
        self._phrases: list[tuple[re.Pattern[str], str, str]] = []
        for kind, phrases in (("threat", threats), ("attack", attacks)):
            for phrase in phrases:
                if phrase.strip():
                    self._phrases.append((re.compile(_phrase_pattern(phrase)), phrase.strip().lower(), kind))
        self._phrases_by_anchor: dict[str, list[tuple[re.Pattern[str], str, str]]] = {}
        for item in self._phrases:
            self._phrases_by_anchor.setdefault(_phrase_anchor(item[1]), []).append(item)
        allowed = [_phrase_pattern(a) for a in allow if a.strip()]
        self._allow = re.compile("|".join(allowed), re.IGNORECASE) if allowed else None
        by_length: dict[int, list[str]] = {}
        for word in MASKED_WORDS:
            by_length.setdefault(len(word), []).append(word)
        self._masked_by_length = by_length

    def find(self, text: str) -> list[Hit]:
        """Every abusive word or phrase in ``text``, in order; overlapping hits are merged."""
        if not text:
            return []
        hits: list[Hit] = []
        # Patterns and whitelisted terms without a space cannot cross whitespace, and whitespace is
        # a word boundary on both sides, so each whitespace-separated token is matched alone (and
        # remembered: comments reuse a small vocabulary). The rest is matched on the whole text.
        token_hits = self._token_hits
        if any(map(token_hits, text.split())):  # the common case, all clean, stays in C
            for m in _TOKEN.finditer(text):
                found = token_hits(m.group())
                if found:
                    offset = m.start()
                    hits.extend(Hit(offset + s, offset + e, word, "profanity") for s, e, word in found)
        normal = _lower_same_length(text.translate(self._black_table))
        for pattern, word, anchor in self._text_terms:
            if anchor in normal:
                collapsed, index = _collapse(normal, 2)
                hits.extend(Hit(*_span(mm, index), word, "profanity") for mm in pattern.finditer(collapsed))
        if hits:
            hits = [h for h in self._unwhitelisted(text, hits, self._white_phrases)
                    if h.word not in IGNORED_WORDS and not (h.word in WEAK_WORDS and _in_a_name(text, h))]
        # a phrase's pattern holds its anchor as a whole word: a plain substring test is enough to skip it
        for anchor, phrases in self._phrases_by_anchor.items():
            if anchor in normal:
                for pattern, word, kind in phrases:
                    hits.extend(Hit(m.start(), m.end(), word, kind) for m in pattern.finditer(normal))
        if "*" in text or "#" in text:
            hits.extend(self._masked_hits(text))
        if hits and self._allow is not None:
            allowed = [(m.start(), m.end()) for m in self._allow.finditer(text)]
            hits = [h for h in hits if not any(s < h.end and h.start < e for s, e in allowed)]
        return _merge(hits)

    def _scan_token(self, original: str) -> tuple[tuple[int, int, str], ...]:
        """The data set's matches in one token not covered by a one-word whitelisted term."""
        token = _lower_same_length(original.translate(self._black_table))
        collapsed, index = _collapse(token, 2)
        variants = [(collapsed, index)]
        if index is not None:
            # also with every long run cut to one letter ("fuuuuck" -> "fuck"), which the library misses
            variants.append(_collapse(token, 1))
        out: list[tuple[int, int, str]] = []
        for variant, variant_index in variants:
            if (self._anchors is not None and not self._anchors.search(variant)) or not self._any.search(variant):
                continue
            for pattern, word in self._terms:
                for m in pattern.finditer(variant):
                    if m.end() > m.start():
                        out.append((*_span(m, variant_index), word))
        if out:
            kept = self._unwhitelisted(original, [Hit(s, e, w, "profanity") for s, e, w in out], self._white_words)
            out = [(h.start, h.end, h.word) for h in kept]
        return tuple(out)

    def _unwhitelisted(self, text: str, hits: list[Hit], terms: Sequence[tuple[re.Pattern[str], str]]) -> list[Hit]:
        """The hits that overlap none of the data set's whitelisted terms ("dick whittington", "blue tit")."""
        white = _lower_same_length(text.translate(self._white_table))
        white, white_index = _collapse(white, 1, _SPACES)
        intervals: list[tuple[int, int]] = []
        if terms:
            # term by term, as the library does, so that overlapping whitelisted terms all count
            for term, anchor in terms:
                if anchor not in white:
                    continue
                intervals.extend(_span(m, white_index) for m in term.finditer(white))
        return [h for h in hits if not any(s < h.end and h.start < e for s, e in intervals)]

    def _masked_hits(self, text: str) -> list[Hit]:
        out = []
        for m in _MASKED_TOKEN.finditer(text):
            token = m.group(0).lower()
            letters = sum(1 for c in token if c not in _MASK_CHARS)
            if len(token) < 3 or (letters == 1 and len(token) < 4) or letters == 0:
                continue
            shape = re.compile("".join("[a-z]" if c in _MASK_CHARS else re.escape(c) for c in token))
            for word in self._masked_by_length.get(len(token), ()):
                if shape.fullmatch(word):
                    out.append(Hit(m.start(), m.end(), word, "masked"))
                    break
        return out


def _in_a_name(text: str, hit: Hit) -> bool:
    """The hit is part of a Capitalised word that looks like a name: longer than the hit (and not the
    hit plus an insult ending: "Dickhead"), or the bare word inside a sentence ("Offa's Dyke", "Fell
    Dyke School"), or, starting a sentence, a given name of the named_children check's table ("Dick")."""
    start, end = hit.start, hit.end
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    while end < len(text) and text[end].isalpha():
        end += 1
    word = text[start:end]
    if hit.word == "cum" and any(m.start() <= hit.start < m.end() for m in _CUM_PLACE.finditer(text)):
        return True
    if not (word[:1].isupper() and word[1:].islower()):
        return False
    if len(word) > hit.end - hit.start:
        low = word.lower()
        at = low.find(hit.word)
        rest = low[at + len(hit.word):] if at == 0 else low
        return rest not in _INSULT_ENDINGS
    before = text[:start].rstrip(" \t\"'“‘(")
    if before and before[-1] not in ".!?\n":
        return True  # a Capitalised word inside a sentence is a proper noun
    return word.lower() in name_tables()


def _merge(hits: Sequence[Hit]) -> list[Hit]:
    """Sorted hits, overlapping ones merged (the strongest kind kept: threat > attack > the rest)."""
    rank = {"threat": 3, "attack": 2, "profanity": 1, "masked": 1}
    out: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if out and hit.start < out[-1].end:
            last = out[-1]
            keep = hit if rank[hit.kind] > rank[last.kind] else last
            out[-1] = Hit(last.start, max(last.end, hit.end), keep.word, keep.kind)
        else:
            out.append(hit)
    return out


_TRAILING = ".,;:!?'\")]}’”"
_LEADING = "'\"([{‘“"


def word_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole word around ``start:end``: the run of non-space characters, without the punctuation
    that ends a sentence or closes a quote (so "f🦆**ing," gives "f🦆**ing")."""
    a, b = start, end
    while a > 0 and not text[a - 1].isspace():
        a -= 1
    while b < len(text) and not text[b].isspace():
        b += 1
    while a < b and text[a] in _LEADING:
        a += 1
    while b > max(a + 1, end) and text[b - 1] in _TRAILING:
        b -= 1
    return a, b


def mask_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text with every word touching a span masked after its first letter: every other character of
    the word becomes ``*``, emoji and digit stand-ins included ("w4nk3rs" -> "w******")."""
    chars = list(text)
    for start, end in spans:
        if end <= start:
            continue
        a, b = word_span(text, start, end)
        for i in range(a, b):
            if i == a and (chars[i].isalpha() or chars[i] in "$@!|"):
                continue
            if not chars[i].isspace():
                chars[i] = "*"
    return "".join(chars)


def mask(text: str, hits: Sequence[Hit]) -> str:
    """The text with every hit's whole word masked after its first letter ("f****** joke"), so reports never
    repeat abuse, nor leak it through an emoji or digit stand-in left unmasked."""
    return mask_spans(text, ((h.start, h.end) for h in hits))


@lru_cache(maxsize=16)
def lexicon(threats: tuple[str, ...] = DEFAULT_THREATS, attacks: tuple[str, ...] = DEFAULT_ATTACKS,
            allow: tuple[str, ...] = ()) -> Lexicon:
    """A compiled lexicon, built once per distinct configuration (compiling takes a few milliseconds)."""
    return Lexicon(threats=threats, attacks=attacks, allow=allow)
