"""``python -m socialaudit evaluate comments``: how well the comments check reads comments, measured.

The shipped reader (``checks._comment_model.read``: lexicon first pass, then the trained model) is run
over labelled comments and the figures are printed (never the comments themselves):

1. **School comments** (``school-comments/comments.jsonl`` in ``../shared/data``, or ``--labelled``):
   per category, how many are caught (flagged at all) and how many get the right category; overall
   precision and recall; false alarms by hard-negative kind; severity agreement. The shipped model
   was trained and its thresholds chosen on this set, so these are *training-set* figures; the
   honest, cross-validated ones come from ``scripts/train_comments.py`` (see docs/checks.md).
2. **Further authors' sets** (``tests/data/comments_by_author``): clear comments flagged and each flagged
   category caught (doxxing in ``ca``-``cd``, bullying in ``cg`` and ``ch``), with the category named;
   **friendly sets** (``tests/data/comments_friendly``, every comment clear, most naming a pupil warmly):
   comments flagged. Each set is marked as trained on or not (the shipped model lists the ones it was trained
   on; for those the figure is a training-set one, and ``scripts/train_comments.py`` with the set left out
   gives the honest one).
3. **Public sets' own test splits**, never trained on: HateXplain's ``test`` ids
   (``post_id_divisions.json``) and a seeded 10% of Davidson et al. (the training script holds the
   same 10% out): flag precision and recall, hate speech caught, normal posts flagged.

The data loaders live here so the training script and this command split the data the same way.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from checks._comment_model import load, read
from checks._lexicon import DEFAULT_ALLOW, DEFAULT_ATTACKS, DEFAULT_THREATS, lexicon
from socialaudit.config import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
# Further authors' comments: hard negatives and doxxing, bullying and clear (the project's own data; its README)
AUTHORS = PROJECT_ROOT / "tests" / "data" / "comments_by_author"
# Friendly comments naming pupils, every one clear: false alarms (the project's own data; its README)
FRIENDLY = PROJECT_ROOT / "tests" / "data" / "comments_friendly"
SPLIT_SEED = 20261206
# The dataset's flag kinds, as the check's categories ("hate" is reported with slurs).
KIND_TO_CATEGORY = {"hate": "slur"}


class EvaluationError(ValueError):
    """Unreadable evaluation data; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    flag: bool
    category: str  # the check's category for a flagged comment, else ""
    kind: str  # the dataset's own label (a clear-... kind, "hate", "offensive", "normal", ...)
    severity: str = ""


def school_comments(path: Path) -> list[Labelled]:
    """The labelled school comments (JSON lines: text, label flag/clear, category, severity)."""
    out = []
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    flag = r["label"] == "flag"
                    kind = str(r["category"])
                    out.append(Labelled(text=str(r["text"]), flag=flag, kind=kind, severity=str(r.get("severity") or ""),
                                        category=KIND_TO_CATEGORY.get(kind, kind) if flag else ""))
                except (ValueError, KeyError, TypeError) as exc:
                    raise EvaluationError(f"{path}:{n}: not a labelled comment ({exc})") from None
    except OSError as exc:
        raise EvaluationError(f"{path}: {exc.strerror or exc}") from None
    return out


def hatexplain(folder: Path) -> tuple[list[Labelled], list[Labelled]]:
    """(train, test) by the paper's own split; hate speech is a slur, offensive is flagged, normal is clear.
    Posts without a majority label are in no split (as in the paper)."""
    split = json.loads((folder / "post_id_divisions.json").read_text(encoding="utf-8"))
    where = {pid: name for name in ("train", "val", "test") for pid in split[name]}
    train, test = [], []
    with (folder / "hatexplain_mbib092.csv").open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            kind = {"0": "normal", "1": "hate", "2": "offensive"}.get(rec["category"])
            part = where.get(rec[""])
            if kind is None or part is None:
                continue
            row = Labelled(text=rec["text"], flag=kind != "normal", category="slur" if kind == "hate" else "", kind=kind)
            if part == "test":
                test.append(row)
            elif part == "train":
                train.append(row)
    return train, test


