"""``python -m socialaudit evaluate named_children``: how well the name finder does, measured.

Three measurements, printed as figures (never the names themselves):

1. **Post level, on the labelled school posts** (``tests/data/named_children_posts.jsonl``, fictional):
   a post is positive when it should get a finding (a child named, or personal information).
   Precision, recall and F1 for the ``dev`` split (used while tuning), the ``holdout`` split (not
   looked at while tuning) and both; plus how often the finding's severity is the expected one.
2. **Person-name level, on CoNLL-format data** (``--conll FILE``, a file or a folder of ``*.conll``;
   by default WNUT-17 ``emerging.test.annotated`` and the Broad Twitter Corpus in ``../shared/data``
   when present): the *raw* name finder, before the policy's exclusions, against the gold ``person``
   / ``PER`` entities. A predicted name that overlaps a gold person is a true positive; a gold
   person overlapped by no prediction is missed. The finder only knows given names, so people
   mentioned by surname alone ("Obama") count as missed: this measures what it is, not what we wish.
3. **Given-name coverage** (``--ons FILE``, default the ONS baby names CSV in ``../shared/data``):
   the share of distinct names, and of babies, for which the full detector flags "Well done to NAME!".
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from socialaudit.config import PROJECT_ROOT

LABELLED = PROJECT_ROOT / "tests" / "data" / "named_children_posts.jsonl"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
DEFAULT_CONLL = (SHARED_DATA / "wnut17" / "emerging.test.annotated", SHARED_DATA / "broad-twitter-corpus")
DEFAULT_ONS = SHARED_DATA / "ons-babynames" / "ons_babynames_ew_2022-2024.csv"
# Domains the labelled posts treat as the trust's own (the demo trust's, as in config/trust.yaml).
LABELLED_DOMAINS = ("stoswins-trust.example.org", "example.sch.uk")
LABELLED_STAFF = ("Mrs Thompson", "Mr Okafor", "Miss Rahman", "Mrs Gallagher", "Mrs Novak", "Mr Byrne")


class EvaluationError(ValueError):
    """Unreadable evaluation data; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Scores:
    """Counts and the usual ratios (a ratio with nothing to divide by is reported as 0)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self, label: str) -> str:
        return (f"{label:<28} precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}  "
                f"(tp {self.tp}, fp {self.fp}, fn {self.fn})")


# --- 1. post level ---------------------------------------------------------------------------

def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    """The labelled posts; raises EvaluationError naming the file and line of a bad record."""
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


def labelled_post(record: dict[str, Any]) -> Any:
    """The labelled record as a Post: alt texts become photos, ``has_photo`` one photo without alt."""
    from socialaudit.models import Media, Post

    media = [Media(type="photo", alt=alt) for alt in record.get("alt") or []]
    if record.get("has_photo") and not media:
        media.append(Media(type="photo"))
    return Post(platform="rss", account="labelled", school="labelled", id=str(record["id"]), url="",
                created_at=datetime(2026, 11, 18, tzinfo=timezone.utc), text=str(record["text"]), media=tuple(media))


@functools.cache
def _labelled_context() -> Any:
    from checks._names import school_context

    return school_context(LABELLED_STAFF, LABELLED_DOMAINS, "St Oswin's Catholic Primary School")


def predict_post(record: dict[str, Any]) -> tuple[str | None, list[str]]:
    """(severity or None, names found) for one labelled post, as the check judges it."""
    from checks._names import analyse
    from checks.named_children import post_segments, severity_of
    from socialaudit.models import Severity

    post = labelled_post(record)
    found = analyse(post_segments(post), _labelled_context())
    severity = severity_of(post, found, Severity.WARNING)
    return (severity.value if severity else None), [n.given for n in found.names]


def post_level(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Scores per split, severity agreement and name-level scores on the labelled posts."""
    by_split: dict[str, list[int]] = {}
    severity_ok = 0
    name_tp = name_fp = name_fn = 0
    for record in records:
        severity, names = predict_post(record)
        expected = record["severity"] != "none"
        predicted = severity is not None
        counts = by_split.setdefault(record.get("split", "dev"), [0, 0, 0])
        if predicted and expected:
            counts[0] += 1
        elif predicted:
            counts[1] += 1
        elif expected:
            counts[2] += 1
        severity_ok += (severity or "none") == record["severity"]
        want = {n.lower() for n in record["names"]}
        got = {n.lower() for n in names}
        name_tp += len(want & got)
        name_fp += len(got - want)
        name_fn += len(want - got)
    splits = {name: Scores(*c) for name, c in sorted(by_split.items())}
    total = Scores(*(sum(c[i] for c in by_split.values()) for i in range(3)))
    return {"splits": splits, "all": total, "severity_agreement": severity_ok / len(records) if records else 0.0,
            "names": Scores(name_tp, name_fp, name_fn), "posts": len(records)}


