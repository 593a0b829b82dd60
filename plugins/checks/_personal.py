"""Personal information in text: a person's mobile, personal email, home address or postcode, a date of birth.

Used by named_children (posts) and by the comments check (doxxing). What is *not* personal data:
the school's and the trust's own contact details.

* **Email addresses** at the school's or trust's own domains (from ``domains``/``allow_domains``, the
  school's ``website`` and feed URLs) and at public-sector suffixes (``.sch.uk``, ``.gov.uk``,
  ``.nhs.uk``, ``.ac.uk``, ``.police.uk``) are the organisation's. Elsewhere, a role mailbox
  (``office@``, ``admissions@``, ``pta.hexley@``, ``bookings@``) is an organisation's too; an address
  whose local part is a person's (``danni.hurst1988@``) is personal.
* **Phone numbers**: a mobile (07...) is personal unless it is one of the school's configured
  ``phones`` or the post says it is the school's (a trip mobile); a landline is personal only when
  the post ties it to a person or a home, and never when it is the school's.
* **Postcodes and addresses**: the school's own ``postcode`` and ``address`` are not personal, nor a
  venue's (a church, hall or club named beside it); a house number and street, or a postcode, in a
  post about someone's house are.
* **Dates of birth**: a full date with a year beside "born" or "date of birth", when a person is named.

Every hit carries a kind ("a personal mobile number") and a masked form for the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class PiiHit:
    kind: str  # "mobile number", "phone number", "personal email address", "postcode", "home address", "date of birth"
    shown: str  # masked

    @property
    def described(self) -> str:
        """'a personal mobile number': how a message names it."""
        return DESCRIBED.get(self.kind, self.kind)


DESCRIBED = {
    "mobile number": "a personal mobile number",
    "phone number": "a personal phone number",
    "personal email address": "a personal email address",
    "postcode": "a home postcode",
    "home address": "a home address",
    "date of birth": "a date of birth",
}

ORG_SUFFIXES = (".sch.uk", ".gov.uk", ".nhs.uk", ".ac.uk", ".police.uk")
ROLE_MAILBOXES = frozenset(
    """office admin administration admissions enquiries enquiry info information head headteacher principal
    senco sendco send bursar finance accounts clerk pta ptfa friends fos committee reception hello contact
    contactus governors governor safeguarding dsl attendance absence absences absenceline business school
    schooloffice sport sports pe music library it ict support help helpdesk communications comms marketing
    press media hr payroll catering kitchen lettings bookings booking trips uniform parents parent
    events fundraising donations membership secretary chair treasurer team club clubs nursery preschool
    wraparound breakfastclub afterschool holidayclub exams examinations careers transport hub mail
    noreply no-reply newsletter yr year class form ks eyfs sixthform pastoral wellbeing nurse therapies
    familysupport dpo workexperience transition""".split()
)

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# 07 and nine more digits, however grouped ("07700 900123", "0770 090 0123", "(07700) 900-123"), or +44/0044 7...
_PHONE_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)\s?44[\s.-]?(?:\(0\)[\s.-]?)?7|\(?07)(?:[\s.)-]{0,2}\d){9}(?!\d)")
_PHONE_LAND = re.compile(r"(?<![\d+])(?:\+44\s?\(?0?\)?\s?|\(?0)(?:1\d{2,4}|2\d|3\d{2}|8\d{2})\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\d)")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
_ADDRESS = re.compile(r"\b\d{1,4}[a-zA-Z]?,?\s+(?:(?:[A-Z][a-z]+\s+){1,3}(?:Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Drive|Dr|"
                      r"Way|Crescent|Grove|Gardens|Terrace|Place|Court|Walk|Mews|Rise|View|Row|Square|Hill|Park)\b"
                      # Welsh: the street's kind comes first ("12 Heol Pantycelyn", "23 Ffordd y Môr", "4 Lôn y Felin")
                      r"|(?:Heol|Stryd|Ffordd|Lôn|Lon|Maes|Rhodfa|Cilgant|Teras|Clos|Llys|Stad|Ystad|Gerddi)(?:\s+(?:y|yr)\s+|-(?:y|yr)-|\s+)"
                      r"[A-ZÂÊÎÔÛŴŶ][^\W\d_]+)")
_DATE = re.compile(r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}|\d{1,2}(?:st|nd|rd|th|af|il|ydd|edd|ed|fed|eg|ain)?\s+"
                   r"(?:of\s+|o\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
                   # Welsh months, and their forms after "o" ("3ydd o Fai 2015")
                   r"|Ionawr|Chwefror|[MF]awrth|Ebrill|[MF]ai|[MF]ehefin|G?orffennaf|Awst|[MF]edi|Hydref|[TD]achwedd|R(?:h)?agfyr)"
                   r"[a-z]*\.?,?\s+(?:19|20)\d{2})\b", re.I)
# "born between 1 September 2023 and 31 August 2024", "born on or after 1 September 2022": a year group
_COHORT = re.compile(r"\s+(?:between\b[^.!?\n]{1,40}?\band\b|on or (?:after|before)\b)")
_BIRTH = re.compile(r"\b(?:born|d\.?o\.?b\.?|date of birth|birthday|birth date"
                    r"|geni|g?anwyd|ganed|pen-?blwydd)\b"  # Welsh: birth ("dyddiad geni", "ei geni"), born, birthday
                    r"|(?<![.\w])(?<!\d )g\.(?=\s?\d)")  # "(g. 17/11/2011)": Welsh for "b."; not "e.g. 5", "200 g. 50 ml"
_VENUE = re.compile(r"\b(?:school|academy|church|parish|hall|office|reception|venue|centre|center|college|"
                    r"library|museum|cathedral|chapel|club|stadium|leisure|admissions|enquiries|nursery|surgery|"
                    r"hospital|baths|pool|station|shop|store|cafe|pub|hotel|mosque|gurdwara|temple|synagogue|trust|supplier|"
                    r"schoolwear|ltd|limited|fair|fete|concert|service|festival|disco|fixture|open\s+(?:morning|evening|day)|"
                    r"coffee\s+morning|performance|parade"
                    # Welsh, with the mutated first letters ("yng Nghapel Bethel"): hall, school, church, chapel, centre,
                    # library, office, club, hotel, pub, cafe, shop, theatre, museum, hospital, station, pool, concert,
                    # fair, service, festival
                    r"|neuadd|ysgol|eglwys|(?:c|g|ngh|ch)(?:apel|anolfan|lwb|yngerdd)|l?lyfrgell|swyddfa|g?westy"
                    r"|(?:t|d|nh|th)afarn|caffi|siop|theatr|amgueddfa|ysbyty|g?orsaf|(?:p|b|mh)wll|eisteddfod|ffair"
                    r"|g?wasanaeth|g?ŵyl)\b")
_HOME = re.compile(r"\b(?:my|her|his|their)\s+(?:house|home|porch|door|address|flat)\b|\b\w+['’]s\s+(?:house|home)\b"
                   r"|\bdrop(?:ped)?\s+(?:(?:it|them|off)\s+)?(?:at|to)\b(?!\s+(?:the\s+|our\s+)?(?:school|office|reception|main|front)\b)|\bdrop-off\s+is\s+at\b|\bblue door\b"
                   r"|\b(?:i|we|she|he|they)\s+(?:now\s+)?live\s+at\b|\blives\s+at\b"
                   r"|\b(?:my|her|his|their)\s+(?:old|new|home|own)\s+address\b|\bhome\s+(?:postcode|address)\b"
                   r"|\b(?:my|her|his|their)\s+place\s+(?:on|in|at)\b|\bthe\s+home\s+of\b"
                   r"|\blives?\s+(?:on|in|at)\s+(?:\d+\s+)?[a-z'’-]+\s+(?:road|street|lane|avenue|close|drive|way|crescent|grove|"
                   r"gardens|terrace|place|court|walk|mews|rise|view|row|square|hill|park)\b")
# The writer's word, straight before the address, that it is their own or a person's private one (read in posts: see
# _home_before): "... or with me at 14 Larch Close", "Personal address for cards: 9 Birch Row"; not "say hello to me
# at the fair at the Village Hall, 12 Church Street", "the private address of the trust office is ..."
_SAID_OWN = re.compile(r"(?:\b(?:with|to|from)\s+me\s+at|\b(?:personal|private|home)\s+address(?:\s+for\s+[a-z]+)?\s*[:\-–]?)\s*$")
# Whose the address is, said just before it in its sentence: a person ("Mrs Boase at", "someone at", "our
# neighbour at"), so a venue named elsewhere in the post does not make it a venue's
_PERSON_AT = re.compile(r"(?:\b(?:mrs|mr|ms|miss|mx|dr)\.?\s+[a-z'-]+|\b(?:someone|somebody|anyone|family|mum|dad|nan|nana|"
                        r"grandma|grandad|granny|parents?|neighbou?r|carer|her|him)\b)[^.!?\n]{0,25}\b(?:at|to)\s*\(?$")
# A landline is the school's, a church's or a club's unless the post ties it to a person or a home.
_PERSONAL = re.compile(r"\b(?:home|my|his|her|their)\s+(?:phone|number|landline|tel)\b|\b(?:ring|call|phone|text)\s+"
                       r"(?:me|him|her|them|us\s+at\s+home)\b|\bon\s+(?:her|his|my)\s+(?:own\s+)?(?:phone|landline)\b")
_SCHOOL_MOBILE = re.compile(r"\b(?:school(?:'s)?|trip|residential|duty|emergency\s+trip|nursery|setting(?:'s)?|office|club(?:'s)?"
                            r"|pta(?:'s)?)\s+(?:trip\s+)?(?:mobile|phone)\b|\bnot\s+(?:a\s+)?personal\b")
# ... unless the post says the number is a person's own: "this is Mr Walsh's own mobile", "his personal mobile",
# "Mrs Penrose's mobile", "text Mrs Penrose on 07700 ..."
_OWN_MOBILE = re.compile(r"\b(?:own|personal|private|home)\s+(?:mobile|phone|number)\b|\b(?:her|his|my|their)\s+mobile\b"
                         r"|\b(?!(?:school|setting|nursery|office|club|pta|trust|academy|college)['’]s)[a-z]+['’]s\s+(?:own\s+)?"
                         r"(?:mobile|phone|number)\b"
                         r"|\b(?:text|call|ring|phone|contact|message|whatsapp)\s+(?:mrs|mr|ms|miss|mx|dr)\.?\s+[a-z'’-]+\s+(?:on|at)\s*$")
_BACK_REFERENCE = re.compile(r"\b(?:this|that|it)\s+(?:is|number\s+is)\b|\bit['’]s\b")
_NEGATED = ("not the ", "not our ", "n't the ", "n't our ", "not a ", "not ")
_PHONE_HINT = re.compile(r"\d(?:[\s().-]{0,2}\d){8}")  # what _hints's phone answer stands for (tests compare them)
_PHONE_GAP = frozenset("().-")  # with spaces: what may part the digits of a phone number
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class OwnDetails:
    """The school's and the trust's own contact details: never personal information."""

    domains: tuple[str, ...] = ()  # lowercase, no leading dot; subdomains count
    postcodes: frozenset[str] = frozenset()  # "NM14AB": upper case, no spaces
    phones: frozenset[str] = frozenset()  # national digits: "01632960000"
    addresses: tuple[str, ...] = ()  # lowercase, single-spaced

    @classmethod
    def build(cls, domains: Iterable[str] = (), urls: Iterable[str] = (), postcodes: Iterable[str] = (),
              phones: Iterable[str] = (), addresses: Iterable[str] = ()) -> OwnDetails:
        """From configured domains, and the domains of the school's website and feed URLs."""
        found = {d.lower().strip().lstrip(".") for d in domains if d and d.strip()}
        for url in urls:
            try:
                host = (urlsplit(url).hostname or "") if "//" in (url or "") else ""
            except ValueError:  # a malformed URL in the config: no domain from it
                continue
            if host:
                found.add(host[4:] if host.startswith("www.") else host)
        found = {d for d in found if not _shared_domain(d)}
        return cls(domains=tuple(sorted(found)),
                   postcodes=frozenset(p.upper().replace(" ", "") for p in postcodes if p),
                   phones=frozenset(national_digits(p) for p in phones if p),
                   addresses=tuple(" ".join(a.lower().split()) for a in addresses if a))


