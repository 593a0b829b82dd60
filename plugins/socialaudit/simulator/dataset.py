"""The simulator's fictional data set: every demo account's posts, generated from the ISO week.

Each account has a :class:`Profile` (how often it posts, whether it promotes events, names a child
under a photo, or fails in some way). Posts for a week are generated from a seed made of the
account and the week, so any week, past or future, gives the same posts on every machine and every
run. Events come from the demo trust config, so a promoted event matches the calendar.

All schools, people and places here are fictional.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from socialaudit.config import DEFAULT_CONFIG, ConfigError, Demo, load_config
from socialaudit.weeks import IsoWeek

TZ = ZoneInfo("Europe/London")


@dataclass(frozen=True, slots=True)
class SimMedia:
    type: str  # photo | video
    url: str
    alt: str | None


@dataclass(frozen=True, slots=True)
class SimPost:
    id: str
    created_at: datetime  # UTC
    title: str
    text: str
    media: tuple[SimMedia, ...] = ()
    links: tuple[str, ...] = ()
    is_reply: bool = False
    is_repost: bool = False
    comments: tuple[tuple[str, str, str], ...] = ()  # (id, author, text)
    # comments a moderator removes later: (id, author, text, removed_at UTC), visible until removed_at
    moderated: tuple[tuple[str, str, str, datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """A weekly (or every-n-weeks) event in a demo school's iCalendar feed, /calendar/<school>.ics."""

    uid: str
    title: str
    kind: str  # open_evening | parents_evening | parish | other (written as the event's CATEGORIES)
    first: date  # DTSTART's day; the RRULE repeats it every ``every_weeks`` weeks
    start_minute: int = 9 * 60  # local time of day it starts
    every_weeks: int = 1

    def occurrences(self, since: date, until: date) -> list[date]:
        """The event's days in [since, until): what expanding its RRULE gives."""
        step = timedelta(weeks=self.every_weeks)
        day = self.first
        if since > day:
            day += step * ((since - day) // step)
        out = []
        while day < until:
            if day >= since:
                out.append(day)
            day += step
        return out


# The demo schools' recurring events, served as iCalendar feeds so that event promotion has events
# in any week. Holy Cross never promotes its Mass (its profile does not promote events).
DEMO_CALENDARS: dict[str, tuple[CalendarEntry, ...]] = {
    "st-aidans": (CalendarEntry("st-aidans-open-morning@st-aidans.example.sch.uk", "Open morning for Reception 2027",
                                "open_evening", date(2026, 9, 10), 9 * 60 + 30),),
    "holy-cross": (CalendarEntry("holy-cross-mass@holy-cross.example.sch.uk", "Parish Mass with Year 5", "parish",
                                 date(2026, 9, 9), 9 * 60 + 15),),
    "our-lady": (CalendarEntry("our-lady-family-mass@our-lady.example.sch.uk", "Family Mass in the school hall", "parish",
                               date(2026, 9, 6), 10 * 60, every_weeks=2),),
    "sacred-heart": (CalendarEntry("sacred-heart-open-afternoon@sacred-heart.example.sch.uk", "Open afternoon for new families",
                                   "open_evening", date(2026, 9, 9), 14 * 60),),
}


@dataclass(frozen=True, slots=True)
class Profile:
    """How one simulated account behaves."""

    school: str
    school_name: str
    domain: str
    per_week: int = 4
    promotes_events: bool = True
    names_child: bool = False
    bad_links: bool = False  # two posts a week whose links the external_links check must flag
    # "", "unknown", "500", "flaky", "429", "429-once", "slow", "truncated", "malformed", "401", "bomb"
    # (XML entity bomb), "gzip-bomb", "bad-item" (one malformed item per page), "quota" (YouTube)
    fault: str = ""
    # X and Meta add "402", "403", "suspended", "protected", "190", "10" (see platform_x.py, graph.py)
    crosspost_of: str = ""  # another account slug whose posts this one repeats
    events: tuple[tuple[str, str, date], ...] = ()  # (title, kind, date)
    extra: dict[str, str] = field(default_factory=dict)
    handle: str = ""  # the account's handle on its platform when it differs from the slug
    reposts: bool = False  # also shares (boosts, reposts) one post of another account each week
    abusive_comment: bool = False  # in every ISO week numbered 3 mod 4, see with_abusive_comment()
    # recurring events of the school's iCalendar feed (see DEMO_CALENDARS); promoted when promotes_events
    calendar: tuple[CalendarEntry, ...] = ()


ACTIVITIES = [
    ("Year 3 Romans", "Year 3 built Roman shields from cardboard and tested them in a very orderly testudo."),
    ("Reception autumn walk", "Reception went on an autumn walk round the field, collecting leaves for their collage."),
    ("Year 6 science", "Year 6 investigated how the length of a pendulum changes its swing. Great predictions!"),
    ("Choir practice", "Our choir has started rehearsing for the Advent service. They sound wonderful."),
    ("Year 1 phonics", "Year 1 families: thank you for coming to the phonics workshop this morning."),
    ("Eco council", "The eco council counted every light left on at lunchtime and made posters to fix it."),
    ("Year 5 netball", "Year 5 played their first netball tournament of the year and came home smiling."),
    ("Library week", "Library week: every class visited the library and chose a book to take home."),
    ("Year 2 Great Fire", "Year 2 retold the story of the Great Fire of London with puppets they made."),
    ("Harvest collection", "Thank you for your harvest donations; they have gone to the local food bank."),
    ("Year 4 coding", "Year 4 programmed floor robots to find their way through a maze of cones."),
    ("Art gallery", "Our corridor gallery now shows the self-portraits painted by Year 6."),
]


def _demo_block() -> Demo:
    """The bundled demo trust's ``demo:`` block: the simulator and the pipeline read the same data."""
    config = load_config(DEFAULT_CONFIG)
    if config.demo is None:
        raise ConfigError(f"{DEFAULT_CONFIG}: the demo trust has no demo: block")
    return config.demo


DEMO = _demo_block()
# Fictional web hosts served by the simulator (platform_links.py): a link shortener and two sites. The
# demo's link resolver pins exactly these hosts to the simulator's address and opens nothing else.
DEMO_WEB_HOSTS = tuple(DEMO.web_hosts)
SHORT_LINKS = {"maths": "http://mathsgames-casino.demo.example/web/spin"}  # the maths site's domain lapsed
BAD_LINK_POSTS = [
    ("Times tables", "Practise your times tables at home with these maths games: http://short.demo.example/s/maths",
     "http://short.demo.example/s/maths"),
    ("Scout camp", "Photos from the Year 6 scout camp are on the scout group's website.",
     "http://northmoor-scouts.demo.example/web/camp"),
]

LINKS = [
    "https://www.gov.uk/school-term-holiday-dates",
    "https://www.bbc.co.uk/bitesize/primary",
    "https://www.nationaltrust.org.uk/visit",
]

CHILD_NAMES = [("Ava", "Kowalczyk"), ("Leo", "Brennan"), ("Mia", "Osei"), ("Oscar", "Lindqvist")]

EVENT_WORDS = {
    "open_evening": "Open Evening",
    "parents_evening": "Parents' Evening",
    "parish": "Parish Mass",
    "other": "event",
}


def _seed(*parts: str) -> random.Random:
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _moment(monday: date, day: int, minute_of_day: int) -> datetime:
    local = datetime.combine(monday + timedelta(days=day), time(0), TZ) + timedelta(minutes=minute_of_day)
    # Rebuild from wall-clock parts so daylight-saving weeks keep local times as written.
    local = datetime(local.year, local.month, local.day, minute_of_day // 60, minute_of_day % 60, tzinfo=TZ)
    return local.astimezone(timezone.utc)


# (slug, week, id(profile)) -> (profile, posts): every timeline request regenerated 60 weeks of posts
# (about 6 ms), which made the simulator, not the pipeline, the cost in a benchmark of thousands of
# accounts. The profile is kept with its posts, so an id is never reused while its entry lives.
_WEEKS: dict[tuple[str, str, int], tuple[Profile, tuple[SimPost, ...]]] = {}
_WEEKS_MAX = 200_000


def week_posts(slug: str, profile: Profile, week: IsoWeek) -> list[SimPost]:
    """The posts this account published in ``week``, oldest first (generated once, then remembered)."""
    key = (slug, str(week), id(profile))
    cached = _WEEKS.get(key)
    if cached is not None and cached[0] is profile:
        return list(cached[1])
    posts = _generate_week(slug, profile, week)
    if len(_WEEKS) >= _WEEKS_MAX:
        _WEEKS.clear()
    _WEEKS[key] = (profile, tuple(posts))
    return posts


def _generate_week(slug: str, profile: Profile, week: IsoWeek) -> list[SimPost]:
    if profile.crosspost_of:
        return []  # resolved by the caller, which knows the other profile
    rng = _seed(slug, str(week))
    monday = week.monday
    count = max(0, profile.per_week + (rng.choice([0, 0, 0, 1]) if profile.per_week >= 3 else 0))
    days = sorted(rng.sample(range(5), k=min(count, 5))) + [rng.randrange(5) for _ in range(max(0, count - 5))]
    posts: list[SimPost] = []
    for n, day in enumerate(sorted(days)):
        title, body = ACTIVITIES[rng.randrange(len(ACTIVITIES))]
        minute = rng.randrange(8 * 60, 17 * 60)
        media: tuple[SimMedia, ...] = ()
        if rng.random() < 0.7:
            media = (SimMedia("photo", f"https://{profile.domain}/uploads/{week}/{slug}-{n}.jpg",
                              rng.choice(["Pupils working together at a table", "Children's artwork on display",
                                          None, "A class outside on the school field"])),)
        links: tuple[str, ...] = ()
        if rng.random() < 0.25:
            links = (rng.choice(LINKS),)
        posts.append(SimPost(id=f"{slug}-{week}-{n}", created_at=_moment(monday, day, minute), title=title,
                             text=body, media=media, links=links))
    if profile.promotes_events:
        for title, kind, when in profile.events:
            # promote each event in the week that starts 8 to 14 days before it
            if monday + timedelta(days=8) <= when <= monday + timedelta(days=14):
                label = EVENT_WORDS.get(kind, title)
                text = (f"Save the date: our {label} is on {when.strftime('%A')} {_ordinal(when.day)} "
                        f"{when.strftime('%B')} at 6pm. All families are welcome - please share!")
                posts.append(SimPost(id=f"{slug}-{week}-event-{kind}", created_at=_moment(monday, 2, 16 * 60 + 5),
                                     title=title, text=text, links=(f"https://{profile.domain}/events/",)))
    if profile.promotes_events and profile.calendar:
        _promote_calendar(slug, profile, week, posts)
    if profile.names_child:
        first, last = CHILD_NAMES[(week.week + week.year) % len(CHILD_NAMES)]
        posts.append(SimPost(
            id=f"{slug}-{week}-star", created_at=_moment(monday, 4, 15 * 60 + 30), title="Star of the week",
            text=f"Well done to {first} {last} in Year 4, our star of the week, for a brilliant poem about autumn!",
            media=(SimMedia("photo", f"https://{profile.domain}/uploads/{week}/star.jpg",
                            f"{first} holding a certificate in the hall"),)))
    if profile.bad_links:
        for n, (title, text, link) in enumerate(BAD_LINK_POSTS):
            posts.append(SimPost(id=f"{slug}-{week}-link-{n}", created_at=_moment(monday, 1 + 2 * n, 11 * 60 + 15),
                                 title=title, text=text, links=(link,)))
    # one reply to a parent each week, which the frequency check must not count
    if profile.per_week >= 2:
        posts.append(SimPost(id=f"{slug}-{week}-reply", created_at=_moment(monday, 3, 19 * 60), title="",
                             text="Thank you! It will be on the newsletter on Friday.", is_reply=True))
    posts.sort(key=lambda p: p.created_at)
    return posts


def _promote_calendar(slug: str, profile: Profile, week: IsoWeek, posts: list[SimPost]) -> None:
    """Mention next week's calendar events in this week's first regular posts (in place, so the
    number of posts, and every other check's figures, stay as they were)."""
    rng = _seed(slug, str(week), "calendar")
    upcoming = [(entry, day) for entry in profile.calendar
                for day in entry.occurrences(week.monday + timedelta(days=7), week.monday + timedelta(days=14))]
    regular = [i for i, p in enumerate(posts) if not p.is_reply and "-event-" not in p.id]
    for (entry, day), index in zip(upcoming, regular, strict=False):
        post = posts[index]
        label = EVENT_WORDS.get(entry.kind, entry.title) if entry.kind != "open_evening" else entry.title.split(" for ")[0]
        hour, minute = divmod(entry.start_minute, 60)
        when = rng.choice([f"on {day.strftime('%A')} {_ordinal(day.day)} {day.strftime('%B')}",
                           f"next {day.strftime('%A')}", f"on {day.day}/{day.month}", f"on {day.day} {day.strftime('%b')}"])
        note = f" Our next {label} is {when} at {hour}:{minute:02d} - all welcome!"
        posts[index] = SimPost(id=post.id, created_at=post.created_at, title=post.title, text=post.text + note,
                               media=post.media, links=post.links, is_reply=post.is_reply, is_repost=post.is_repost,
                               comments=post.comments)


def calendar_ics(school: str, entries: tuple[CalendarEntry, ...], school_name: str = "") -> str:
    """A school's iCalendar feed: one VEVENT with a weekly RRULE per entry (times in Europe/London)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//socialaudit simulator//demo school calendar//EN",
             f"X-WR-CALNAME:{school_name or school} (fictional)", "X-WR-TIMEZONE:Europe/London"]
    for entry in entries:
        hour, minute = divmod(entry.start_minute, 60)
        start = f"{entry.first:%Y%m%d}T{hour:02d}{minute:02d}00"
        end_hour = min(23, hour + 1)
        lines += ["BEGIN:VEVENT", f"UID:{entry.uid}", "DTSTAMP:20260901T080000Z",
                  f"DTSTART;TZID=Europe/London:{start}", f"DTEND;TZID=Europe/London:{entry.first:%Y%m%d}T{end_hour:02d}{minute:02d}00",
                  f"RRULE:FREQ=WEEKLY;INTERVAL={entry.every_weeks}", f"SUMMARY:{entry.title}",
                  f"CATEGORIES:{entry.kind}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def posts_between(slug: str, profiles: dict[str, Profile], since: datetime, until: datetime) -> list[SimPost]:
    """Every post of an account in [since, until), newest first, as feeds and APIs list them."""
    profile = profiles[slug]
    source_slug = profile.crosspost_of or slug
    source = profiles[source_slug]
    week = IsoWeek.containing(since.astimezone(TZ).date())
    out: list[SimPost] = []
    while week.monday <= until.astimezone(TZ).date():
        for post in week_posts(source_slug, source, week):
            if since <= post.created_at < until:
                if profile.crosspost_of:
                    post = SimPost(id=post.id.replace(source_slug, slug, 1), created_at=post.created_at + timedelta(minutes=3),
                                   title=post.title, text=post.text, media=post.media, links=post.links,
                                   is_reply=post.is_reply)
                if profile.abusive_comment:
                    post = with_abusive_comment(post, week)
                out.append(post)
        week = week + 1
    out.sort(key=lambda p: p.created_at, reverse=True)
    return out


ABUSIVE_COMMENT = "this school is a f***ing joke, sort the car park out"


def with_abusive_comment(post: SimPost, week: IsoWeek) -> SimPost:
    """The week's first post, in weeks numbered 3 mod 4 (2026-W47, W51, ...), draws one abusive comment
    (fictional, self-censored) three hours after it is posted; the school removes it on the following
    Monday at 10:00, after the 06:00 weekly audit. So that audit flags it and the next one finds it gone.
    """
    if week.week % 4 != 3 or not post.id.endswith(f"-{week}-0") or post.is_reply or post.is_repost:
        return post
    removed_at = datetime.combine(week.sunday + timedelta(days=1), time(10), TZ).astimezone(timezone.utc)
    comment = (f"{post.id}-abuse", "angry_fict_parent", ABUSIVE_COMMENT, removed_at)
    return SimPost(id=post.id, created_at=post.created_at, title=post.title, text=post.text, media=post.media,
                   links=post.links, is_reply=post.is_reply, is_repost=post.is_repost, comments=post.comments,
                   moderated=(comment,))


def demo_profiles(config_path: str | None = None) -> dict[str, Profile]:
    """Profiles for the demo trust, keyed by account slug, with events read from its config."""
    config = load_config(config_path)
    events = {s.id: tuple((e.title, e.kind, e.date) for e in s.events) for s in config.schools}
    names = {s.id: s.name for s in config.schools}

    def profile(school: str, **kwargs: object) -> Profile:
        return Profile(school=school, school_name=names.get(school, school), domain=f"{school}.example.sch.uk",
                       events=events.get(school, ()), calendar=DEMO_CALENDARS.get(school, ()), **kwargs)  # type: ignore[arg-type]

    return {
        "st-aidans": profile("st-aidans", per_week=4),
        "st-aidans-blog": profile("st-aidans", crosspost_of="st-aidans"),
        "holy-cross": profile("holy-cross", per_week=1, promotes_events=False),
        "st-hildas": profile("st-hildas", per_week=3, names_child=True),
        "our-lady": profile("our-lady", per_week=3),
        "st-josephs": profile("st-josephs", per_week=4, fault="unknown"),
        "sacred-heart": profile("sacred-heart", per_week=5),
        # Social accounts (Mastodon, Bluesky, YouTube): see config/trust.yaml for where each lives.
        "st-aidans-masto": profile("st-aidans", crosspost_of="st-aidans", handle="staidans"),
        "holy-cross-bsky": profile("holy-cross", per_week=0, promotes_events=False, reposts=True,
                                   handle="holycross.bsky.social"),
        "st-hildas-yt": profile("st-hildas", per_week=1, promotes_events=False, handle="@sthildasacademy"),
        "our-lady-masto": profile("our-lady", per_week=2, promotes_events=False, handle="ourladylourdes"),
        "st-josephs-bsky": profile("st-josephs", fault="unknown", handle="stjosephs-old.bsky.social"),
        # its Bluesky posts a shortened link to a blocklisted site and a plain-http link (external_links)
        "sacred-heart-bsky": profile("sacred-heart", per_week=2, promotes_events=False, reposts=True,
                                     handle="sacred-heart.example.sch.uk", bad_links=True),
        # X, Facebook and Instagram accounts (extra['platform'] names the platform; see simulator/credentialed.py)
        "staidansfict": profile("st-aidans", crosspost_of="st-aidans", handle="StAidansFict", reposts=True, extra={"platform": "x"}),
        "stjosephsfict": profile("st-josephs", fault="unknown", handle="StJosephsFict", extra={"platform": "x"}),
        "sthildasfict": profile("st-hildas", crosspost_of="st-hildas", handle="sthildasfict", extra={"platform": "facebook"}),
        "ourladylourdesfict": profile("our-lady", crosspost_of="our-lady", abusive_comment=True,
                                      handle="OurLadyLourdesFict", extra={"platform": "facebook"}),
        "sacredheart_fict": profile("sacred-heart", crosspost_of="sacred-heart",
                                    handle="sacredheart_fict", extra={"platform": "instagram"}),
    }


# --- generated trusts (benchmarks): any number of schools, from a seed ------------------------------

_SAINTS = ["St Aidan's", "St Bede's", "St Cuthbert's", "St Hilda's", "St Oswin's", "St Wilfrid's", "Holy Trinity",
           "Our Lady's", "Sacred Heart", "St Chad's", "Christ Church", "St Mungo's", "St Brigid's", "All Saints"]
_PLACES = ["Northmoor", "Eastfell", "Kirkby Fictum", "Ashdene", "Brackenford", "Coldwater", "Dunmere", "Fernholt",
           "Greyling", "Hollins Cross", "Larkfield", "Marrowby", "Netherstow", "Oakhaven", "Pellbridge", "Quarrydale"]
_KINDS = ["Catholic Primary School", "C of E Primary Academy", "RC Primary School", "Catholic High School",
          "Church School", "Infant School", "Junior School", "Catholic Academy"]


def generated_names(count: int, seed: int = 0) -> list[str]:
    """``count`` fictional school names from ``seed`` (the same on every machine)."""
    rng = _seed("generated-names", str(seed))
    return [f"{rng.choice(_SAINTS)} {rng.choice(_KINDS)}, {rng.choice(_PLACES)} {n + 1}" for n in range(count)]


@dataclass(frozen=True, slots=True)
class GeneratedSchool:
    """One school of a generated trust: its id, name and the slugs of its three simulated accounts."""

    id: str
    name: str
    rss: str
    mastodon: str  # the account's slug; its handle is the slug without dashes
    bluesky: str
    instance: str  # the Mastodon instance it lives on (``/mastodon/<instance>``)


def generated_trust(count: int, *, seed: int = 0, names: list[str] | None = None,
                    accounts_per_instance: int = 40) -> tuple[list[GeneratedSchool], dict[str, Profile]]:
    """A trust of ``count`` schools, each with a website feed, a Mastodon account and a Bluesky account.

    How often each account posts, and whether a school names a child under a photo (about 1 in 20),
    come from ``seed``; the names from ``names`` when given (a caller's list), else fictional ones.
    Mastodon accounts are spread over instances of ``accounts_per_instance`` accounts, as a region's
    schools would be. Returns the schools and the simulator's profiles, keyed by account slug.
    """
    if count < 1:
        raise ValueError("a generated trust needs at least one school")
    rng = _seed("generated-trust", str(seed))
    chosen = list(names or [])[:count]
    chosen += generated_names(count - len(chosen), seed)
    schools: list[GeneratedSchool] = []
    profiles: dict[str, Profile] = {}
    for n, name in enumerate(chosen):
        school = f"gen-{n:05d}"
        site = GeneratedSchool(id=school, name=name, rss=school, mastodon=f"{school}-masto", bluesky=f"{school}-bsky",
                               instance=f"i-gen-{n // max(1, accounts_per_instance)}")
        schools.append(site)
        common = {"school": school, "school_name": name, "domain": f"{school}.example.sch.uk", "promotes_events": False}
        profiles[site.rss] = Profile(per_week=rng.choice([1, 2, 3, 3, 4, 5]), names_child=rng.random() < 0.05, **common)  # type: ignore[arg-type]
        profiles[site.mastodon] = Profile(per_week=rng.choice([1, 2, 3]), handle=school.replace("-", ""), **common)  # type: ignore[arg-type]
        profiles[site.bluesky] = Profile(per_week=rng.choice([0, 1, 2]), handle=f"{school}.bsky.social",
                                         reposts=rng.random() < 0.3, **common)  # type: ignore[arg-type]
    return schools, profiles


def generated_config(schools: list[GeneratedSchool], simulator: str) -> dict[str, object]:
    """The trust config (as YAML would load it) whose accounts point at a simulator serving ``schools``."""
    return {
        "trust": {"name": "Generated Trust (fictional)", "timezone": "Europe/London",
                  "domains": ["generated-trust.example.org", "example.sch.uk"],
                  "allow_domains": ["gov.uk", "bbc.co.uk", "nationaltrust.org.uk", "diocese-of-northmoor.example.org"]},
        "demo": {"simulator": simulator},
        "schools": [{
            "id": s.id, "name": s.name, "head_email": f"head@{s.id}.example.sch.uk",
            "website": f"https://{s.id}.example.sch.uk/",
            "accounts": [
                {"platform": "rss", "url": f"{simulator}/rss/{s.rss}/feed/"},
                {"platform": "mastodon", "handle": f"@{s.id.replace('-', '')}@{s.instance}.example",
                 "base_url": f"{simulator}/mastodon/{s.instance}"},
                {"platform": "bluesky", "handle": f"{s.id}.bsky.social", "base_url": f"{simulator}/bluesky"},
            ]} for s in schools],
    }
