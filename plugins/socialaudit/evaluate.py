"""``python -m socialaudit evaluate named_children``: how well the named-children detector does, measured.

1. **Cross-validation** (needs scikit-learn from requirements-dev.txt and the shared school posts in
   ``../shared/data``): nested 5-fold cross-validation of the whole training procedure over the
   shared labelled posts and the project's own set, exactly as ``python -m socialaudit.name_training``
   does before it ships the model: per-fold, pooled (photo or video, text only), per-tag and
   span-level precision and recall, the settings chosen inside each fold, and the errors left by
   kind. Every figure is measured on posts the fold's model was neither trained nor tuned on.
2. **The shipped model**: its threshold, size, and the time to load it.
3. **Given-name coverage** (``--ons FILE``, default the ONS 2022-2024 baby names in ``../shared/data``):
   the share of names, and of babies, for which "Well done to NAME!" with a photo is critical. The
   tables were built from these names, so this is coverage, not accuracy.
"""

from __future__ import annotations

import csv
import json
import time
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from checks import _childnames
from checks.named_children import analyse
from socialaudit.config import PROJECT_ROOT

LABELLED = PROJECT_ROOT / "tests" / "data" / "named_children_posts.jsonl"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
DEFAULT_ONS = SHARED_DATA / "ons-babynames" / "ons_babynames_ew_2022-2024.csv"


class EvaluationError(ValueError):
    """Unreadable evaluation data; the message names the file and line."""


def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    """The project's labelled posts; raises EvaluationError naming the file and line of a bad record."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvaluationError(f"{path}: cannot read: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            for key in ("id", "text", "label", "severity", "names"):
                if key not in record:
                    raise ValueError(f"missing field {key!r}")
        except (json.JSONDecodeError, ValueError) as exc:
            raise EvaluationError(f"{path}:{number}: {exc}") from None
        records.append(record)
    return records


def ons_coverage(path: Path) -> dict[str, float | int]:
    """Shares of the ONS given names (distinct, and weighted by babies) for which "Well done to NAME!"
    with a photo is critical, and which the shipped given-name table holds."""
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            try:
                counts[row["name"]] = counts.get(row["name"], 0) + int(row["count"])
            except (KeyError, ValueError, TypeError):
                raise EvaluationError(f"{path}:{number}: expected columns name and count") from None
    given, _ = _childnames.tables()
    flagged = {name for name in counts if analyse([("text", f"Well done to {name}!")]).names}
    known = {name for name in counts if name.lower() in given}
    babies = sum(counts.values()) or 1
    total = len(counts) or 1
    out: dict[str, float | int] = {"names": len(counts)}
    for label, names in (("flagged", flagged), ("known", known)):
        out[f"{label}_distinct"] = len(names) / total
        out[f"{label}_babies"] = sum(counts[n] for n in names) / babies
    return out


def shipped_model() -> dict[str, Any]:
    """The shipped model's settings, size and load time (in this process, tables included)."""
    _childnames.load_model.cache_clear()
    _childnames.tables.cache_clear()
    started = time.perf_counter()
    model = _childnames.load_model()
    seconds = time.perf_counter() - started
    data = resources.files("checks").joinpath("data")
    size = sum(data.joinpath(n).stat().st_size for n in ("name_model.json", "given_names.tsv", "word_zipf.tsv"))  # type: ignore[attr-defined]
    return {"threshold": model.threshold, "weights": len(model.weights), "given": len(model.given),
            "words": len(model.zipf), "bytes": size, "load_seconds": seconds}


def evaluate_named_children(out: TextIO, *, labelled: Path = LABELLED, shared: Path = SHARED_DATA,
                            ons: Path | None = None, cross_validate: bool = True) -> dict[str, Any]:
    """Print every figure; returns them for tests and the README."""
    figures: dict[str, Any] = {}
    records = load_labelled(labelled)
    figures["labelled"] = len(records)
    model = shipped_model()
    figures["model"] = model
    print(f"shipped model: threshold {model['threshold']:.2f}, {model['weights']} weights, {model['given']} given names, "
          f"{model['words']} word frequencies, {model['bytes'] / 1024:.0f} KiB; loaded in {model['load_seconds']:.2f} s",
          file=out)
    posts = shared / "school-posts" / "posts.jsonl"
    if not cross_validate:
        print("cross-validation: skipped (--no-cv)", file=out)
    elif not posts.exists():
        print(f"cross-validation: skipped ({posts} is absent; it needs the shared development data)", file=out)
    else:
        try:
            # local: name_training needs scikit-learn, a development dependency the runtime image lacks
            from socialaudit import name_training
        except ImportError as exc:
            print(f"cross-validation: skipped ({exc}; install requirements-dev.txt)", file=out)
        else:
            try:
                report = name_training.build(shared, write=False, own=labelled)
            except name_training.TrainingError as exc:
                raise EvaluationError(str(exc)) from None
            figures["cv"] = report.figures
            print("\n".join(report.lines), file=out)
    ons_path = ons if ons is not None else (DEFAULT_ONS if DEFAULT_ONS.exists() else None)
    if ons_path is None:
        print("given names on ONS baby names: skipped (no --ons file, and ../shared/data is absent)", file=out)
    else:
        if not ons_path.exists():
            raise EvaluationError(f"{ons_path}: no such file")
        cover = ons_coverage(ons_path)
        figures["ons"] = cover
        print(f"ONS given names ({ons_path.name}, {cover['names']} distinct), share of distinct names / of babies:", file=out)
        print(f"  critical in 'Well done to NAME!' with a photo  {cover['flagged_distinct']:.3f} / {cover['flagged_babies']:.3f}",
              file=out)
        print(f"  in the shipped given-name table                {cover['known_distinct']:.3f} / {cover['known_babies']:.3f}",
              file=out)
    return figures