SHARED_DOMAINS = ("facebook.com", "fb.com", "x.com", "twitter.com", "instagram.com", "youtube.com", "youtu.be",
                  "bsky.app", "bsky.social", "tiktok.com", "linkedin.com", "google.com", "sites.google.com",
                  "wordpress.com", "blogspot.com", "wixsite.com", "squarespace.com", "mastodon.social")


def _shared_domain(domain: str) -> bool:
    """A free mail provider or a platform many people share: never a school's own domain."""
    return any(domain == d or domain.endswith("." + d) for d in SHARED_DOMAINS) or _free_mail(domain)


def _free_mail(domain: str) -> bool:
    return any(domain.startswith(p) or ("." + p) in domain for p in FREE_MAIL)


def national_digits(phone: str) -> str:
    """'+44 (0)7700 900123', '0044 7700 900123' and '07700 900123' all give '07700900123'."""
    digits = "".join(_DIGITS.findall(phone))
    if digits.startswith("00"):
        digits = digits[2:]
        if not digits.startswith("44"):
            return "00" + digits  # another country's number, as written
    if digits.startswith("44"):
        digits = digits[2:]
        digits = digits if digits.startswith("0") else "0" + digits
    return digits


def own_domain(domain: str, own: OwnDetails) -> bool:
    domain = domain.lower()
    if domain.endswith(ORG_SUFFIXES):
        return True
    return any(domain == d or domain.endswith("." + d) for d in own.domains)