# --- 2. CoNLL person names -------------------------------------------------------------------

def read_conll(path: Path) -> Iterator[list[tuple[str, str]]]:
    """Sentences of (token, BIO tag) from a CoNLL file: one token and tag per line, blank between."""
    sentence: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if sentence:
                    yield sentence
                sentence = []
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) < 2:
                raise EvaluationError(f"{path}:{number}: expected a token and a tag, got {line[:40]!r}")
            sentence.append((parts[0], parts[-1]))
    if sentence:
        yield sentence


def _is_person(tag: str) -> bool:
    kind = tag[2:].lower() if tag[:2] in ("B-", "I-") else ""
    return kind in ("person", "per")


def gold_people(tags: Sequence[str]) -> list[tuple[int, int]]:
    """Token spans (first, last) of the gold person entities."""
    spans: list[tuple[int, int]] = []
    for i, tag in enumerate(tags):
        if _is_person(tag) and (tag.startswith("B-") or not spans or spans[-1][1] != i - 1):
            spans.append((i, i))
        elif _is_person(tag):
            spans[-1] = (spans[-1][0], i)
    return spans


def predicted_people(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Token spans the raw name finder (before exclusions) marks as people."""
    from checks._names import find_names

    offsets = []
    pos = 0
    for token in tokens:
        offsets.append(pos)
        pos += len(token) + 1
    text = " ".join(tokens)
    found, spans = find_names(text)
    out = []
    for span in spans:
        start = found[span.first].start
        end = found[span.last].start + len(found[span.last].text)
        first = max(i for i, o in enumerate(offsets) if o <= start)
        last = max(i for i, o in enumerate(offsets) if o < end)
        out.append((first, last))
    return out


def conll_scores(paths: Iterable[Path]) -> Scores:
    """Person-name precision/recall of the raw name finder over CoNLL files (overlap matching)."""
    tp = fp = fn = 0
    for path in paths:
        for sentence in read_conll(path):
            tokens = [t for t, _ in sentence]
            gold = gold_people([g for _, g in sentence])
            pred = predicted_people(tokens)
            hit = [any(p[0] <= g[1] and g[0] <= p[1] for p in pred) for g in gold]
            tp_pred = sum(1 for p in pred if any(p[0] <= g[1] and g[0] <= p[1] for g in gold))
            tp += sum(hit)
            fn += len(gold) - sum(hit)
            fp += len(pred) - tp_pred
    return Scores(tp, fp, fn)


def conll_files(target: Path) -> list[Path]:
    """A file, or the ``*.conll`` files of a folder."""
    if target.is_dir():
        return sorted(target.glob("*.conll"))
    return [target]


# --- 3. baby names ---------------------------------------------------------------------------

def ons_coverage(path: Path) -> dict[str, float | int]:
    """Shares of the ONS given names (distinct, and weighted by babies) that the detector flags in
    "Well done to NAME!", and that the name tables know (found in any sentence, not only after a cue)."""
    from checks._names import analyse, name_tables

    counts: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            try:
                counts[row["name"]] = counts.get(row["name"], 0) + int(row["count"])
            except (KeyError, ValueError, TypeError):
                raise EvaluationError(f"{path}:{number}: expected columns name and count") from None
    tables = name_tables()
    flagged = {name for name in counts if analyse([("text", f"Well done to {name}!")]).names}
    known = {name for name in counts if name.lower() in tables}
    british = {name for name in counts if name.lower() in tables.british}
    babies = sum(counts.values()) or 1
    total = len(counts) or 1

    def share(names: set[str]) -> tuple[float, float]:
        return len(names) / total, sum(counts[n] for n in names) / babies

    out: dict[str, float | int] = {"names": len(counts)}
    for label, names in (("flagged", flagged), ("known", known), ("british", british)):
        out[f"{label}_distinct"], out[f"{label}_babies"] = share(names)
    return out


# --- the command -----------------------------------------------------------------------------

def evaluate_named_children(out: TextIO, *, labelled: Path = LABELLED, conll: Sequence[Path] | None = None,
                            ons: Path | None = None) -> dict[str, Any]:
    """Print every figure; returns them for tests and the README."""
    figures: dict[str, Any] = {}
    result = post_level(load_labelled(labelled))
    figures["posts"] = result
    print(f"named_children, post level on {result['posts']} labelled school posts ({labelled.name}):", file=out)
    for name, scores in result["splits"].items():
        print("  " + scores.line(name), file=out)
    print("  " + result["all"].line("all"), file=out)
    print(f"  severity as labelled: {result['severity_agreement']:.3f} of posts", file=out)
    print("  " + result["names"].line("names (all posts)"), file=out)
    targets = list(conll) if conll is not None else [p for p in DEFAULT_CONLL if p.exists()]
    figures["conll"] = {}
    if not targets:
        print("person names on CoNLL data: skipped (no --conll file, and ../shared/data is absent)", file=out)
    for target in targets:
        if not target.exists():
            raise EvaluationError(f"{target}: no such file or folder")
        files = conll_files(target)
        scores = conll_scores(files)
        figures["conll"][str(target)] = scores
        print(f"person names, raw finder, on {target.name} ({len(files)} file{'s' if len(files) != 1 else ''}):", file=out)
        print("  " + scores.line("persons (overlap)"), file=out)
    ons_path = ons if ons is not None else (DEFAULT_ONS if DEFAULT_ONS.exists() else None)
    if ons_path is None:
        print("given names on ONS baby names: skipped (no --ons file, and ../shared/data is absent)", file=out)
    else:
        if not ons_path.exists():
            raise EvaluationError(f"{ons_path}: no such file")
        ons_figures = ons_coverage(ons_path)
        figures["ons"] = ons_figures
        print(f"ONS given names ({ons_path.name}, {ons_figures['names']} distinct), share of distinct names / of babies:",
              file=out)
        print(f"  flagged in 'Well done to NAME!'        {ons_figures['flagged_distinct']:.3f} / {ons_figures['flagged_babies']:.3f}",
              file=out)
        print(f"  known to the name tables              {ons_figures['known_distinct']:.3f} / {ons_figures['known_babies']:.3f}",
              file=out)
        print(f"  in the GB/IE columns alone             {ons_figures['british_distinct']:.3f} / {ons_figures['british_babies']:.3f}",
              file=out)
    return figures


def _run(args: argparse.Namespace) -> int:
    from socialaudit.cli import UsageError

    try:
        evaluate_named_children(sys.stdout, labelled=Path(args.labelled),
                                conll=[Path(c) for c in args.conll] if args.conll else None,
                                ons=Path(args.ons) if args.ons else None)
    except EvaluationError as exc:
        raise UsageError(str(exc)) from None
    return 0


def add_parser(sub: Any) -> None:
    """``evaluate named_children [--conll FILE ...] [--ons FILE] [--labelled FILE]``."""
    parser = sub.add_parser("evaluate", help="measure a check's accuracy on labelled data (named_children)")
    parser.add_argument("check", choices=["named_children"], help="the check to evaluate")
    parser.add_argument("--conll", action="append", metavar="FILE",
                        help="CoNLL file or folder of *.conll for person-name figures (repeatable; "
                             "default: WNUT-17 and the Broad Twitter Corpus in ../shared/data when present)")
    parser.add_argument("--ons", metavar="FILE", help="ONS baby names CSV (year,sex,rank,name,count)")
    parser.add_argument("--labelled", default=str(LABELLED), metavar="FILE", help="labelled posts (JSON lines)")
    parser.set_defaults(func=_run)