def davidson(folder: Path) -> tuple[list[Labelled], list[Labelled]]:
    """(train, test): a seeded 90/10 split of the tweets (hate speech, offensive, neither)."""
    rows = []
    with (folder / "labeled_data.csv").open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            kind = {"0": "hate", "1": "offensive", "2": "neither"}[rec["class"]]
            rows.append(Labelled(text=rec["tweet"], flag=kind != "neither", category="slur" if kind == "hate" else "",
                                 kind=kind))
    order = list(range(len(rows)))
    random.Random(SPLIT_SEED).shuffle(order)
    held = set(order[:len(rows) // 10])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def _read_all(rows: list[Labelled]) -> Iterator[Any]:
    lex = lexicon(DEFAULT_THREATS, DEFAULT_ATTACKS, DEFAULT_ALLOW)
    for row in rows:
        yield read(row.text, lex)


def school_figures(rows: list[Labelled]) -> dict[str, Any]:
    """Per-category and overall figures of the shipped reader on labelled school comments."""
    readings = list(_read_all(rows))
    cats: dict[str, dict[str, int]] = {}
    for row, got in zip(rows, readings, strict=True):
        if row.flag:
            c = cats.setdefault(row.category, {"n": 0, "caught": 0, "right": 0, "severity_right": 0})
            c["n"] += 1
            c["caught"] += bool(got.category)
            c["right"] += got.category == row.category
            c["severity_right"] += bool(got.category) and got.critical == (row.severity == "critical")
    tp = sum(1 for r, g in zip(rows, readings, strict=True) if r.flag and g.category)
    fp = sum(1 for r, g in zip(rows, readings, strict=True) if not r.flag and g.category)
    fn = sum(1 for r, g in zip(rows, readings, strict=True) if r.flag and not g.category)
    alarms = Counter(r.kind for r, g in zip(rows, readings, strict=True) if not r.flag and g.category)
    alarms_as = Counter(g.category for r, g in zip(rows, readings, strict=True) if not r.flag and g.category)
    return {"categories": dict(sorted(cats.items())), "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
            "false_alarms": dict(sorted(alarms.items())), "false_alarms_as": dict(sorted(alarms_as.items())),
            "clear": sum(1 for r in rows if not r.flag)}


def public_figures(rows: list[Labelled]) -> dict[str, Any]:
    readings = list(_read_all(rows))
    tp = sum(1 for r, g in zip(rows, readings, strict=True) if r.flag and g.category)
    fp = sum(1 for r, g in zip(rows, readings, strict=True) if not r.flag and g.category)
    pos = sum(1 for r in rows if r.flag)
    hate = [g for r, g in zip(rows, readings, strict=True) if r.kind == "hate"]
    return {"n": len(rows), "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / pos if pos else 0.0,
            "hate_caught": sum(1 for g in hate if g.category) / len(hate) if hate else 0.0,
            "normal_flagged": fp / (len(rows) - pos) if len(rows) > pos else 0.0}


def evaluate_comments(out: TextIO, *, labelled: Path | None = None, data: Path = SHARED_DATA) -> dict[str, Any]:
    """Print the figures; return them (for tests). Missing public sets are skipped with a note."""
    path = labelled or data / "school-comments" / "comments.jsonl"
    if not path.exists():
        raise EvaluationError(f"{path}: no labelled comments (give --comments-labelled FILE or --data DIR)")
    figures: dict[str, Any] = {"school": school_figures(school_comments(path))}
    s = figures["school"]
    trained_on = path.parent.name == "school-comments"
    print(f"comments: {path.name}, {s['tp'] + s['fn']} to flag, {s['clear']} clear"
          + (" (the model was trained on this set: training-set figures; cross-validated ones in docs/checks.md)"
             if trained_on else ""), file=out)
    print(f"  {'category':<10} {'n':>4} {'caught':>7} {'recall':>7} {'right category':>15} {'severity ok':>12}", file=out)
    for name, c in s["categories"].items():
        print(f"  {name:<10} {c['n']:>4} {c['caught']:>7} {c['caught'] / c['n']:>7.3f} {c['right']:>15} "
              f"{c['severity_right']:>12}", file=out)
    print(f"  overall: precision {s['precision']:.3f}, recall {s['recall']:.3f} (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})",
          file=out)
    print("  false alarms: " + (", ".join(f"{k} {v}" for k, v in s["false_alarms"].items()) or "none"), file=out)
    meta = load().meta
    authors_trained = set(meta.get("authors_trained_on", ()))
    for path in sorted(AUTHORS.glob("*.jsonl")) if labelled is None else ():
        a = school_figures(school_comments(path))
        figures[f"author {path.stem}"] = a
        share = f" ({a['fp'] / a['clear']:.3f})" if a["clear"] else ""
        caught = "".join(f"; {name} caught {c['caught']} of {c['n']} (named {name} {c['right']})"
                         for name, c in a["categories"].items())
        print(f"further author {path.stem} ("
              + ("trained on: a training-set figure" if path.stem in authors_trained else "never trained on")
              + f"): {a['fp']} of {a['clear']} clear comments flagged{share}{caught}"
              + (f"; false alarms: {', '.join(f'{k} {v}' for k, v in a['false_alarms'].items())}" if a["fp"] else ""),
              file=out)
    trained = set(meta.get("friendly_trained_on", ()))
    for path in sorted(FRIENDLY.glob("*.jsonl")) if labelled is None else ():
        f = school_figures(school_comments(path))
        figures[f"friendly {path.stem}"] = f
        share = f" ({f['fp'] / f['clear']:.3f})" if f["clear"] else ""
        print(f"friendly set {path.stem} ("
              + ("trained on: a training-set figure" if path.stem in trained else "never trained on")
              + f"): {f['fp']} of {f['clear']} clear comments flagged{share}"
              + (f"; as {', '.join(f'{k} {v}' for k, v in f['false_alarms_as'].items())}" if f["fp"] else ""), file=out)
    for name, folder, loader in (("HateXplain test split", data / "hatexplain", hatexplain),
                                 ("Davidson et al., seeded 10%", data / "davidson-hate-offensive", davidson)):
        if not folder.is_dir():
            print(f"{name}: {folder} absent, skipped", file=out)
            continue
        p = public_figures(loader(folder)[1])
        figures[name] = p
        print(f"{name} ({p['n']:,} posts, never trained on): flag precision {p['precision']:.3f}, recall {p['recall']:.3f}; "
              f"hate speech caught {p['hate_caught']:.3f}; normal posts flagged {p['normal_flagged']:.3f}", file=out)
    return figures
