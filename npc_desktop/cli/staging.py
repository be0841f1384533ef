"""Subcommands for staging (stage, bundle); registered by :mod:`npc_desktop.cli.main`.

``npc-desktop stage STUDY_PATH [--annotations FILE] [--bundle DIR | --demo-bundle] [--json]``
    Stage the ROIs of a study with a model bundle and print per-patch and patient results, then
    the study's TNM stage beside the ensemble's class and whether they agree (``--json``: a
    ``tnm`` object, see :func:`npc_desktop.cli.tnm_compare.tnm_beside_ensemble`).
    Without ``--annotations``, the ROIs the workstation autosaved for that study are used.
``npc-desktop bundle verify DIR`` / ``npc-desktop bundle info DIR``
    Check a bundle (manifest, SHA-256 of every file, each model in Keras safe mode) / describe it.
``npc-desktop bundle export-onnx DIR``
    Add the members' ONNX graphs (see :mod:`npc_desktop.cli.bundle_onnx`); ``stage --runtime onnx|tf``.

TensorFlow is imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from npc_desktop.cli.bundle_onnx import add_runtime_option, cmd_export_onnx
from npc_desktop.cli.engine_args import engine_from_args


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's subcommands to ``commands``; return their handlers by name."""
    stage = commands.add_parser("stage", help="stage a study's ROIs with the five-model ensemble")
    stage.add_argument("study_path", help="folder, DICOMDIR, zip or file holding the study")
    stage.add_argument("--annotations", help="annotation JSON file (default: the app's autosave for the study)")
    source = stage.add_mutually_exclusive_group()
    source.add_argument("--bundle", help="model bundle folder (see models/README.md)")
    source.add_argument(
        "--demo-bundle", action="store_true",
        help="the untrained demo members (random weights: UNTRAINED DEMO - not a prediction)",
    )
    stage.add_argument("--json", action="store_true", help="print JSON instead of text")
    stage.add_argument("--batch-size", type=int, default=8, help="patches per model call (default 8)")
    stage.add_argument("--demo-input-size", type=int, default=None, help=argparse.SUPPRESS)
    add_runtime_option(stage)

    bundle = commands.add_parser("bundle", help="check or describe a model bundle")
    actions = bundle.add_subparsers(dest="bundle_action", metavar="ACTION", required=True)
    actions.add_parser("verify", help="verify hashes and load every member in safe mode").add_argument("dir")
    actions.add_parser("info", help="print the manifest's summary").add_argument("dir")
    actions.add_parser("export-onnx", help="add each member's ONNX graph (checked against Keras)").add_argument("dir")
    return {"stage": _cmd_stage, "bundle": _cmd_bundle}


# -- stage ------------------------------------------------------------------------------------