def role_mailbox(local: str) -> bool:
    """'office', 'pta.hexley', 'stmaryspta', 'bookings2026': an organisation's mailbox. A person's
    name first ('jane.office', 'amy.nurse', 'j.head1985') or a year of birth at the end is not."""
    low = local.lower()
    if re.search(r"(?:19[4-9]\d|200\d)$", low):
        return False
    parts = [p for p in re.split(r"[._+\-\d]+", low) if p]
    if not parts:
        return False
    if len(parts) > 1:
        return parts[0] in ROLE_MAILBOXES
    word = parts[0]
    return word in ROLE_MAILBOXES or any(word.startswith(r) or word.endswith(r) for r in ROLE_MAILBOXES if len(r) >= 3
                                         and len(word) > len(r) + 2 and r not in _SHORT_AFFIXES)


_SHORT_AFFIXES = frozenset(("year", "form", "press", "head", "it", "pe", "hub", "mail", "chair", "team", "club", "send",
                            "nurse", "class", "help"))


FREE_MAIL = ("gmail.", "googlemail.", "hotmail.", "outlook.", "live.", "icloud.", "me.com", "yahoo.", "btinternet.",
             "aol.", "sky.com", "virginmedia.", "talktalk.", "protonmail.", "proton.me", "gmx.", "mail.com", "ymail.")
