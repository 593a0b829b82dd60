"""``python -m socialaudit evaluate named_children``: how well the named-children detector does, measured.

1. **Cross-validation** (needs scikit-learn from requirements-dev.txt and the shared school posts in
   ``../shared/data``): nested 5-fold cross-validation of the whole training procedure over the
   shared labelled posts and the project's own set, exactly as ``python -m socialaudit.name_training``
   does before it ships the model: per-fold, pooled (photo or video, text only), per-tag and
   span-level precision and recall, the settings chosen inside each fold, and the errors left by
   kind. Every figure is measured on posts the fold's model was neither trained nor tuned on.
2. **The shipped model**: its threshold, size, and the time to load it.
3. **Held-out authors** (``tests/data/school_posts_held_out/``, in the project, so no ``../shared`` and no
   scikit-learn needed): the shipped model, through the check's own ``analyse``, on further authors' posts
   that no model or setting was ever chosen on; critical posts, per set and pooled.
4. **Given-name coverage** (``--ons FILE``, default the ONS 2022-2024 baby names in ``../shared/data``):
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
from socialaudit import name_training  # its reading and figures; scikit-learn only when it trains (build)
from socialaudit.config import PROJECT_ROOT

LABELLED = PROJECT_ROOT / "tests" / "data" / "named_children_posts.jsonl"
# Further authors' sets kept out of training and of every choice (see the folder's README)
HELD_OUT = PROJECT_ROOT / "tests" / "data" / "school_posts_held_out"
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
    files = ("name_model.json", "given_names.tsv", "word_zipf.tsv", "word_clusters.tsv")
    size = sum(data.joinpath(n).stat().st_size for n in files)  # type: ignore[attr-defined]
    return {"threshold": model.threshold, "weights": len(model.weights), "given": len(model.given),
            "words": len(model.zipf), "bytes": size, "load_seconds": seconds}


def held_out(folder: Path = HELD_OUT) -> dict[str, dict[str, int]]:
    """The shipped model on each held-out set (``<name>.jsonl``, the shared set's format) and pooled: true and
    false positives and misses for critical posts, all, with a photo or video, and text only."""
    out: dict[str, dict[str, int]] = {}
    pooled = {key: 0 for key in ("tp", "fp", "fn", "photo_tp", "photo_fp", "photo_fn", "text_tp", "text_fp", "text_fn")}
    for path in sorted(folder.glob("*.jsonl")):
        try:
            examples = name_training.load_shared(path, path.stem)
        except (name_training.TrainingError, ValueError, KeyError, TypeError) as exc:
            raise EvaluationError(f"{path}: cannot read: {exc}") from None
        counts = dict.fromkeys(pooled, 0)
        for ex in examples:
            found = analyse(ex.segments, own=name_training.OWN)
            pred = bool(found.pii) or any(n.full for n in found.names) or (bool(found.names) and ex.media)
            gold = ex.severity == "critical"
            kind = "photo" if ex.media else "text"
            for key in ("", f"{kind}_"):
                counts[f"{key}tp"] += gold and pred
                counts[f"{key}fp"] += pred and not gold
                counts[f"{key}fn"] += gold and not pred
        out[path.stem] = counts
        for key, value in counts.items():
            pooled[key] += value
    if out:
        out["pooled"] = pooled
    return out


def _pr(tp: int, fp: int, fn: int) -> str:
    return f"{tp / (tp + fp) if tp + fp else 0.0:.3f} / {tp / (tp + fn) if tp + fn else 0.0:.3f} (tp {tp}, fp {fp}, fn {fn})"


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
    kept = held_out()
    figures["held_out"] = kept
    if kept:
        print("held-out authors (never trained or tuned on), critical posts, precision / recall:", file=out)
        for name, c in kept.items():
            print(f"  {name:8} all {_pr(c['tp'], c['fp'], c['fn'])}; photo or video {_pr(c['photo_tp'], c['photo_fp'], c['photo_fn'])};"
                  f" text only {_pr(c['text_tp'], c['text_fp'], c['text_fn'])}", file=out)
    posts = shared / "school-posts" / "posts.jsonl"
    if not cross_validate:
        print("cross-validation: skipped (--no-cv)", file=out)
    elif not posts.exists():
        print(f"cross-validation: skipped ({posts} is absent; it needs the shared development data)", file=out)
    else:
        try:
            report = name_training.build(shared, write=False, own=labelled)
        except ImportError as exc:  # training needs scikit-learn, a development dependency the runtime image lacks
            print(f"cross-validation: skipped ({exc}; install requirements-dev.txt)", file=out)
        except name_training.TrainingError as exc:
            raise EvaluationError(str(exc)) from None
        else:
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
