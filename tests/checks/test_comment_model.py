"""The comments check's classifier: normalisation, categories, severity, masking, hostile input, the shipped model.

Every comment here is fictional and written for these tests (none is from the training data).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks import _comment_model as model
from checks._base import run_checks
from checks._lexicon import DEFAULT_ALLOW, DEFAULT_ATTACKS, DEFAULT_THREATS, lexicon, mask_spans
from checks.comments import ACTION, CRITICAL_ACTION
from socialaudit.config import DEFAULT_CONFIG, load_config
from socialaudit.models import Comment, Severity, Status
from socialaudit.weeks import IsoWeek

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
CONFIG = load_config(DEFAULT_CONFIG)
SCHOOL = CONFIG.school("our-lady")
LEX = lexicon(DEFAULT_THREATS, DEFAULT_ATTACKS, DEFAULT_ALLOW)


def read(text: str) -> model.Reading:
    return model.read(text, LEX)


# --- normalisation: the disguises undone before anything reads the comment -----------------------

@pytest.mark.parametrize(("text", "normal"), [
    ("f u c k this", "fuck this"),  # spaced
    ("k.y.s", "kys"),  # dotted
    ("F-U-C-K-I-N-G cold", "fucking cold"),  # hyphenated
    ("ｆｕｃｋｉｎｇ", "fucking"),  # full-width
    ("𝐬𝐡𝐢𝐭 parking", "shit parking"),  # maths bold
    ("ʀᴇᴛᴀʀᴅs", "retards"),  # small capitals
    ("fuсking", "fucking"),  # a Cyrillic "с"
    ("w4nk3rs", "wankers"),  # leetspeak
    ("n!gg@ please", "nigga please"),
    ("fuuuuuck", "fuuck"),  # long repeats cut to two
    ("f🦆**ing", "f**ing"),  # an emoji standing for letters is a mask
    ("f@#king", "f**king"),
    ("🖕 to that", " fuck  to that"),  # an emoji standing for a word
    ("Year6 and U15 at 3pm, 07700 900123", "year6 and u15 at 3pm, 07700 900123"),  # numbers are not leetspeak
    ("Well done Amelia!", "well done amelia!"),
])
def test_normalise_undoes_the_disguises(text, normal):
    assert model.normalise(text) == normal


# --- categories and severity -------------------------------------------------------------------

FLAGGED = [
    ("f u c k the new lunch rota", "profanity", False),
    ("this is s.h.i.t organisation", "profanity", False),
    ("T-W-A-T-S in the staff car park again", "profanity", False),
    ("ｆｕｃｋｉｎｇ shambles at drop off", "profanity", False),
    ("w4nk3rs blocking the bus lane", "profanity", False),
    ("f🦆**ing joke of a timetable", "profanity", False),
    ("🖕 to the new uniform supplier", "profanity", False),
    ("I'm going to stab Mr Fictman when he leaves tonight", "threat", True),
    ("someone ought to teach that teacher a lesson after school", "threat", True),
    ("Mrs Fictwell better watch her back in the car park", "threat", True),
    ("see you at the gates tomorrow Jaxon 🔪", "threat", True),
    ("Mr Fictory is a useless spineless moron", "attack", False),
    ("Miss Fictell is a lazy clueless idiot", "attack", False),
    ("everyone ignore Poppy on Monday, she's a weird loner lol", "bullying", False),
    ("the girl in the netball photo is well fit, how old is she?", "sexual", True),
    ("DM me the uncropped swimming gala pics of the girls", "sexual", True),
    ("bunch of p@kis in that photo", "slur", False),
    ("that spaz in the sack race lol", "slur", False),
    ("Mr Fictwood's home number is 07700 900555, ring him at midnight", "doxxing", True),
    ("Miss Fictwick lives at 4 Quarry Nook, QV2 1XX", "doxxing", True),
    # a landline the comment ties to a home is as sure as a mobile
    ("Mrs Fictholt's home landline is 01632 960884, she picks up in the evenings", "doxxing", True),
    # flagged for the mobile alone: doxxing, not the head that happened to score highest (it was "threat")
    ("Lost a water bottle at sports day - please call me on 07700 900123 if found", "doxxing", True),
    # a commenter's word that the number is the school's counts for nothing
    ("ring that teacher on 07700 900611 lol, it's the school trip phone (not personal)", "doxxing", True),
    ("go unalive yourself Kai", "self-harm", True),
    ("k.y.s Ethan nobody likes you", "self-harm", True),
    ("drink bleach Jayden", "self-harm", True),
    # words no training comment has, read through the cue lists they belong to
    ("Mrs Fictdale is a nasty vindictive old hag", "attack", False),
    ("Don't invite Olivia to the party, nobody likes her", "bullying", False),
    ("Everyone block Tyler, he's such a weirdo #ByeTyler", "bullying", False),
    ("The girls in the year 8 netball pic have great legs 👀", "sexual", True),
    ("typical gyppo family, lock up your bikes", "slur", False),
    ("hope you die Ryan, nobody would care", "self-harm", True),
    # caught by the shipped model, missed by one retrained with the bullying sets (taken back)
    ("Would love to give that schoolgirl a ride home 😉", "sexual", True),
    ("If my son gets another detention I'll smash the office up", "threat", True),
    # an attack, not doxxing (a model retrained with the bullying sets named it doxxing)
    ("Mr Brown should be sacked", "attack", False),
]


@pytest.mark.parametrize(("text", "category", "critical"), FLAGGED)
def test_categories_and_severity(text, category, critical):
    reading = read(text)
    assert (reading.category, reading.critical) == (category, critical), reading


# The false-alarm kinds the issue names: names, biology, other languages, banter, civil complaints,
# Scunthorpe words, slang praise, set texts.
CLEAR = [
    "Well done to Mr Dick and the whole science department!",
    "Shital and Dhruv won the quiz",
    "Year 9 biology: the penis and vagina, puberty and reproduction, handled really well",
    "Year 10 dissected a heart, a bit gory but fascinating",
    "Kurs polskiego w sobotę, dziękujemy pani Nowak",
    "Tack för en fin termin, nu är det slut på skolan",
    "Scunthorpe away day for the U14s, great result",
    "Lovely trip to Penistone and Cockermouth",
    "the panto was Dick Whittington and it was brilliant",
    "Mr Fictson's dad jokes are criminal 😂",
    "you absolute legend, Miss, what a goal",
    "that cover was sick",
    "Homework club was cancelled twice without notice. Please let parents know earlier.",
    "The new one-way system is badly signposted and dangerous at 3pm",
    "We had blue tits nesting in the school garden",
    "Spotted dick and custard on Thursday!",
    "Thanks for all your hard work this term",
    "killed it at the concert tonight, so proud",
    "Year 8 are reading Lord of the Flies: 'Kill the pig! Cut her throat!'",
    "Assembly on the history of the Holocaust was powerful",
    "Our class is learning about suicide prevention and mental health this week",
    # the cues of forms, hashtags and bodies count only in pairs, and the new words have innocent neighbours
    "My daughter in 7B loved her first week, thank you",
    "Vote for our school in the eco awards! #GreenSchools",
    "#ProudTeacher Mrs Fict and 9C won the quiz",
    "Lovely photos of the Year 11s at prom, stunning dresses",
    "The Year 7 body systems topic was great",
    "Year 9 girls smashed it at netball, fit and fast!",
    "Homo sapiens and Neanderthals: Year 8 evolution display",
    "Design and technology: be careful not to cut yourself on the saw",
    "The car park at pick-up is a nightmare, please add a crossing warden",
    "Everyone is invited to the summer fair, tag a friend",
    "Such a cute photo of the reception kids!",
    "The kids look gorgeous in their costumes",
    "My lad says nobody talks to him at lunch, who can I speak to?",
    "Lovely pic of the U12 boys in their new shorts and socks",
    "Gymnastics club: leotards must be plain navy, no jewellery",
    # a landline that is the office's or the commenter's own is not doxxing
    "If you need the office just call them on 01632 960000",
    "Lost a blue water bottle at the gala, please call me on 01632 960123 if found",
    # a routine or a number plate that tells nobody where a person is
    "Under 11s training is every Tuesday at 6pm at the rec, all welcome",
    "The minibus ZK19 XRT is back from its service, trips are on again",
    # goodbyes and get-well wishes to staff (a model retrained with the bullying sets read these as critical doxxing)
    "The head retires this summer, we will miss him",
    "Sue in the office is leaving us at Christmas, we'll all miss her so much",
    "Get well soon Mr Khan, the class miss him loads",
    "Good luck in your new job Mrs Patel, we'll miss you",
    "",
    "   ",
]


@pytest.mark.parametrize("text", CLEAR)
def test_hard_negatives_stay_clear(text):
    assert read(text) == model.Reading()


@pytest.mark.parametrize(("text", "present", "absent"), [
    ("Nice legs on the 9C girls 👀", {"X:body+pupil", "X:body+leer"}, {"C:body", "C:pupil"}),
    ("how developed the Year 9s are", {"X:body+pupil"}, set()),
    ("#ByeTyler trending lol", {"X:hashtag+laugh"}, {"C:hashtag"}),
    ("Mr Fictson you're a joke", {"X:isa+second"}, set()),
    ("Lovely photo of 10H in their new tops", set(), {"X:body+pupil"}),  # "tops", not "top"; a photo alone is no leer
    ("learning C# in 10H", set(), {"X:hashtag+pupil"}),  # a language, not a hashtag
])
def test_forms_hashtags_and_bodies_are_cues_only_in_pairs(text, present, absent):
    feats = set(model.analyse(text)[0])
    assert present <= feats and not absent & feats, sorted(feats)


# --- masking: the whole word, emoji and digit stand-ins included -----------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("what a f🦆**ing joke", "what a f****** joke"),
    ("w***3rs at the gate", "w****** at the gate"),
    ("total w4nk3rs, all of them", "total w******, all of them"),
    ("f u c k this tie policy", "f * * * this tie policy"),
    ("f🦆🦆king hell", "f****** hell"),  # two emoji
    ("you absolute c🦆nt", "you absolute c***"),
    ("sh1t parking, t.w.a.t driver", "s*** parking, t****** driver"),
])
def test_masking_hides_the_whole_word(text, shown):
    reading = read(text)
    assert reading.category == "profanity"
    assert mask_spans(text, reading.spans) == shown


def test_doxxing_evidence_hides_the_number_and_address():
    text = "Mr Fictwood lives at 12 Quillon Row, QX9 9ZZ, his mobile is 07700 900555"
    reading = read(text)
    shown = mask_spans(text, reading.spans)
    assert reading.category == "doxxing" and reading.critical
    for secret in ("12", "QX9", "9ZZ", "07700", "900555"):
        assert secret not in shown
    assert "mobile number" in reading.why and "home address" in reading.why


# --- the check: severity, action, message, removal tracking unchanged ------------------------------

def comment(text: str, cid: str = "c1") -> Comment:
    return Comment(id=cid, post_id="p1", text=text, author="parent_fict_amy",
                   created_at=datetime(2026, 11, 18, 15, tzinfo=timezone.utc),
                   url=f"https://www.facebook.com/x/posts/p1?comment_id={cid}")


def check(make_post, *comments: Comment):
    post = make_post(platform="facebook", account="OurLadyLourdesFict", school="our-lady", id="p1",
                     url="https://www.facebook.com/x/posts/p1", created_at=datetime(2026, 11, 18, 10, tzinfo=timezone.utc),
                     text="Year 3 built Roman shields.", comments=comments)
    [result] = run_checks(SCHOOL, [post], week=IsoWeek.parse("2026-W47"), config=CONFIG, names=["comments"])
    return result


@pytest.mark.parametrize(("text", "label"), [
    ("someone ought to teach that teacher a lesson after school", "A threatening comment"),
    ("go unalive yourself Kai", "A comment encouraging self-harm"),
    ("the girl in the netball photo is well fit, how old is she?", "A sexual comment about a pupil"),
    ("Mr Fictwood's home number is 07700 900555, ring him at midnight", "A comment giving out personal details"),
])
def test_critical_categories_copy_the_dsl_at_once(make_post, text, label):
    result = check(make_post, comment(text))
    [finding] = result.findings
    assert result.status is Status.FAIL and finding.severity is Severity.CRITICAL
    assert finding.action == CRITICAL_ACTION == "Hide the comment now, keep a screenshot, report it to the DSL."
    assert finding.message.startswith(label) and "first seen in 2026-W47" in finding.message
    assert "900555" not in finding.message + finding.evidence


@pytest.mark.parametrize(("text", "label", "cue"), [
    ("Mr Fictory is a useless spineless moron", "A comment insulting", "m****"),
    ("f u c k the new lunch rota", "A comment with swearing", "f * * *"),
    ("that spaz in the sack race lol", "A comment with a slur", "s***"),
])
def test_other_categories_are_breaches_naming_the_masked_cue(make_post, text, label, cue):
    [finding] = check(make_post, comment(text)).findings
    assert finding.severity is Severity.BREACH and finding.action == ACTION
    assert finding.message.startswith(label) and cue in finding.message
    assert cue in finding.evidence


@pytest.mark.parametrize("text", [
    "everyone ignore Poppy Fictwright on Monday, she's a weird loner lol",
    "go unalive yourself Kai",
    "Jaxon Fictley see you at the gates tomorrow 🔪",
])
def test_a_persons_name_is_masked_in_the_evidence_and_never_the_cue(make_post, text):
    [finding] = check(make_post, comment(text)).findings
    for name in ("Poppy", "Fictwright", "Kai", "Jaxon", "Fictley"):
        assert name not in finding.evidence and name.lower() not in finding.message.lower()


def test_a_sexual_comment_about_staff_is_a_breach(make_post):
    [finding] = check(make_post, comment("Miss Fictlow is a proper MILF")).findings
    assert finding.severity is Severity.BREACH and finding.message.startswith("A sexual comment is visible")


def test_the_demo_comment_is_still_caught_and_masked(make_post):
    from socialaudit.simulator.dataset import ABUSIVE_COMMENT

    [finding] = check(make_post, comment(ABUSIVE_COMMENT)).findings
    assert finding.severity is Severity.BREACH and "f******" in finding.evidence and "ing" not in finding.evidence


# --- hostile input: never a traceback ---------------------------------------------------------------

NASTY = ["\x00\x01\x02", "\ud800 lone surrogate", "\u202e\u202d reversed", "e\u0301\u0301\u0301" * 50,
         "🏳️‍🌈" * 500, "a " * 20_000, "f" + "*" * 5000 + "k", "@" * 300, "0" * 10_000, "\n\t\r" * 100,
         "ﷺ" * 40, "f.u.c.k." * 300, "<script>alert(1)</script>", "k y s " * 1000, "(((" * 100]


@pytest.mark.parametrize("text", NASTY)
def test_hostile_input_never_raises(text):
    reading = read(text)
    assert isinstance(reading, model.Reading)
    mask_spans(text, reading.spans)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_read_without_error(text):
    reading = read(text)
    assert reading.category in ("", *model.CATEGORIES)
    assert all(0 <= a <= b <= len(text) for a, b in reading.spans)


# ASCII made of what disguises are made of: letters of both cases, digits, leet and mask symbols, separators.
_DISGUISE_ALPHABET = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIKLSTUY0134579@$!|*#%.-_' \n,?"))


@settings(max_examples=500, deadline=None)
@given(st.lists(_DISGUISE_ALPHABET, max_size=60).map("".join))
def test_undoing_disguises_before_lowercasing_gives_what_lowercasing_first_gives(text):
    # the fast path undoes the disguises once, case kept, and lowercases after; the reading must be the
    # same as lowercasing first (every step reads letters regardless of case and writes no capital)
    lowered_first = model._REPEATS.sub(r"\1\1", model._undisguise_ascii(text.lower()))
    assert model.normalise(text) == lowered_first
    assert model.normalise(text, lower=False).lower() == model._undisguise_ascii(text.lower())


# --- the shipped model ------------------------------------------------------------------------------

def test_the_model_ships_as_package_data_and_loads_without_sklearn_or_numpy():
    assert model.MODEL_PATH == ROOT / "plugins" / "checks" / "data" / "comments_model.json"
    probe = ("import sys; sys.path.insert(0, 'plugins'); from checks import _comment_model as m; m.load(); "
             "m.read('f u c k'); print(sorted(k for k in ('numpy', 'sklearn', 'scipy') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    data = json.loads(model.MODEL_PATH.read_text(encoding="utf-8"))
    assert data["categories"] == list(model.CATEGORIES) and set(data["weights"]) == {"flag", *model.CATEGORIES}
    assert "plugins" not in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()


def test_a_category_heads_offset_apart_from_its_threshold_names_the_category():
    """A model's ``offsets`` (a head that never flags by itself still has one) weigh each head's score when the
    heads name a flagged comment's category; without them, each head's threshold does (main's models)."""
    weights = {h: {} for h in ("flag", *model.CATEGORIES)}
    weights["doxxing"] = {"w:miss": 3.0}
    weights["attack"] = {"w:miss": 1.5}
    data = {"categories": list(model.CATEGORIES), "weights": weights,
            "bias": {"flag": 1.0, **{c: -1.0 for c in model.CATEGORIES}}, "thresholds": {"flag": 0.0}}
    assert model.Model(data).verdict(["w:miss"]).category == "doxxing"
    assert model.Model({**data, "offsets": {"doxxing": 2.0}}).verdict(["w:miss"]).category == "attack"
    assert model.Model({**data, "thresholds": {"flag": 0.0, "doxxing": 2.0}}).verdict(["w:miss"]).category == "attack"
    # an offset alone never flags: a head flags by itself only at its threshold
    quiet = {**data, "bias": {"flag": -9.0, **{c: -1.0 for c in model.CATEGORIES}}}
    assert not model.Model({**quiet, "offsets": {"doxxing": 0.0}}).verdict(["w:miss"]).flagged
    assert model.Model({**quiet, "thresholds": {"flag": 0.0, "doxxing": 0.0, "gate": -99.0}}).verdict(["w:miss"]).flagged


def test_a_lower_flag_bar_for_a_comment_the_heads_name_critical():
    """A model's ``critical`` threshold (trained with CRITICAL_FLAG) flags a comment whose flag score is under the flag
    threshold but at or above it when the heads name a critical category, and only then; without it (the shipped
    model), the flag threshold alone decides."""
    weights = {h: {} for h in ("flag", *model.CATEGORIES)}
    weights["flag"] = {"w:meet": 1.0, "w:stupid": 1.0}
    weights["sexual"] = {"w:meet": 2.0}
    weights["attack"] = {"w:stupid": 2.0}
    data = {"categories": list(model.CATEGORIES), "weights": weights,
            "bias": {"flag": -1.5, **{c: -1.0 for c in model.CATEGORIES}}, "thresholds": {"flag": 0.0, "gate": -9.0}}
    assert not model.Model(data).verdict(["w:meet"]).flagged  # flag score -0.5
    lower = model.Model({**data, "thresholds": {**data["thresholds"], "critical": -1.0}})
    assert lower.verdict(["w:meet"]) == model.Verdict(True, "sexual", -0.5, ("meet",))
    assert not lower.verdict(["w:stupid"]).flagged  # named attack, a breach: the flag threshold decides
    assert not lower.verdict([]).flagged  # -1.5, under both


@pytest.mark.parametrize(("env", "said"), [
    ({"AUTHOR_SET_WEIGHT": "cg=1,bogus"}, "AUTHOR_SET_WEIGHT: no such name: 'bogus'"),
    ({"AUTHOR_SET_WEIGHT": "cgg=1"}, "AUTHOR_SET_WEIGHT: no such name: 'cgg'"),
    ({"AUTHOR_SET_WEIGHT": "cg=heavy"}, "AUTHOR_SET_WEIGHT: 'cg=heavy' is not name=weight with a weight >= 0"),
    ({"AUTHOR_SET_WEIGHT": "cg=-1"}, "AUTHOR_SET_WEIGHT: 'cg=-1' is not name=weight with a weight >= 0"),
    ({"HEAD_POSITIVE_WEIGHT": "bulying=2"}, "HEAD_POSITIVE_WEIGHT: no such name: 'bulying'"),
    ({"C": "two"}, "C: 'two' is not a number >= 0"),
    ({"OFFSETS": "both"}, "OFFSETS: 'both' is not 'apart' or 'alone'"),
    ({"INNER_REPEATS": "three"}, "INNER_REPEATS: 'three' is not a number >= 0"),
    ({"CATEGORY_CLASS_WEIGHT": "square"}, "CATEGORY_CLASS_WEIGHT: 'square' is not 'balanced', 'sqrt', 'cap:N' or empty"),
    ({"CATEGORY_CLASS_WEIGHT": "cap:0.5"}, "CATEGORY_CLASS_WEIGHT: 'cap:0.5' is not 'cap:N' with a number N >= 1"),
    ({"CATEGORY_CLASS_WEIGHT": "cap:x"}, "CATEGORY_CLASS_WEIGHT: 'cap:x' is not 'cap:N' with a number N >= 1"),
    ({"CATEGORY_BIGRAMS": "yes"}, "CATEGORY_BIGRAMS: 'yes' is not a number >= 0"),
    ({"FLAG_CRITICAL_WEIGHT": "-2"}, "FLAG_CRITICAL_WEIGHT: '-2' is not a number >= 0"),
    ({"FLAG_WORD_VALUE": "half"}, "FLAG_WORD_VALUE: 'half' is not a number >= 0"),
    ({"CRITICAL_ALONE": "yes"}, "CRITICAL_ALONE: 'yes' is not a number >= 0"),
    ({"CRITICAL_MARGIN": "wide"}, "CRITICAL_MARGIN: 'wide' is not a number >= 0 or 'auto'"),
    ({"CRITICAL_FLAG": "low"}, "CRITICAL_FLAG: 'low' is not '1se', 'lowest' or empty"),
    ({"CRITICAL_FLAG": "lowest"}, "CRITICAL_FLAG: needs INNER_REPEATS > 1 (the thresholds over several inner splits)"),
])
def test_a_bad_training_knob_is_one_line_not_a_traceback(env, said):
    done = subprocess.run([sys.executable, "scripts/train_comments.py", "--help"], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": "", **env})
    assert done.returncode == 1 and done.stderr.startswith(said) and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "school-comments" / "comments.jsonl").exists(), reason="../shared/data absent")