_PERSON_LOCAL = re.compile(r"^[a-z]\.?[a-z]{2,}|[a-z]{2,}[._][a-z]{2,}|\d{2,4}$")


def person_mailbox(local: str, domain: str) -> bool:
    """An address that is a person's own: at a free mail provider, or with a name-shaped local part
    ('jane.smith', 'd.harrop1962', 'lou.carver82'); never a role mailbox."""
    if role_mailbox(local):
        return False
    domain = domain.lower()
    if _free_mail(domain):
        return True
    low = local.lower()
    if re.search(r"[._-]", low) and _PERSON_LOCAL.search(low):
        return True
    return bool(re.search(r"(?:19|20)\d{2}$|\D\d{2}$", low))


def _mask_email(local: str, domain: str) -> str:
    """'j***@gmail.example', 'j***@***.me': a personal domain can be a surname."""
    if _free_mail(domain):
        return f"{local[:1]}***@{domain}"
    return f"{local[:1]}***@***.{domain.rsplit('.', 1)[-1]}"


_DIGIT_OR_AT = re.compile(r"[\d@]")
# not r"\d+": a pattern that opens with a character class lets the regex engine skip to the next digit
# (a third faster on a post); the runs found are the same
_DIGIT_RUN = re.compile(r"\d\d*")


def _phone_gap(c: str) -> bool:
    return c.isspace() or c in _PHONE_GAP


def _hints(text: str) -> tuple[bool, bool]:
    """(a phone number may be here, a postcode or house number may be here), read from the digit runs
    alone: nine digits, each run of them parted from the next by one or two spaces, brackets, dots or
    hyphens (what ``_PHONE_HINT`` finds, without its scan of every character); a capital before a digit
    ("NM1") or a capitalised word after a number ("12 Oak")."""
    places = False
    phone = False
    chain = 0  # digits in the runs ending here that only short separators join ("07700 900 123")
    last = -3
    size = len(text)
    for m in _DIGIT_RUN.finditer(text):
        start, end = m.span()
        if not phone:
            if start - last > 2 or not _phone_gap(text[last]) or (start - last == 2 and not _phone_gap(text[last + 1])):
                chain = 0
            chain += end - start
            phone = chain >= 9
            last = end
        if places:
            continue
        if start and text[start - 1].isupper():  # a hint may say yes too often, never too rarely
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
    return phone, places


