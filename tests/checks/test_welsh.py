"""Welsh posts read as English ones for the name model (checks/_welsh.py): detection, mutations, readings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks import _welsh
from checks._childnames import NameContext, load_model, read_post, tables, tokenize
from checks.named_children import analyse


def lows(text: str) -> list[str]:
    return [t.low for t in tokenize(text)]


def welsh(text: str) -> bool:
    given, zipf = tables()
    tokens = tokenize(text)
    return _welsh.is_welsh([t.low for t in tokens], [t.shape != "lower" for t in tokens], given, zipf)


@pytest.mark.parametrize("text", [
    "Mae plant Blwyddyn 3 wedi mwynhau'r daith heddiw.",
    "Llongyfarchiadau i'r tîm pêl-rwyd! Roedd pawb yn wych.",
    "Diolch yn fawr i Mr Parri am ddod i'r ysgol gyda'i gi.",
])
def test_a_welsh_post_is_welsh(text):
    assert welsh(text)


@pytest.mark.parametrize("text", [
    "Well done to Ava in Year 4 for her poem!",
    "Ysgol Bryn Teg pupils enjoyed a trip to the beach with Mrs Jones and the PTA this week.",
    "Mae Jemison and Dylan Thomas were our heroes in the space topic today.",
    "Well done Cael, Eleni and Seren in Year 5!",  # given names that are Welsh words too
    "",
])
def test_an_english_post_is_not_welsh_even_with_a_welsh_school_name(text):
    assert not welsh(text)


@pytest.mark.parametrize(("word", "radical"), [
    ("fethan", "bethan"), ("ddylan", "dylan"), ("nosbarth", "dosbarth"), ("mlwyddyn", "blwyddyn"),
    ("chatrin", "catrin"), ("wenllian", "gwenllian"), ("lŷr", "llŷr"),
])
def test_a_mutated_word_s_radical_is_among_its_forms(word, radical):
    assert radical in _welsh.radicals(word)


def test_words_that_never_mutate_have_no_other_form():
    assert _welsh.radicals("llun") == ()
    assert _welsh.radicals("rhys") == ()
    assert _welsh.radicals("") == ()


def read_as_english(text: str) -> dict[str, str]:
    given, zipf = tables()
    tokens = tokenize(text)
    words = [t.low for t in tokens]
    read = _welsh.english_words(words, [t.shape != "lower" for t in tokens], [t.initial for t in tokens], given, zipf)
    return {words[k]: v for k, v in read.items()}


def test_welsh_words_are_read_as_english_and_names_keep_their_own_reading():
    got = read_as_english("Mae Kian yn Nosbarth Helyg. Da iawn Seren! Llongyfarchiadau i Fethan")
    assert got["mae"] == "is"  # a given name too, but read as the commonest of verbs
    assert got["nosbarth"] == "class"  # a mutated Welsh word, found by its radical
    assert (got["da"], got["iawn"]) == ("well", "done")  # a phrase
    assert got["fethan"] == "bethan"  # a mutated given name after "i", read as the name it is
    assert "seren" not in got and "kian" not in got and "helyg" not in got  # "Seren" (star) is a given name


def test_a_capitalised_unknown_word_is_not_unmutated_without_a_word_that_mutates_it():
    assert read_as_english("Fethan yn y dosbarth") == {"yn": "in", "y": "the", "dosbarth": "class"}


def test_a_given_name_is_a_word_only_where_it_starts_a_sentence_and_never_through_a_mutation():
    given, zipf = tables()
    tokens = tokenize("Beth yw hwn? Da iawn Beth a Cael ym Mlwyddyn 3. Roedd Fae yma.")
    read = _welsh.english_words([t.low for t in tokens], [t.shape != "lower" for t in tokens],
                                [t.initial for t in tokens], given, zipf)
    assert read[0] == "what"  # "Beth yw...?": the question word, at the start of a sentence
    assert 5 not in read and 7 not in read  # "Da iawn Beth a Cael": two children's names, not "what" and "get"
    fae = [t.text for t in tokens].index("Fae")
    assert fae not in read  # a given name: not "mae" ("is") with its mutation undone


@pytest.mark.parametrize(("text", "media", "child"), [
    ("Llongyfarchiadau mawr i Fethan ym Mlwyddyn 5 am ennill y ras heddiw!", True, "Fethan"),
    ("Gwaith celf bendigedig gan Ddeio yn Nosbarth Derwen 🎨", True, "Ddeio"),
    ("Da iawn Cadi! Seren yr wythnos yn Nosbarth 2 am ei darllen gwych.", True, "Cadi"),
    ("Da iawn Beth ym Mlwyddyn 3 am ei gwaith celf hyfryd heddiw!", True, "Beth"),
    ("Well done Cael, Eleni and Seren in Year 5!", True, "Cael"),
    ("Well done Cael, Eleni and Seren in Year 5!", True, "Eleni"),
    ("Seren, Tegan and Beth in Year 2 made a volcano!", True, "Beth"),
])
def test_a_child_named_in_a_welsh_post_is_found(text, media, child):
    found = analyse([("text", text)], NameContext())
    assert child in [n.given for n in found.names]


@pytest.mark.parametrize("text", [
    "Mae Cân yr Ysgol ar gael ar y wefan. Dysgwch y geiriau gartref!",
    "Roedd hi'n bwrw eira heddiw. Mae'r ysgol ar agor fel arfer.",
    "Dyma'n ci darllen newydd! Mae plant Blwyddyn 2 yn darllen iddo bob bore.",
])
def test_welsh_words_at_the_start_of_a_sentence_are_not_names(text):
    found = analyse([("text", text), ("alt text", "Llun o'r ysgol")], NameContext())
    assert found.names == []


def test_a_welsh_post_s_words_keep_their_text_and_offsets():
    text = "Mae Kian yn Nosbarth Helyg wedi colli ei siwmper."
    [seg] = read_post([("text", text)], load_model())
    for t in seg.tokens:
        if t.start >= 0:
            assert text[t.start:t.end] == t.text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(load_model().welsh_words)[:200] + ["Fethan", "I'r", "Ddylan", "x", "'n", "Ŵyn", "ŷ", "-"]),
                max_size=30))
def test_any_mix_of_welsh_words_is_read_without_a_traceback(words):
    text = " ".join(words)
    analyse([("text", text), ("alt text", text.upper())], NameContext())


@pytest.mark.parametrize(("text", "kind"), [
    ("Os dewch o hyd i'r waled, dewch â hi i 8 Heol Penrhos, Aberwen, ZZ3 2PL. Diolch!", "home address"),
    ("Parti pen-blwydd Nel ddydd Sadwrn yn 15 Lôn y Wern, ZZ7 4LN. Croeso i bawb!", "home address"),
    ("Dathlu pen-blwydd Osian (dyddiad geni 02.10.2019) heddiw yn Nosbarth Derwen", "date of birth"),
    ("Mae pasbort Lili (g. 17/11/2011) yn y swyddfa.", "date of birth"),
    ("Ganwyd Cai ar 3 Tachwedd 2015. Pen-blwydd hapus!", "date of birth"),
    ("Ganed Nia ar 3 Mai 2015 yn yr ysbyty", "date of birth"),
    ("Llongyfarchiadau Nia, ei geni ar 3ydd o Fai 2015", "date of birth"),
    ("Dewch â'r parsel i 12 Lon Las, Aberwen", "home address"),
    ("Parsel Ela: 12 Maes-y-Coed, Aberwen", "home address"),
])
def test_a_person_s_details_written_in_welsh_are_found(text, kind):
    assert kind in [hit.kind for hit in analyse([("text", text)], NameContext()).pii]


@pytest.mark.parametrize("text", [
    "Cyngerdd Nadolig yn Neuadd y Dref, 4 Stryd Fawr, Aberwen ZZ1 2AB. Croeso i bawb!",
    "Bore coffi yng Nghapel Bethel, 2 Heol yr Eglwys, nos Wener.",
    "Use a short form, e.g. 12/03/2019, in Ava's reading record.",
    "Ava's recipe: 200 g. 50 ml of milk, 12/03/2019 batch.",
])
def test_a_venue_s_address_in_welsh_and_an_abbreviation_are_not_personal(text):
    assert analyse([("text", text)], NameContext()).pii == []


@pytest.mark.parametrize("text", ["#Ŵŵ", "Da iawn #Ŵŵ", "#Ââ and Ava", "Well done #Ŷŷ, Ava!"])
def test_a_hashtag_the_splitter_keeps_no_word_of_is_no_traceback(text):
    names = [n.given for n in analyse([("text", text)], NameContext()).names]
    assert names == (["Ava"] if "Ava" in text else [])


def test_a_welsh_verb_the_table_lacks_is_read_by_its_ending():
    """"Gwisgodd Llŷr ...": a past tense the gloss table lacks ("-odd"), an impersonal past ("-wyd") and a plural
    imperative ("-wch") are read as English verbs, not as unknown capitalised words that make a name a full name."""
    got = read_as_english("Gwisgodd Llŷr ei wisg. Cynhaliwyd y ffair. Ymunwch â ni yn y neuadd")
    assert (got["gwisgodd"], got["cynhaliwyd"], got["ymunwch"]) == ("did", "was", "do")
    assert "llŷr" not in got
    found = analyse([("text", "Gwisgodd Llŷr ei wisg orau ar gyfer y cyngerdd yn yr ysgol heddiw")], NameContext())
    assert not [n for n in found.names if n.given == "Gwisgodd" or n.surname]  # before: "Gwisgodd Llŷr", a full name
    assert read_as_english("Mae Clwyd a Llwyd yn y dosbarth").get("clwyd") != "was"  # five letters: too short to tell
    # a capitalised word inside a sentence is no verb: a surname or a place ("Cynwyd", "Penllwyd")
    assert "cynwyd" not in read_as_english("Llongyfarchiadau i Heledd Cynwyd ar ennill y gystadleuaeth")
    found = analyse([("text", "Llongyfarchiadau i Heledd Cynwyd ar ennill y gystadleuaeth")], NameContext())
    assert ("Heledd", "Cynwyd") in [(n.given, n.surname) for n in found.names]
