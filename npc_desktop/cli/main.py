"""The ``npc-desktop`` console entry point.

``npc-desktop [PATH]`` opens the workstation (the demo study when no path is given);
subcommands do the command-line work. Exit status: 0 on success, 2 on bad input (with a
one-line message naming the file and the problem), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence

from npc_desktop import __version__

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

NIFTI_SUFFIXES = (".nii", ".nii.gz")


class UsageError(Exception):
    """A bad argument or setting; the message names it."""


def _print_error(message: str) -> None:
    print(f"npc-desktop: error: {message}", file=sys.stderr)


# -- index ------------------------------------------------------------------------------------


def _format_index(index: "StudyIndex") -> str:  # noqa: F821 - imported lazily
    lines: list[str] = []
    for patient in index.patients:
        born = f", born {patient.birth_date}" if patient.birth_date else ""
        lines.append(f"Patient {patient.name or '(no name)'} (ID {patient.patient_id or '-'}{born})")
        for study in patient.studies:
            description = f' "{study.description}"' if study.description else ""
            lines.append(f"  Study {study.study_instance_uid} {study.date or '-'}{description}")
            for series in study.series:
                matrix = f"{series.matrix[0]}x{series.matrix[1]}" if series.matrix else "-"
                spacing = f"{series.spacing_mm:.3g} mm" if series.spacing_mm else "-"
                kind = "images" if series.is_image else "objects (not images)"
                lines.append(
                    f"    Series {series.key}  {series.modality}  "
                    f'"{series.description}"  {series.image_count} {kind}  {matrix}  {spacing}'
                )
                for warning in series.warnings:
                    lines.append(f"      warning: {warning}")
    for warning in index.warnings:
        lines.append(f"warning: {warning}")
    dicom_skipped = [s for s in index.skipped if s.is_dicom]
    for skipped in dicom_skipped:
        lines.append(f"skipped: {skipped.name}: {skipped.reason}")
    lines.append(
        f"{index.files_read} file(s) read, {len(index.image_series())} image series, "
        f"{index.non_dicom_count} non-DICOM file(s) skipped, {len(dicom_skipped)} unreadable"
    )
    return "\n".join(lines)


def _cmd_index(args: argparse.Namespace) -> int:
    from npc_desktop.core.dicom import NoImagesError, index_path

    index = index_path(args.path)
    if args.json:
        print(json.dumps(index.to_dict(), indent=2))
    else:
        print(_format_index(index))
    if not index.image_series():
        raise NoImagesError(index.root, index.no_images_reason())
    return EXIT_OK


# -- convert ----------------------------------------------------------------------------------


def _cmd_convert(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("SimpleITK") is None:
        raise UsageError("convert needs the full build with SimpleITK; this is the inference-only build")
    import SimpleITK as sitk

    from npc_desktop.core.dicom import index_path, load_series

    output = Path(args.output)
    if not any(output.name.endswith(suffix) for suffix in NIFTI_SUFFIXES):
        raise UsageError(f"-o {output}: the output must end in .nii or .nii.gz")
    if not output.parent.is_dir():
        raise UsageError(f"-o {output}: the folder {output.parent} does not exist")
    index = index_path(args.series_path)
    if args.series:
        series = index.find_series(args.series)
    else:
        images = index.image_series()
        if len(images) > 1:
            keys = ", ".join(f"{s.key} ({s.description or s.modality})" for s in images)
            raise UsageError(
                f"{args.series_path} holds {len(images)} image series; choose one with "
                f"--series: {keys}"
            )
        series = index.default_series()
    volume = load_series(series)
    for warning in volume.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for name, problem in volume.skipped:
        print(f"skipped: {name}: {problem}", file=sys.stderr)
    try:
        sitk.WriteImage(volume.to_sitk(), str(output), useCompression=True)
    except RuntimeError as exc:
        raise UsageError(f"-o {output}: cannot write the file ({str(exc).strip().splitlines()[-1]})")
    slices, rows, columns = volume.shape
    print(
        f"wrote {output}: {columns}x{rows}x{slices} voxels, spacing "
        + "x".join(f"{s:.4g}" for s in volume.spacing)
        + " mm, from series "
        + series.key
    )
    return EXIT_OK


# -- demo -------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from npc_desktop.core.demo.dicom_writer import write_demo_study
    from npc_desktop.core.demo.study import DEMO_SEED

    try:
        study = write_demo_study(Path(args.out_dir), seed=args.seed if args.seed is not None else DEMO_SEED)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    count = sum(len(files) for files in study.series_files.values())
    print(f"wrote the synthetic demo study to {study.root}: {count} files")
    for key, files in study.series_files.items():
        print(f"  {key}: {len(files)} slices in {files[0].parent}")
    return EXIT_OK


# -- GUI --------------------------------------------------------------------------------------


def _cmd_gui(path: Optional[str]) -> int:
    if path is not None and not Path(path).exists():
        raise UsageError(f"{path}: no such file or folder")
    from npc_desktop.gui.platform_check import display_problem

    problem = display_problem()
    if problem is not None:
        raise UsageError(problem)
    from npc_desktop.gui.app import run

    return run(path)


# -- parser -----------------------------------------------------------------------------------

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "index": _cmd_index,
    "convert": _cmd_convert,
    "demo": _cmd_demo,
}

# Modules that add subcommands: each has ``register(commands) -> dict[name, handler]``. They keep
# heavy imports (TensorFlow) inside their handlers so ``npc-desktop index`` stays fast.
SUBCOMMAND_MODULES = (
    "npc_desktop.cli.staging", "npc_desktop.cli.research", "npc_desktop.cli.report", "npc_desktop.cli.tnm",
    "npc_desktop.cli.pacs",
    "npc_desktop.cli.cohort",
)


def _register_plugins(commands: "argparse._SubParsersAction") -> None:
    import importlib

    for name in SUBCOMMAND_MODULES:
        COMMANDS.update(importlib.import_module(name).register(commands))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the subcommands."""
    parser = argparse.ArgumentParser(
        prog="npc-desktop",
        description=(
            "NPC Desktop: MR staging support for nasopharyngeal carcinoma. "
            "Run without a command to open the workstation (on the demo study when no PATH is given)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"npc-desktop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    index = commands.add_parser("index", help="list patients > studies > series of a folder, DICOMDIR or zip")
    index.add_argument("path", help="folder, DICOMDIR, zip archive or DICOM file")
    index.add_argument("--json", action="store_true", help="print JSON instead of a tree")

    convert = commands.add_parser("convert", help="write a series as NIfTI with its geometry")
    convert.add_argument("series_path", help="folder, DICOMDIR, zip or file holding the series")
    convert.add_argument("-o", "--output", required=True, help="output file, .nii or .nii.gz")
    convert.add_argument("--series", help="SeriesInstanceUID (or key from 'index') to convert")

    demo = commands.add_parser("demo", help="write the synthetic demo study")
    demo.add_argument("out_dir", help="folder to write into (created)")
    demo.add_argument("--seed", type=int, default=None, help="generator seed")

    commands.add_parser("open", help="open the workstation on PATH").add_argument("path", nargs="?")
    _register_plugins(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.
    """
    from npc_desktop.core.dicom import DicomIngestError
    from npc_desktop.core.progress import OperationCancelled

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()  # also registers the plugin subcommands in COMMANDS
    is_command = bool(argv) and (argv[0] in COMMANDS or argv[0] in ("open", "-h", "--help", "--version"))
    try:
        if not is_command:
            if len(argv) > 1 or (argv and argv[0].startswith("-")):
                parser.error(f"unrecognised arguments: {' '.join(argv)}")
            return _cmd_gui(argv[0] if argv else None)
        args = parser.parse_args(argv)
        if args.command == "open":
            return _cmd_gui(args.path)
        with warnings.catch_warnings():
            # pydicom warns about every non-conformant value; our own messages say what matters.
            warnings.simplefilter("ignore", UserWarning)
            return COMMANDS[args.command](args)
    except (DicomIngestError, UsageError) as exc:
        _print_error(str(exc))
        return EXIT_BAD_INPUT
    except OperationCancelled:
        _print_error("cancelled")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
