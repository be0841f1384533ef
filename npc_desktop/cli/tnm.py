"""The TNM subcommand; registered by :func:`npc_desktop.cli.main.main`.

``npc-desktop tnm --t T3 --n N2 --m M0 [--edition 8] [--json]``
    Print the stage group of the categories given and the reasons. ``--json`` prints an object
    with exactly the keys ``t``, ``n``, ``m``, ``stage``, ``edition`` and ``reasons``. An
    unknown category or a combination that cannot be staged (T0 N0 M0) exits with 2 and one
    line naming the problem.

The parser is laid out for a second form, ``npc-desktop tnm STUDY [--json]`` (stage from the
study's saved TNM form and measurements): ``--t/--n/--m`` are options, not required by argparse,
so adding an optional positional ``study`` (``nargs="?"``) and a branch in :func:`_cmd_tnm`
that calls :func:`npc_desktop.core.tnm.assess` and prints with :func:`_print_assessment` keeps
every command line that works today working.
"""

from __future__ import annotations

import argparse
import json
from typing import Callable

from npc_desktop.core.tnm.assessment import TnmAssessment
from npc_desktop.core.tnm.editions import DEFAULT_EDITION

_OPTION_OF_FIELD = {"T": "--t", "N": "--n", "M": "--m", "edition": "--edition"}


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the ``tnm`` subcommand to ``commands``; return its handler by name."""
    tnm = commands.add_parser(
        "tnm", help="stage group (I, II, III, IVA, IVB) of T, N and M categories, with the reasons",
        description="Print the AJCC/UICC stage group of the T, N and M categories given, with the reasons.",
    )
    tnm.add_argument("--t", metavar="T", help="T category: T0, T1, T2, T3 or T4")
    tnm.add_argument("--n", metavar="N", help="N category: N0, N1, N2 or N3")
    tnm.add_argument("--m", metavar="M", help="M category: M0 or M1")
    tnm.add_argument("--edition", default=str(DEFAULT_EDITION),
                     help=f"AJCC/UICC edition (default {DEFAULT_EDITION})")
    tnm.add_argument("--json", action="store_true", help="print JSON instead of text")
    return {"tnm": _cmd_tnm}


def _cmd_tnm(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import EXIT_OK, UsageError
    from npc_desktop.core.tnm.assessment import assess_categories
    from npc_desktop.core.tnm.errors import TnmError

    missing = [option for option, value in (("--t", args.t), ("--n", args.n), ("--m", args.m)) if value is None]
    if missing:
        raise UsageError(f"{', '.join(missing)}: give all of --t, --n and --m (for example --t T3 --n N2 --m M0)")
    try:
        assessment = assess_categories(args.t, args.n, args.m, edition=args.edition,
                                       source="given on the command line")
    except TnmError as exc:
        option = _OPTION_OF_FIELD.get(exc.field)
        raise UsageError(f"{option} {exc.problem}" if option else str(exc)) from None
    _print_assessment(assessment, as_json=args.json)
    return EXIT_OK


def _print_assessment(assessment: TnmAssessment, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(assessment.summary_dict(), indent=2))
        return
    categories = " ".join(str(call.value or "?") for call in (assessment.t, assessment.n, assessment.m))
    stage = f"Stage {assessment.stage}" if assessment.stage else "Not staged"
    print(f"{stage} ({categories}, {assessment.table.title})")
    for reason in assessment.reasons:
        print(f"  {reason}")