def test_training_again_gives_the_same_bytes(tmp_path):
    """Same data, same model: the shipped file is what ``scripts/train_comments.py`` writes; with ``--no-report``
    it reports no cross-validated figure, since it ran none (it once printed recall 0.0 for every set)."""
    pytest.importorskip("sklearn")
    out = tmp_path / "model.json"
    done = subprocess.run([sys.executable, "scripts/train_comments.py", "--out", str(out), "--no-report"], cwd=ROOT,
                          check=True, capture_output=True, env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": ""})
    assert out.read_bytes() == model.MODEL_PATH.read_bytes()
    report = json.loads(done.stdout)
    assert report["model"]["sha256"] and not [k for k in report if "nested" in k]


@pytest.mark.skipif(not (SHARED / "ons-babynames" / "ons_babynames_ew_2022-2024.csv").exists(),
                    reason="../shared/data absent")
def test_childrens_given_names_are_not_read_as_abuse():
    """Of 18,853 given names registered 2022-2024, at most 3 make "Well done NAME!" a finding (measured: "El",
    "El-Roi", "Kal-El": the Spanish article weighs towards an insult in the training set)."""
    import csv

    path = SHARED / "ons-babynames" / "ons_babynames_ew_2022-2024.csv"
    with path.open(encoding="utf-8") as handle:
        names = sorted({row["name"] for row in csv.DictReader(handle)})
    assert len(names) > 10_000
    assert len([n for n in names if read(f"Well done {n}!").category]) <= 3


# --- the evaluation command ---------------------------------------------------------------------------

def test_evaluate_comments_prints_the_figures(capsys, tmp_path):
    from socialaudit.cli import main

    labelled = ROOT / "tests" / "data" / "comments_labelled.jsonl"
    assert main(["evaluate", "comments", "--comments-labelled", str(labelled), "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "overall: precision 1.000, recall 1.000 (tp 3, fp 0, fn 0)" in out
    assert "HateXplain test split: " in out and "absent, skipped" in out


def test_evaluate_comments_measures_the_further_authors_sets(tmp_path):
    """Every further author's set is measured by the command, apart from the school comments: false alarms on its
    clear comments and each flagged category caught, each figure counted from the shipped model's readings, and
    the set marked trained on exactly when the shipped model lists it."""
    import io
    import shutil

    from socialaudit import evaluate_comments as ec

    (tmp_path / "school-comments").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "comments_labelled.jsonl", tmp_path / "school-comments" / "comments.jsonl")
    out = io.StringIO()
    figures = ec.evaluate_comments(out, data=tmp_path)
    sets = sorted(ec.AUTHORS.glob("*.jsonl"))
    assert len(sets) >= 2
    trained = set(model.load().meta.get("authors_trained_on", ()))
    for path in sets:
        got = figures[f"author {path.stem}"]
        rows = ec.school_comments(path)
        assert got["clear"] == sum(1 for r in rows if not r.flag) and got["tp"] + got["fn"] == sum(1 for r in rows if r.flag)
        assert got["fp"] == sum(1 for r in rows if not r.flag and read(r.text).category)
        said = "trained on: a training-set figure" if path.stem in trained else "never trained on"
        line = next(x for x in out.getvalue().splitlines() if x.startswith(f"further author {path.stem} "))
        assert line.startswith(f"further author {path.stem} ({said}): {got['fp']} of {got['clear']} clear")
        for cat in {r.category for r in rows if r.flag}:
            caught = sum(1 for r in rows if r.category == cat and read(r.text).category)
            assert f"; {cat} caught {caught} of {sum(1 for r in rows if r.category == cat)} (named {cat} " in line


def test_evaluate_comments_measures_the_friendly_sets_and_says_which_were_trained_on(tmp_path):
    """Every friendly set is measured apart (clear comments flagged, counted from the shipped model's readings), and
    marked trained on exactly when the shipped model lists it."""
    import io
    import shutil

    from socialaudit import evaluate_comments as ec

    (tmp_path / "school-comments").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "comments_labelled.jsonl", tmp_path / "school-comments" / "comments.jsonl")
    out = io.StringIO()
    figures = ec.evaluate_comments(out, data=tmp_path)
    trained = set(model.load().meta.get("friendly_trained_on", ()))
    sets = sorted(ec.FRIENDLY.glob("*.jsonl"))
    assert [p.stem for p in sets] == ["ce", "cf"]
    for path in sets:
        rows = ec.school_comments(path)
        got = figures[f"friendly {path.stem}"]
        assert got["fp"] == sum(1 for r in rows if read(r.text).category) and got["clear"] == len(rows)
        said = "trained on: a training-set figure" if path.stem in trained else "never trained on"
        assert f"friendly set {path.stem} ({said}): {got['fp']} of {got['clear']} clear comments flagged" in out.getvalue()


@pytest.mark.parametrize("name", ["ce", "cf"])
def test_a_friendly_set_is_one_authors_300_clear_comments(name):
    """The friendly sets train the model as clean examples, so every row must be a clear comment in the school
    comments' format, with its own id prefix (one author a file) and no text twice."""
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "comments_friendly" / f"{name}.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"{name}{k:04d}" for k in range(1, 301)]
    assert all(r["label"] == "clear" and r["severity"] is None and r["category"].startswith("clear-") for r in rows)
    assert len({r["text"] for r in rows}) == 300


def test_evaluate_comments_without_data_is_a_usage_error(capsys, tmp_path):
    from socialaudit.cli import main

    assert main(["evaluate", "comments", "--data", str(tmp_path)]) == 2
    assert "no labelled comments" in capsys.readouterr().err


def test_a_critical_comment_copies_the_dsl_in_the_heads_email(make_post, store):
    """The whole way: the check's critical finding, stored, makes the week's email copy the school's DSL."""
    from socialaudit.mail import recipients, subject
    from socialaudit.reports import school_view

    week = IsoWeek.parse("2026-W47")
    result = check(make_post, comment("someone ought to teach that teacher a lesson after school"))
    store.save_results(week, SCHOOL.id, [result], run_id="test-run")
    school = SCHOOL.model_copy(update={"dsl_email": "dsl@our-lady.example.sch.uk"})
    view = school_view(CONFIG, school, week, store)
    to, cc = recipients(view)
    assert to == [school.head_email] and cc == ["dsl@our-lady.example.sch.uk"]
    assert subject(view).startswith("[Safeguarding] ")
    assert any("Hide the comment now" in f["action"] for f in view["critical"])


@pytest.mark.parametrize("name", ["cg", "ch"])
def test_a_bullying_set_is_one_authors_150_bullying_and_150_clear_comments(name):
    """The bullying sets (one author a file, measured by `python -m socialaudit evaluate comments`) are in the
    school comments' format with their own id prefix: 150 bullying breaches and 150 clear comments, no text twice."""
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "comments_by_author" / f"{name}.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"{name}{k:04d}" for k in range(1, 301)]
    flagged = [r for r in rows if r["label"] == "flag"]
    assert len(flagged) == 150 and all(r["category"] == "bullying" and r["severity"] == "breach" for r in flagged)
    assert all(r["label"] == "clear" and r["severity"] is None and r["category"].startswith("clear-")
               for r in rows if r not in flagged)
    assert len({r["text"] for r in rows}) == 300


@pytest.mark.parametrize("name", ["ci", "cj"])
def test_a_staff_set_is_one_authors_210_clear_and_90_abusive_comments_about_staff(name):
    """The staff sets (kind comments about named staff, and attacks, threats and doxxing aimed at staff) are in the
    school comments' format with their own id prefix, the counts their brief asked for, no text twice."""
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "comments_by_author" / f"{name}.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"{name}{k:04d}" for k in range(1, 301)]
    flagged = Counter((r["category"], r["severity"]) for r in rows if r["label"] == "flag")
    assert flagged == {("attack", "breach"): 50, ("threat", "critical"): 20, ("doxxing", "critical"): 20}
    clear = [r for r in rows if r["label"] == "clear"]
    assert len(clear) == 210 and all(r["severity"] is None and r["category"].startswith("clear-") for r in clear)
    assert len({r["text"] for r in rows}) == 300


def test_the_demanding_set_is_one_authors_200_clear_and_100_flagged_comments():
    """``ck``: angry, worried and demanding comments a school leaves up (civil complaints, escalation by the proper
    routes, parents reporting bullying, idiom) and threats, attacks and bullying in the same words: the counts its
    brief asked for, in the school comments' format with its own id prefix, no text twice."""
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "comments_by_author" / "ck.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"ck{k:04d}" for k in range(1, 301)]
    flagged = Counter((r["category"], r["severity"]) for r in rows if r["label"] == "flag")
    assert flagged == {("threat", "critical"): 40, ("attack", "breach"): 40, ("bullying", "breach"): 20}
    clear = Counter(r["category"] for r in rows if r["label"] == "clear" and r["severity"] is None)
    assert clear == {"clear-civil-complaint": 60, "clear-escalation": 40, "clear-concern": 60, "clear-strong-feeling": 40}
    assert len({r["text"] for r in rows}) == 300


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "data").glob("comments_[bf]*/*.jsonl")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_comment_set_is_written_not_generated_from_templates(path):
    """A set generated from templates repeats a few sentence shapes with names swapped (54-62% of its word 4-grams
    unique in the named-children sets set aside on 2026-12-07); every comment set kept has 90% or more."""
    grams = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = re.findall(r"\w+", json.loads(line)["text"].lower())
        grams += [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    assert len(set(grams)) / len(grams) >= 0.9


@pytest.mark.parametrize(("option", "value"), [("--authors", "cg,bogus"), ("--friendly", "cz")])
def test_a_set_name_that_is_no_set_is_one_usage_line(option, value):
    """--authors and --friendly name sets by file; a misspelt one is refused before anything is read or trained."""
    done = subprocess.run([sys.executable, "scripts/train_comments.py", option, value, "--data", "/nonexistent"],
                          cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": ""})
    assert done.returncode == 2 and f"{option}: no such set: {value.split(',')[-1]}" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
