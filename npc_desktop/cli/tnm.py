"""The TNM subcommand; registered by :func:`npc_desktop.cli.main.main`.

``npc-desktop tnm --t T3 --n N2 --m M0 [--edition 8] [--json]``
    Print the stage group of the categories given and the reasons. ``--json`` prints an object
    with exactly the keys ``t``, ``n``, ``m``, ``stage``, ``edition`` and ``reasons``. An
    unknown category or a combination that cannot be staged (T0 N0 M0) exits with 2 and one
    line naming the problem.
``npc-desktop tnm STUDY [--annotations FILE] [--json]``
    Stage a study from its saved TNM form and measurements (node axes, the cricoid level), as
    the workstation's TNM dock does: the annotations the workstation autosaved for the study
    (or ``FILE``), with the node ROIs' series loaded so the cricoid rule can be evaluated. Same
    output and JSON keys as the first form. No saved form exits with 2; a study given together
    with ``--t/--n/--m`` is a usage error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

from npc_desktop.core.tnm.assessment import TnmAssessment
from npc_desktop.core.tnm.editions import DEFAULT_EDITION

_OPTION_OF_FIELD = {"T": "--t", "N": "--n", "M": "--m", "edition": "--edition"}


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the ``tnm`` subcommand to ``commands``; return its handler by name."""
    tnm = commands.add_parser(
        "tnm", help="stage group (I, II, III, IVA, IVB) of T, N and M categories, or of a study, with the reasons",
        description="Print the AJCC/UICC stage group of the T, N and M categories given, or of a study's saved "
                    "TNM form and measurements, with the reasons.",
    )
    tnm.add_argument("study", nargs="?", metavar="STUDY",
                     help="folder, DICOMDIR, zip or file holding a study with a saved TNM form")
    tnm.add_argument("--annotations", help="annotation JSON file of STUDY (default: the app's autosave for it)")
    tnm.add_argument("--t", metavar="T", help="T category: T0, T1, T2, T3 or T4")
    tnm.add_argument("--n", metavar="N", help="N category: N0, N1, N2 or N3")
    tnm.add_argument("--m", metavar="M", help="M category: M0 or M1")
    tnm.add_argument("--edition", default=None, help=f"AJCC/UICC edition (default {DEFAULT_EDITION})")
    tnm.add_argument("--json", action="store_true", help="print JSON instead of text")
    return {"tnm": _cmd_tnm}


def _cmd_tnm(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import EXIT_OK, UsageError
    from npc_desktop.core.tnm.assessment import assess_categories
    from npc_desktop.core.tnm.errors import TnmError

    given = [option for option, value in (("--t", args.t), ("--n", args.n), ("--m", args.m)) if value is not None]
    if args.study is not None:
        if given or args.edition is not None:
            extra = ", ".join(given + (["--edition"] if args.edition is not None else []))
            raise UsageError(f"{extra}: give either STUDY (its saved TNM form) or --t, --n and --m, not both")
        assessment = _assess_study(args)
        if assessment.stage is None:
            # As for --t T0 --n N0 --m M0: a saved form that cannot be staged is not a result.
            raise UsageError(f"{args.study}: saved TNM form: {assessment.stage_reason}")
        _print_assessment(assessment, as_json=args.json)
        return EXIT_OK
    if args.annotations:
        raise UsageError(f"--annotations {args.annotations}: give the STUDY these annotations belong to")
    missing = [option for option in ("--t", "--n", "--m") if option not in given]
    if missing:
        raise UsageError(f"{', '.join(missing)}: give all of --t, --n and --m (for example --t T3 --n N2 --m M0) "
                         "or a STUDY with a saved TNM form")
    try:
        assessment = assess_categories(args.t, args.n, args.m, edition=args.edition or str(DEFAULT_EDITION),
                                       source="given on the command line")
    except TnmError as exc:
        option = _OPTION_OF_FIELD.get(exc.field)
        raise UsageError(f"{option} {exc.problem}" if option else str(exc)) from None
    _print_assessment(assessment, as_json=args.json)
    return EXIT_OK


def _assess_study(args: argparse.Namespace) -> TnmAssessment:
    """The study's assessment from its saved form, with the node ROIs' series loaded."""
    from npc_desktop.cli.main import UsageError
    from npc_desktop.cli.staging import _load_volumes, _read_annotations
    from npc_desktop.core.dicom import index_path
    from npc_desktop.core.tnm.errors import TnmError
    from npc_desktop.core.tnm.study import assess_study, node_rois

    if not Path(args.study).exists():
        raise UsageError(f"{args.study}: no such file or folder")
    args.study_path = args.study  # the name _read_annotations and _load_volumes give in their messages
    index = index_path(args.study)
    no_form = (f"{args.study}: no saved TNM form for this study; fill in the TNM form in the workstation "
               "(TNM dock) or pass --annotations FILE")
    annotations = _read_annotations(args, [s.study_instance_uid for p in index.patients for s in p.studies],
                                    missing=no_form)
    if annotations.tnm_form is None:
        source = f"--annotations {args.annotations}" if args.annotations else args.study
        raise UsageError(f"{source}: no saved TNM form for this study; fill in the TNM form in the workstation "
                         "(TNM dock) and let it autosave")
    series = dict.fromkeys(roi.series_instance_uid for roi in node_rois(annotations))
    volumes = _load_volumes(index, annotations, args.study, series)
    try:
        return assess_study(annotations, volumes, index)
    except TnmError as exc:
        raise UsageError(f"{args.study}: saved TNM form: {exc}") from None


def _print_assessment(assessment: TnmAssessment, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(assessment.summary_dict(), indent=2))
        return
    categories = " ".join(str(call.value or "?") for call in (assessment.t, assessment.n, assessment.m))
    stage = f"Stage {assessment.stage}" if assessment.stage else "Not staged"
    print(f"{stage} ({categories}, {assessment.table.title})")
    for reason in assessment.reasons:
        print(f"  {reason}")
