"""``npc-desktop report``: stage a study's ROIs and write the PDF report; registered by :mod:`npc_desktop.cli.main`.

The report opens with the study's TNM section (its saved TNM form, see ``docs/tnm.md``); the
command prints the ensemble's headline, then the TNM stage beside it and whether they agree.

``npc-desktop report STUDY_PATH -o REPORT.pdf [--bundle DIR | --demo-bundle] [--annotations FILE]
[--page-size A4|Letter] [--deidentified [PSEUDONYM]] [--dicom REPORT.dcm] [--institution NAME] [--logo PNG]``
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from npc_desktop.cli.bundle_onnx import add_runtime_option
from npc_desktop.cli.engine_args import engine_from_args


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the ``report`` subcommand to ``commands``; return its handler."""
    report = commands.add_parser("report", help="stage a study's ROIs and write the staged PDF report")
    report.add_argument("study_path", help="folder, DICOMDIR, zip or file holding the study")
    report.add_argument("-o", "--output", required=True, help="the PDF to write")
    source = report.add_mutually_exclusive_group()
    source.add_argument("--bundle", help="model bundle folder (see models/README.md)")
    source.add_argument("--demo-bundle", action="store_true",
                        help="the untrained demo members (every page marked UNTRAINED DEMO - not a prediction)")
    report.add_argument("--annotations", help="annotation JSON file (default: the app's autosave for the study)")
    report.add_argument("--page-size", choices=("A4", "Letter"), default="A4", help="paper size (default A4)")
    report.add_argument("--deidentified", nargs="?", const="ANONYMOUS", default=None, metavar="PSEUDONYM",
                        help="write the de-identified variant (no name, ID, dates or UIDs)")
    report.add_argument("--dicom", help="also write the report as a DICOM Encapsulated PDF for PACS")
    report.add_argument("--institution", default="NPC Desktop", help="institution name in the header")
    report.add_argument("--department", default="", help="department line under the institution name")
    report.add_argument("--logo", help="PNG or JPEG logo for the header")
    report.add_argument("--key-images", type=int, default=4, help="key slices to show (default 4)")
    report.add_argument("--demo-input-size", type=int, default=None, help=argparse.SUPPRESS)
    add_runtime_option(report)
    return {"report": _cmd_report}


def _engine(args: argparse.Namespace) -> Any:
    return engine_from_args(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import UsageError
    from npc_desktop.cli.staging import _load_volumes, _read_annotations
    from npc_desktop.cli.tnm_compare import tnm_beside_ensemble
    from npc_desktop.core.dicom import index_path
    from npc_desktop.core.models.errors import ModelError
    from npc_desktop.core.reports import Institution, ReportContentError, ReportWriteError, write_report_pdf
    from npc_desktop.core.reports.assemble import report_content, source_images, stage_label_text
    from npc_desktop.core.reports.dicom_pdf import EncapsulatedPdfError, encapsulate_pdf
    from npc_desktop.core.staging.engine import StagingInputError

    if not Path(args.study_path).exists():
        raise UsageError(f"{args.study_path}: no such file or folder")
    if not args.bundle and not args.demo_bundle:
        raise UsageError("choose a model bundle with --bundle DIR (see models/README.md) or --demo-bundle")
    if args.deidentified is not None and args.dicom:
        raise UsageError("--dicom writes the identified report for PACS; it cannot be combined with --deidentified")
    if args.key_images < 0:
        raise UsageError(f"--key-images {args.key_images}: must be 0 or more")
    try:
        institution = Institution(args.institution, args.department, Path(args.logo) if args.logo else None)
    except ReportContentError as exc:
        raise UsageError(f"--logo: {exc}") from None
    index = index_path(args.study_path)
    studies = {s.study_instance_uid: s for p in index.patients for s in p.studies}
    annotations = _read_annotations(args, list(studies))
    # The series of rulers and the cricoid level too, for their lengths and slices in the TNM section.
    measured = [m.series_instance_uid for m in annotations.measurements]
    if annotations.cricoid_level is not None:
        measured.append(annotations.cricoid_level.series_instance_uid)
    volumes = _load_volumes(index, annotations, args.study_path,
                            dict.fromkeys([*annotations.series_uids(), *measured]))
    try:
        engine = _engine(args)
        result = engine.stage_annotations(annotations, volumes)
        content = report_content(result, annotations, volumes, manifest=engine.bundle.manifest,
                                 study=studies.get(annotations.study_instance_uid), institution=institution,
                                 key_image_count=args.key_images)
    except (ModelError, StagingInputError, ReportContentError) as exc:
        raise UsageError(str(exc)) from None
    if args.deidentified is not None:
        content = content.deidentified(args.deidentified)
    try:
        pdf = write_report_pdf(content, args.output, page_size=args.page_size)
        print(f"{stage_label_text(result)}")
        study = studies.get(annotations.study_instance_uid)
        print("\n".join(tnm_beside_ensemble(annotations, volumes, result, study).lines()))
        print(f"report written to {pdf}")
        if args.dicom:
            dcm = encapsulate_pdf(pdf, args.dicom, patient=content.patient,
                                  source_images=source_images(result, volumes, index))
            print(f"DICOM Encapsulated PDF written to {dcm}")
    except (ReportWriteError, EncapsulatedPdfError) as exc:
        raise UsageError(str(exc)) from None
    return 0