def _read_annotations(args: argparse.Namespace, study_uids: list[str], *, missing: str = "") -> Any:
    """The study's annotations from ``--annotations`` or the workstation's autosave.

    ``missing`` is the message when nothing is saved for the study (default: no saved ROIs).
    """
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.store import AnnotationStore
    from npc_desktop.core.annotation.store_results import CorruptAnnotationFile, UnreadableAnnotationFile
    from npc_desktop.core.annotation.validation import AnnotationError

    if args.annotations:
        path = Path(args.annotations)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            annotations = AnnotationSet.from_dict(data)
        except FileNotFoundError:
            raise UsageError(f"--annotations {path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"--annotations {path}: not an annotation JSON file ({exc.__class__.__name__})") from None
        except AnnotationError as exc:
            raise UsageError(f"--annotations {path}: {exc}") from None
        if annotations.study_instance_uid not in study_uids:
            raise UsageError(f"--annotations {path}: its study is not in {args.study_path}")
        return annotations
    store = AnnotationStore()
    for uid in study_uids:
        if store.exists(uid):
            try:
                loaded = store.load(uid)
            except (CorruptAnnotationFile, UnreadableAnnotationFile) as exc:
                raise UsageError(str(exc)) from None
            if loaded.message:
                # Loading may have moved a corrupt file aside and restored the backup: say so.
                print("npc-desktop: warning: " + " ".join(loaded.message.splitlines()), file=sys.stderr)
            return loaded.annotations
    raise UsageError(missing or (
        f"{args.study_path}: no saved ROIs for this study; draw them in the workstation or pass --annotations FILE"
    ))


def _load_volumes(index: Any, annotations: Any, study_path: str, series_uids: Any = None) -> dict[str, Any]:
    """Load ``series_uids`` (default: the series of the study's ROIs) from the index."""
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.dicom import SeriesNotFoundError, load_series

    volumes = {}
    for uid in annotations.series_uids() if series_uids is None else series_uids:
        try:
            series = index.find_series(uid)
        except SeriesNotFoundError:
            raise UsageError(f"{study_path}: series {uid} of the annotations is not in this study") from None
        volumes[uid] = load_series(series)
    return volumes


def _cmd_stage(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.dicom import index_path
    from npc_desktop.core.models.errors import ModelError
    from npc_desktop.core.staging.engine import StagingInputError

    if not Path(args.study_path).exists():
        raise UsageError(f"{args.study_path}: no such file or folder")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be at least 1")
    if not args.bundle and not args.demo_bundle:
        raise UsageError("choose a model bundle with --bundle DIR (see models/README.md) or --demo-bundle")
    index = index_path(args.study_path)
    annotations = _read_annotations(args, [s.study_instance_uid for p in index.patients for s in p.studies])
    volumes = _load_volumes(index, annotations, args.study_path)
    try:
        engine = engine_from_args(args, batch_size=args.batch_size)
        result = engine.stage_annotations(annotations, volumes)
    except (ModelError, StagingInputError) as exc:
        raise UsageError(str(exc)) from None
    from npc_desktop.cli.tnm_compare import tnm_beside_ensemble

    beside = tnm_beside_ensemble(annotations, volumes, result, index)
    if args.json:
        print(json.dumps({**result.to_dict(), "tnm": beside.to_dict()}, indent=2))
    else:
        print("\n".join([*result.summary_lines(), *beside.lines()]))
    return 0


# -- bundle -----------------------------------------------------------------------------------


def _info_lines(manifest: Any, path: str) -> list[str]:
    from npc_desktop.core.models.manifest import UNTRAINED_LABEL

    lines = [f"bundle {manifest.name} {manifest.version} in {path}"]
    if manifest.untrained_demo:
        lines.append(f"*** {UNTRAINED_LABEL} ***")
    if manifest.description:
        lines.append(f"  {manifest.description}")
    lines.append(f"  created {manifest.created or '-'}; classes {', '.join(manifest.class_names)}; "
                 f"voting {manifest.voting.get('method')}, patient {manifest.patient_aggregation}")
    for m in manifest.members:
        lines.append(
            f"  member {m.name}: {m.architecture} {m.input_size[0]}x{m.input_size[1]}, preprocess {m.preprocess}, "
            f"CAM {m.cam_layer}, weight {m.vote_weight:g}, {m.weights_file} {m.size_bytes} bytes sha256 {m.sha256[:16]}"
            + (f"; ONNX {m.onnx['file']} sha256 {m.onnx['sha256'][:16]}" if m.onnx else "; no ONNX graph")
        )
    from npc_desktop.core.models.calibration import describe_calibration

    lines += [f"  {line}" for line in describe_calibration(manifest)]
    prov = manifest.provenance
    lines.append(f"  provenance: date {prov.get('date', '-')}; software "
                 + ", ".join(f"{k} {v}" for k, v in sorted((prov.get("software") or {}).items())))
    for key in ("training_data", "split", "metrics"):
        if prov.get(key):
            lines.append(f"  {key}: {json.dumps(prov[key], sort_keys=True)[:300]}")
    return lines


def _cmd_bundle(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.models.errors import ModelError
    from npc_desktop.core.models.manifest import read_manifest

    if args.bundle_action == "export-onnx":
        return cmd_export_onnx(args)
    try:
        if args.bundle_action == "info":
            manifest = read_manifest(Path(args.dir))
            print("\n".join(_info_lines(manifest, args.dir)))
            return 0
        from npc_desktop.core.models.bundle import verify_bundle
        from npc_desktop.core.models.runtime import configure_tensorflow

        configure_tensorflow()
        manifest = verify_bundle(Path(args.dir), deep=True)
        if any(m.onnx for m in manifest.members):
            from npc_desktop.core.models.onnx_bundle import verify_onnx_files

            verify_onnx_files(Path(args.dir), manifest)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    print(f"{args.dir}: OK - {len(manifest.members)} member(s), every SHA-256 matches, "
          "every model loads in safe mode and matches the manifest")
    return 0