def _found_at(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> list[re.Match[str]]:
    """What ``pattern.finditer(text)`` finds, trying only ``starts`` (ascending): where every match of
    ``pattern`` must begin. Matches do not overlap, as finditer's do not."""
    found: list[re.Match[str]] = []
    end = 0
    for start in starts:
        if start < end:
            continue
        m = pattern.match(text, start)
        if m is not None:
            found.append(m)
            end = m.end()
    return found


def _may_say_birth(lower: str) -> bool:
    """Whether ``_BIRTH`` can match: every spelling of it holds one of these (a few substring searches
    are much cheaper than the pattern's scan of a text that says none of them)."""
    return "born" in lower or "birth" in lower or "dob" in lower or "d.o" in lower or "do." in lower \
        or "geni" in lower or "anwyd" in lower or "ganed" in lower or "blwydd" in lower or "g." in lower


def might_be_personal(text: str) -> bool:
    """Every kind of personal information has a digit or an @: a text with neither is passed over."""
    return _DIGIT_OR_AT.search(text) is not None


def _home_before(lower: str, start: int, claims: bool = False) -> bool:
    """Whether the sentence of the address at ``start`` says, before it, that it is someone's home ("drop them at
    my house, 9 Kestrel Drive"; "home postcode NM5 2ZZ"); a home named in another sentence ("please update your
    home address with us. Our new office is at ...") says nothing about it. ``claims``: the writer's word that it
    is their own counts too ("with me at 14 Larch Close", "personal address for cards: ..."): a post's writer
    speaks for a person the school names; a commenter who gives their own address is doxxing nobody."""
    lo = max(_sentence_start(lower, start), start - 200)
    return _HOME.search(lower, lo, start) is not None or (claims and _SAID_OWN.search(lower, max(lo, start - 60), start) is not None)


def _sentence_end(lower: str, start: int) -> int:
    """Where the sentence holding ``start`` ends, just after its closing marks (a closing bracket's sentence counts
    as this one), at most 120 characters on."""
    found = _SENTENCE_BREAK.search(lower, start, start + 120)  # not the dots of "sghk.example.sch.uk"
    return found.end() if found else start + 120


def _venue_beside(lower: str, start: int, end: int) -> bool:
    """Whether the address at ``start:end`` is a venue's: a church, hall, club, school or office named in its
    sentence or the one before ("Open morning at our school! Find us at 14 Hawthorn Rise"), unless its own
    sentence says just before it that it is a person's ("Please return forms to Mrs Boase at 14 Trelawney
    Close", "a licence for someone at 27 Hawthorn Rise"): then a venue nearby says nothing about it."""
    own = _sentence_start(lower, start)
    if _PERSON_AT.search(lower, own, start) is not None:
        return False
    before = _sentence_start(lower, max(own - 1, 0)) if own else 0
    return _VENUE.search(lower, max(before, start - 200), start) is not None  # not "6 Church Row" itself


# A sentence ends at its closing marks and any quote or bracket after them: an exclamation or question mark or an
# ellipsis anywhere; full stops before a space ("... mobile.) It is ..."), or straight after a number's digits or a
# closing bracket or quote and before a letter ("07700 900432.It is ..."); and at a line break. Not at the dots of
# "sghk.example.sch.uk"
_SENTENCE_BREAK = re.compile(r"[!?…]+[.!?…]*[\"'”’)\]]*|\.+[\"'”’)\]]*(?=\s)|(?<=[\d)\]\"'”’])\.+(?=[^\W\d_])|\n")


def _sentence_start(lower: str, pos: int) -> int:
    """Where the sentence holding ``pos`` starts (looking back at most 400 characters)."""
    start = max(0, pos - 400)
    for m in _SENTENCE_BREAK.finditer(lower, start, pos):
        start = m.end()
    return start


def _said_to_be_the_schools(lower: str, start: int, end: int) -> bool:
    """Whether the text says the mobile at ``start:end`` is the school's: a school cue ("the school's trip phone",
    "the nursery mobile") before it in its sentence, or in a clause attached to it ("07700 900620 (the setting's
    phone, not personal)"), and nearer the number than anything saying it is a person's ("his personal mobile",
    "Mrs Penrose's mobile", "text Mrs Penrose on ..."). A cue later in the sentence ("... if the school phone is
    engaged") or negated ("not the school phone") does not count."""
    def cues(lo: int, hi: int, after: bool) -> list[tuple[int, str]]:  # (distance from the number, whose)
        return [(k.start() - end if after else start - k.start(), whose)
                for whose, cue in (("school", _SCHOOL_MOBILE), ("own", _OWN_MOBILE))
                for k in cue.finditer(lower, lo, hi)
                if not (lower.endswith(_NEGATED, 0, k.start()) and (after or whose == "school"))]

    said = cues(max(start - 80, _sentence_start(lower, start)), start, after=False)
    if lower[end:end + 3].lstrip().startswith("("):  # a bracket attached to the number: "07700 900620 (the ...)"
        close = lower.find(")", end)
        said += cues(end, min(end + 120, close + 1 if close >= 0 else len(lower)), after=True)
    if not said or min(said)[1] != "school":
        return False
    # the next sentence may take it back: "Trip phone: 07700 900432. Please note this is Mr Walsh's own mobile."
    after = _sentence_end(lower, end)
    following = lower[after:_sentence_end(lower, after + 1)]
    return not (_BACK_REFERENCE.search(following) and _OWN_MOBILE.search(following))


def personal_data(text: str, own: OwnDetails | None = None, named: bool = False, claims: bool = True) -> list[PiiHit]:
    """Personal information in ``text``; ``named``: the text names a person (a date of birth needs one);
    ``claims``: whether the text's own word counts that a mobile is the school's, or that an address is the
    writer's or a person's private one (a post's does; a comment's, written by anyone, does not)."""
    if not might_be_personal(text):
        return []
    return personal_data_in(text, own, named, claims)


def personal_data_in(text: str, own: OwnDetails | None = None, named: bool = False, claims: bool = True) -> list[PiiHit]:
    """:func:`personal_data` for a text that :func:`might_be_personal` has said yes to (not asked again)."""
    own = own or OwnDetails()
    hits: list[PiiHit] = []
    if "@" in text:
        for m in _EMAIL.finditer(text):
            local, domain = m.group(1), m.group(2)
            if not own_domain(domain, own) and person_mailbox(local, domain):
                hits.append(PiiHit("personal email address", _mask_email(local, domain.lower())))
    phones, places = _hints(text)
    if not (phones or places or named):
        return hits
    lower = text.lower()  # the word patterns below are written in lowercase
    if phones:
        for m in _PHONE_MOBILE.finditer(text):
            if national_digits(m.group()) in own.phones:
                continue
            if claims and _said_to_be_the_schools(lower, m.start(), m.end()):
                continue  # "the school's trip mobile is ...", "07700 900620 (the setting's phone, not personal)"
            hits.append(PiiHit("mobile number", m.group()[:4] + "*** ***"))
        mobiles = [(mm.start(), mm.end()) for mm in _PHONE_MOBILE.finditer(text)]  # once, not once per landline
        landlines = [m for m in _PHONE_LAND.finditer(text) if national_digits(m.group()) not in own.phones
                     and not any(a <= m.start() < b for a, b in mobiles)]
        if landlines and _PERSONAL.search(lower) is not None:
            hits.extend(PiiHit("phone number", m.group()[:4] + "*** ***") for m in landlines)
    if places:
        runs = [m.start() for m in _DIGIT_RUN.finditer(text)]
        addresses = _found_at(_ADDRESS, text, runs)  # a house number: the start of a run of digits
        postcodes = _found_at(_POSTCODE, text, sorted({s for r in runs for s in (r - 2, r - 1) if s >= 0}))  # 1-2 capitals first
        if addresses or postcodes:
            for m in addresses:
                if any(" ".join(m.group().lower().split()) in a for a in own.addresses):
                    continue
                home = _home_before(lower, m.start(), claims)
                if not home and _venue_beside(lower, m.start(), m.end()):
                    continue
                hits.append(PiiHit("home address", "a house number and street"))
            for m in postcodes:
                code = m.group().replace(" ", "")
                if code in own.postcodes or any(code.lower() in a.replace(" ", "") for a in own.addresses):
                    continue
                home = _home_before(lower, m.start(), claims)
                if not home and (_venue_beside(lower, m.start(), m.end())
                                 or not any(h.kind == "home address" for h in hits)):
                    continue  # a venue's postcode, or a postcode alone with no house: a place, not a home
                hits.append(PiiHit("postcode", m.group().split()[0][:2] + "** ***"))
    if named and _may_say_birth(lower):
        for m in _BIRTH.finditer(lower):
            if _COHORT.match(lower, m.end()):
                continue  # "children born between 1 September 2023 and 31 August 2024": a year group, not a person
            if _DATE.search(text, max(0, m.start() - 40), m.end() + 40):
                hits.append(PiiHit("date of birth", "a date of birth next to a name"))
                break
    return hits
