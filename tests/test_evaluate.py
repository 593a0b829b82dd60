"""``python -m socialaudit evaluate named_children``: the shipped model, cross-validation, ONS coverage."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from socialaudit.cli import main
from socialaudit.evaluate import HELD_OUT, LABELLED, EvaluationError, evaluate_named_children, held_out, load_labelled

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
POSTS = SHARED / "school-posts" / "posts.jsonl"
AUTHORS = Path(__file__).resolve().parent / "data" / "school_posts_by_author"
ONS = SHARED / "ons-babynames" / "ons_babynames_ew_2022-2024.csv"


def test_labelled_set_is_balanced_with_hard_negatives():
    records = load_labelled()
    negatives = [r for r in records if r["severity"] == "none"]
    assert len(negatives) >= 100
    assert sum(1 for r in records if r["severity"] == "warning") >= 10


def test_command_without_cross_validation_prints_the_model_and_coverage(tmp_path, capsys):
    ons = tmp_path / "names.csv"
    ons.write_text("year,sex,rank,name,count\n2024,girl,1,Olivia,90\n2024,boy,2,Zorblax,10\n", encoding="utf-8")
    assert main(["evaluate", "named_children", "--no-cv", "--ons", str(ons)]) == 0
    out = capsys.readouterr().out
    assert "shipped model: threshold 0." in out and "loaded in" in out
    assert "cross-validation: skipped (--no-cv)" in out
    # Olivia is a common given name; Zorblax is in no table, but "Well done to" is said of children
    assert "in the shipped given-name table                0.500 / 0.900" in out


def test_missing_shared_data_skips_the_cross_validation(tmp_path):
    out = io.StringIO()
    figures = evaluate_named_children(out, shared=tmp_path, ons=None)
    assert "cv" not in figures
    assert "cross-validation: skipped" in out.getvalue()


def test_bad_labelled_file_is_one_line_naming_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x", "label": "none", "severity": "none", "names": []}\n{"id": "b"}\n',
                   encoding="utf-8")
    assert main(["evaluate", "named_children", "--labelled", str(bad), "--no-cv"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{bad}:2: missing field 'text'" in err


def test_held_out_authors_measure_the_shipped_model_on_posts_it_never_saw():
    import json

    sets = sorted(path.stem for path in HELD_OUT.glob("*.jsonl"))
    assert len(sets) >= 4
    figures = held_out()
    assert sorted(figures) == sorted([*sets, "pooled"])
    critical = sum(1 for path in HELD_OUT.glob("*.jsonl") for line in path.read_text(encoding="utf-8").splitlines()
                   if json.loads(line)["severity"] == "critical")
    pooled = figures["pooled"]
    assert pooled["tp"] + pooled["fn"] == critical
    assert pooled["photo_tp"] + pooled["text_tp"] == pooled["tp"]
    # measured (history: tests/data/school_posts_held_out/README.md): the 28,940-post model on the twenty-eight sets
    # of its time 0.956 / 0.942; jd-je and ka-kb when added, on that model, 0.977 / 0.988 and 0.936 / 0.932; the
    # 31,500-post model with word clusters (twelfth session) on all thirty-two 0.961 / 0.944, where the model before
    # gives 0.956 / 0.944: a retrained model must not fall far below
    assert pooled["tp"] / (pooled["tp"] + pooled["fp"]) >= 0.94
    assert pooled["tp"] / (pooled["tp"] + pooled["fn"]) >= 0.93
    # kept out of training: no held-out post is in the training folders
    held_ids = {json.loads(line)["id"] for path in HELD_OUT.glob("*.jsonl") for line in path.read_text(encoding="utf-8").splitlines()}
    trained = {json.loads(line)["id"] for path in AUTHORS.glob("*.jsonl") for line in path.read_text(encoding="utf-8").splitlines()}
    assert held_ids and not held_ids & trained


def test_an_unreadable_held_out_set_is_named(tmp_path):
    (tmp_path / "zz.jsonl").write_text('{"id": "zz1", "text": "Well done Ava"\n', encoding="utf-8")
    with pytest.raises(EvaluationError, match="zz.jsonl: cannot read"):
        held_out(tmp_path)


def test_missing_ons_file_is_a_usage_error(tmp_path, capsys):
    assert main(["evaluate", "named_children", "--no-cv", "--ons", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not POSTS.exists(), reason="../shared/data school posts absent")
def test_cross_validation_on_the_shared_posts_is_held_out_and_complete(monkeypatch, tmp_path):
    pytest.importorskip("sklearn")
    import shutil

    from socialaudit import name_training

    # the procedure whole, with one inner split and one C instead of three of each, and four of the further
    # authors' sets instead of all of them (the figures come from the command; this checks the procedure)
    monkeypatch.setattr(name_training, "INNER_REPEATS", 1)
    monkeypatch.setattr(name_training, "C_GRID", (3.0,))
    subset = tmp_path / "authors"
    subset.mkdir()
    for path in sorted(AUTHORS.glob("*.jsonl"))[:4]:
        shutil.copy(path, subset / path.name)
    load_authors = name_training.load_authors
    monkeypatch.setattr(name_training, "load_authors", lambda folder=subset: load_authors(subset))
    out = io.StringIO()
    figures = evaluate_named_children(out, labelled=LABELLED, shared=SHARED, ons=None)
    text = out.getvalue()
    pooled = figures["cv"]["pooled"]
    total = pooled["all"]
    # every post is judged exactly once, by a model that did not see it
    expected = sum(1 for line in POSTS.read_text(encoding="utf-8").splitlines() if '"severity": "critical"' in line)
    expected += sum(1 for r in load_labelled() if r["severity"] == "critical")
    expected += sum(1 for path in subset.glob("*.jsonl") for line in path.read_text(encoding="utf-8").splitlines()
                    if '"severity": "critical"' in line)
    assert total.tp + total.fn == expected
    assert "| fold | posts | C | threshold |" in text and text.count("\n| 5 | ") == 1
    assert pooled["photo or video"].tp + pooled["text only"].tp == total.tp
    assert 0.5 < total.precision <= 1.0 and 0.5 < total.recall <= 1.0  # a working model, whatever its figures
    assert "Per tag of the shared set" in text and "Span level" in text
    # the outer folds hold whole authors: every author's posts are judged by models trained on other authors only
    assert figures["cv"]["by_author"] and "by author" in text
    fold_of = figures["cv"]["fold_of"]
    assert set(fold_of) == {"shared", "own", *(f"author {p.stem}" for p in subset.glob("*.jsonl"))}
    assert all(len(folds) == 1 for folds in fold_of.values())
    assert set(figures["cv"]["across"]) == set(fold_of)


@pytest.mark.skipif(not ONS.exists(), reason="../shared/data ONS baby names absent")
def test_shared_ons_names_coverage():
    out = io.StringIO()
    figures = evaluate_named_children(out, ons=ONS, cross_validate=False)
    ons = figures["ons"]
    assert ons["names"] > 10_000
    assert ons["known_distinct"] > 0.99  # the table is built from these names (and earlier years)
    assert 0.5 < ons["flagged_distinct"] <= 1.0


@pytest.mark.slow
@pytest.mark.skipif(not POSTS.exists(), reason="../shared/data school posts absent")
@pytest.mark.timeout(1800)  # the whole build over 25,420 posts: 5 min on an idle core, over 10 min on a busy machine
def test_rebuilding_the_model_gives_the_shipped_bytes():
    pytest.importorskip("sklearn")
    pytest.importorskip("wordfreq")
    from socialaudit import name_training

    report = name_training.build(SHARED, write=False, figures=False)
    for name, text in report.figures["files"].items():
        shipped = (name_training.DATA_DIR / name).read_text(encoding="utf-8")
        assert text == shipped, f"{name} differs from what the training command builds"
