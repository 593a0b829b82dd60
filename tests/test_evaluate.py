"""``python -m socialaudit evaluate named_children``: figures on the bundled set, CoNLL and ONS files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from socialaudit.cli import main
from socialaudit.evaluate import (
    LABELLED,
    conll_scores,
    evaluate_named_children,
    gold_people,
    load_labelled,
    post_level,
    read_conll,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WNUT = SHARED / "wnut17" / "emerging.test.annotated"
BTC = SHARED / "broad-twitter-corpus"
ONS = SHARED / "ons-babynames" / "ons_babynames_ew_2022-2024.csv"

# Fictional sentences: 3 gold people; the finder gets "Oliver Pennick" and "Mia", misses "Okafor"
# (a surname alone), and wrongly marks "Isla" (here a place, tagged O).
CONLL = """Oliver\tB-person
Pennick\tI-person
met\tO
Okafor\tB-person
today\tO

Well\tO
done\tO
Mia\tB-PER
!\tO

We\tO
sailed\tO
to\tO
Isla\tO
Verde\tO
"""


def test_bundled_set_meets_the_targets():
    result = post_level(load_labelled())
    assert result["posts"] >= 200
    assert set(result["splits"]) == {"dev", "holdout"}
    for scores in (result["all"], result["splits"]["holdout"]):
        assert scores.precision >= 0.95
        assert scores.recall >= 0.97
    assert result["all"].tp + result["all"].fn == sum(1 for r in load_labelled() if r["severity"] != "none")


def test_labelled_set_is_balanced_with_hard_negatives():
    records = load_labelled()
    negatives = [r for r in records if r["severity"] == "none"]
    assert len(negatives) >= 100
    assert sum(1 for r in records if r["severity"] == "warning") >= 10
    assert all(r["split"] in ("dev", "holdout") for r in records)


def test_conll_person_scores_on_a_small_file(tmp_path):
    path = tmp_path / "tiny.conll"
    path.write_text(CONLL, encoding="utf-8")
    sentences = list(read_conll(path))
    assert len(sentences) == 3
    assert gold_people([tag for _, tag in sentences[0]]) == [(0, 1), (3, 3)]
    scores = conll_scores([path])
    assert (scores.tp, scores.fp, scores.fn) == (2, 1, 1)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)


def test_command_prints_every_figure(tmp_path, capsys):
    conll = tmp_path / "tiny.conll"
    conll.write_text(CONLL, encoding="utf-8")
    ons = tmp_path / "names.csv"
    ons.write_text("year,sex,rank,name,count\n2024,girl,1,Olivia,90\n2024,boy,2,Zorblax,10\n", encoding="utf-8")
    assert main(["evaluate", "named_children", "--conll", str(conll), "--ons", str(ons)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  holdout +precision \d\.\d{3}  recall \d\.\d{3}  F1 \d\.\d{3}", out, re.M)
    assert "persons (overlap)            precision 0.667  recall 0.667" in out
    # both names are flagged after "Well done to", but only Olivia is in the name tables
    assert "flagged in 'Well done to NAME!'        1.000 / 1.000" in out
    assert "known to the name tables              0.500 / 0.900" in out


def test_bad_labelled_file_is_one_line_naming_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x", "label": "none", "severity": "none", "names": []}\n{"id": "b"}\n',
                   encoding="utf-8")
    assert main(["evaluate", "named_children", "--labelled", str(bad), "--conll", str(bad), "--ons", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{bad}:2: missing field 'text'" in err


def test_missing_conll_file_is_a_usage_error(tmp_path, capsys):
    assert main(["evaluate", "named_children", "--conll", str(tmp_path / "nope.conll")]) == 2
    assert "nope.conll: no such file or folder" in capsys.readouterr().err


@pytest.mark.skipif(not WNUT.exists() or not BTC.exists(), reason="../shared/data CoNLL corpora absent")
def test_shared_conll_corpora_are_read_whole():
    for files in ([WNUT], sorted(BTC.glob("*.conll"))):
        gold = sum(len(gold_people([t for _, t in s])) for f in files for s in read_conll(f))
        scores = conll_scores(files)
        assert scores.tp + scores.fn == gold > 100  # every gold person is counted once
        assert 0.0 < scores.precision <= 1.0


@pytest.mark.skipif(not ONS.exists(), reason="../shared/data ONS baby names absent")
def test_shared_ons_names_default_run():
    out = io.StringIO()
    figures = evaluate_named_children(out, labelled=LABELLED, conll=[], ons=ONS)
    ons = figures["ons"]
    assert ons["names"] > 10_000
    assert ons["british_distinct"] <= ons["known_distinct"] <= ons["flagged_distinct"] <= 1.0
    assert "ONS given names" in out.getvalue()
