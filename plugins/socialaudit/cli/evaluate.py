"""``python -m socialaudit evaluate named_children|comments``: a detector's figures on labelled data.

The measuring is ``socialaudit.evaluate`` (named_children) and ``socialaudit.evaluate_comments`` (comments);
this module only parses the command and turns unreadable evaluation data into a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from socialaudit import evaluate, evaluate_comments
from socialaudit.errors import UsageError


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.check == "comments":
        try:
            evaluate_comments.evaluate_comments(
                sys.stdout, labelled=Path(args.comments_labelled) if args.comments_labelled else None, data=Path(args.data))
        except (evaluate_comments.EvaluationError, OSError) as exc:
            raise UsageError(str(exc)) from None
        return 0
    try:
        evaluate.evaluate_named_children(sys.stdout, labelled=Path(args.labelled), shared=Path(args.shared),
                                         ons=Path(args.ons) if args.ons else None, cross_validate=not args.no_cv)
    except evaluate.EvaluationError as exc:
        raise UsageError(str(exc)) from None
    return 0


def add_parser(sub: Any) -> None:
    """``evaluate named_children [--shared DIR] [--ons FILE] [--labelled FILE] [--no-cv]`` and
    ``evaluate comments [--data DIR] [--comments-labelled FILE]``."""
    parser = sub.add_parser("evaluate", help="measure a check's accuracy on labelled data (named_children)")
    parser.add_argument("check", choices=["named_children", "comments"], help="the check to evaluate")
    parser.add_argument("--shared", default=str(evaluate.SHARED_DATA), metavar="DIR",
                        help="the shared data folder with school-posts/ (default ../shared/data)")
    parser.add_argument("--ons", metavar="FILE", help="ONS baby names CSV (year,sex,rank,name,count)")
    parser.add_argument("--labelled", default=str(evaluate.LABELLED), metavar="FILE",
                        help="the project's labelled posts (JSON lines)")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation (it takes about a minute)")
    parser.add_argument("--data", default=str(evaluate_comments.SHARED_DATA), metavar="DIR",
                        help="comments: folder with school-comments/, hatexplain/, davidson-hate-offensive/")
    parser.add_argument("--comments-labelled", metavar="FILE",
                        help="comments: labelled comments (JSON lines), instead of DIR/school-comments/comments.jsonl")
    parser.set_defaults(func=cmd_evaluate)
