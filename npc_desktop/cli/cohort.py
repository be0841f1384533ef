"""``npc-desktop cohort``: the persistent study index and worklist; registered by :mod:`npc_desktop.cli.main`.

``npc-desktop cohort index ROOT... [--json]``
    Index folders into the cohort database (only new or changed files are read again), listing
    skipped files and studies found twice.
``npc-desktop cohort list [--filter unlabelled|unstaged|discordant] [--real-names] [--json]``
    One row per patient and study: T1C/T2 found, ROI counts, label, TNM stage, staging, reviewer.
    Patients are shown by pseudonym unless ``--real-names``.
``npc-desktop cohort stage [--bundle DIR | --demo-bundle] [--filter ...]``
    Stage every (filtered) row with ROIs and store each result in the study's annotation file.
    Rows already staged with the bundle on the same ROIs are skipped, so an interrupted run resumes.

``--database FILE`` (or ``NPC_DESKTOP_DATA_DIR``) chooses the database; by default it lives in
the user data folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from npc_desktop.cli.bundle_onnx import add_runtime_option
from npc_desktop.cli.engine_args import engine_from_args

_FILTERS = ("unlabelled", "unstaged", "discordant")


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the ``cohort`` subcommand to ``commands``; return its handler."""
    cohort = commands.add_parser("cohort", help="index many studies and list where each patient stands")
    actions = cohort.add_subparsers(dest="cohort_action", metavar="ACTION", required=True)
    index = actions.add_parser("index", help="index folders (re-reads only new or changed files)")
    index.add_argument("roots", nargs="+", metavar="ROOT", help="folders (searched recursively) or files")
    listing = actions.add_parser("list", help="one row per patient and study")
    listing.add_argument("--real-names", action="store_true", help="show patient names and IDs, not pseudonyms")
    stage = actions.add_parser("stage", help="stage the rows' ROIs and store the results")
    source = stage.add_mutually_exclusive_group()
    source.add_argument("--bundle", help="model bundle folder (see models/README.md)")
    source.add_argument("--demo-bundle", action="store_true",
                        help="the untrained demo members (random weights: UNTRAINED DEMO - not a prediction)")
    stage.add_argument("--demo-input-size", type=int, default=None, help=argparse.SUPPRESS)
    add_runtime_option(stage)
    for parser in (listing, stage):
        parser.add_argument("--filter", choices=_FILTERS, default=None, help="only these rows")
    for parser in (index, listing, stage):
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        parser.add_argument("--database", metavar="FILE",
                            help="cohort database (default: cohort.sqlite in the user data folder)")
    return {"cohort": _cmd_cohort}


def _open(args: argparse.Namespace) -> Any:
    from npc_desktop.core.cohort.database import CohortDatabase

    db = CohortDatabase(args.database)
    for message in db.messages:
        print(f"npc-desktop: warning: {message}", file=sys.stderr)
    return db


def _cmd_cohort(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.cohort.indexer import CohortError

    try:
        db = _open(args)
    except OSError as exc:
        raise UsageError(f"--database {args.database or ''}: cannot open the cohort database ({exc})") from None
    try:
        handler = {"index": _index, "list": _list, "stage": _stage}[args.cohort_action]
        return handler(args, db)
    except CohortError as exc:
        raise UsageError(str(exc)) from None
    finally:
        db.close()


def _index(args: argparse.Namespace, db: Any) -> int:
    from npc_desktop.core.cohort.indexer import index_roots

    report = index_roots(db, args.roots)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0


def _row_line(row: Any, real_names: bool) -> str:
    found = "+".join(r for r, s in (("T1C", row.t1c), ("T2", row.t2)) if s) or "no T1C/T2"
    staged = "not staged"
    if row.staged:
        staged = f"staged {row.ensemble_class or '-'} ({row.bundle_hash[:12]}{', stale' if row.stale else ''})"
    parts = [row.display_name(real_names=real_names), (row.study_date or "-") if real_names else "", found,
             f"{row.tumours} tumour(s), {row.nodes} node(s), {row.measurements} measurement(s)",
             f"label {row.label or '-'}", f"TNM {row.tnm_stage or '-'}", staged]
    if row.discordant:
        parts.append(f"DISCORDANT ({row.discordance})")
    if row.reviewer:
        parts.append(f"by {row.reviewer}")
    line = "  ".join(p for p in parts if p)
    return line + "".join(f"\n    problem: {p}" for p in row.problems)


def _list(args: argparse.Namespace, db: Any) -> int:
    from npc_desktop.core.cohort.worklist import build_worklist

    worklist = build_worklist(db)
    rows = worklist.filtered(args.filter)
    if args.json:
        print(json.dumps({"summary": worklist.summary(), "filter": args.filter,
                          "rows": [r.to_dict(real_names=args.real_names) for r in rows],
                          "warnings": worklist.warnings}, indent=2))
        return 0
    for row in rows:
        print(_row_line(row, args.real_names))
    for warning in worklist.warnings:
        print(f"warning: {warning}")
    shown = f"{len(rows)} row(s) shown ({args.filter}); " if args.filter else ""
    print(f"{shown}{worklist.summary()}")
    return 0


def _engine(args: argparse.Namespace) -> Any:
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.models.errors import ModelError
    if not args.bundle and not args.demo_bundle:
        raise UsageError("choose a model bundle with --bundle DIR (see models/README.md) or --demo-bundle")
    try:
        return engine_from_args(args)
    except ModelError as exc:
        raise UsageError(str(exc)) from None


def _stage(args: argparse.Namespace, db: Any) -> int:
    from npc_desktop.core.cohort.batch import stage_rows
    from npc_desktop.core.cohort.worklist import build_worklist

    engine = _engine(args)
    rows = build_worklist(db).filtered(args.filter)

    def show(outcome: Any) -> None:
        if not args.json:
            print(f"{outcome.outcome}: {outcome.pseudonym}: {outcome.message}", flush=True)

    report = stage_rows(rows, engine, on_outcome=show)
    if args.json:
        print(json.dumps({"summary": report.summary(), "cancelled": report.cancelled,
                          "rows": [{"patient": o.pseudonym, "outcome": o.outcome, "message": o.message}
                                   for o in report.outcomes]}, indent=2))
    else:
        print(report.summary())
    return 0 if report.count("failed") == 0 else 2
