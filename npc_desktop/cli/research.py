"""Subcommands for research (export, train, evaluate); registered by :mod:`npc_desktop.cli.main`.

``npc-desktop export STUDY... -o OUT``
    De-identified patch dataset from annotated studies (annotations from the app's store).
``npc-desktop train DATASET -o BUNDLE_DIR``
    Train members on an export or on any folder of class subfolders of PNG patches plus a
    manifest naming each file's patient; writes a model bundle (and a report with ``--report``).
``npc-desktop evaluate BUNDLE DATASET -o REPORT_DIR``
    Patch- and patient-level metrics of every member, the Basic CNN and the ensemble.

TensorFlow is imported inside the handlers only, so ``npc-desktop index`` stays fast. Bad input
raises :class:`npc_desktop.cli.main.UsageError` with the file or setting named (exit status 2).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional

from npc_desktop.cli.bundle_onnx import require_full_build

ALL_MEMBERS = ("vgg16", "inception_v3", "resnet50", "inception_resnet_v2", "densenet121", "basic_cnn")


def _usage(message: str) -> Exception:
    from npc_desktop.cli.main import UsageError

    return UsageError(message)


# -- option types: a bad value is one line naming the option (argparse adds "argument --x:") -------


def _number(text: str, kind: type, what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def _ranged(kind: type, what: str, test: Callable[[Any], bool]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        value = _number(text, kind, what)
        if not test(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    convert.__name__ = what  # argparse names the type in some messages
    return convert


non_negative_int = _ranged(int, "a whole number >= 0", lambda v: v >= 0)
positive_int = _ranged(int, "a whole number >= 1", lambda v: v >= 1)
non_negative_float = _ranged(float, "a number >= 0", lambda v: v >= 0)
positive_float = _ranged(float, "a number > 0", lambda v: v > 0)
open_fraction = _ranged(float, "a fraction strictly between 0 and 1", lambda v: 0 < v < 1)
train_share = _ranged(float, "a fraction in (0, 1]", lambda v: 0 < v <= 1)
held_out_share = _ranged(float, "a fraction in [0, 1)", lambda v: 0 <= v < 1)


def _one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make the subcommand's parse errors one line (UsageError, exit status 2) instead of usage text."""
    def error(message: str) -> NoReturn:
        raise _usage(f"{parser.prog.split()[-1]}: {message} (see {parser.prog} --help)")

    parser.error = error  # type: ignore[method-assign]
    return parser


def _core_errors() -> tuple[type[BaseException], ...]:
    from npc_desktop.core.annotation.patches import PatchError
    from npc_desktop.core.models.errors import ModelError
    from npc_desktop.core.models.inputs import InputError
    from npc_desktop.core.research.export_sources import ExportError
    from npc_desktop.core.research.patchset import DatasetError
    from npc_desktop.core.research.pngio import PngError
    from npc_desktop.core.research.splits import SplitError
    from npc_desktop.core.research.training import TrainingError

    return (ExportError, DatasetError, SplitError, TrainingError, PngError, ModelError, InputError, PatchError)


def _run(action: Callable[[], int]) -> int:
    try:
        return action()
    except _core_errors() as exc:
        raise _usage(str(exc)) from None


def _progress(label: str) -> Callable[[int, int], None]:
    last = [-1]

    def show(done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 0
        if percent != last[0] and (percent % 10 == 0 or done == total):
            last[0] = percent
            print(f"{label}: {done}/{total}", file=sys.stderr)

    return show


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# -- export -----------------------------------------------------------------------------------


def _cmd_export(args: argparse.Namespace) -> int:
    from npc_desktop.core.annotation.patches import ContextMargin
    from npc_desktop.core.annotation.store import AnnotationStore
    from npc_desktop.core.research.export import export_dataset
    from npc_desktop.core.research.export_sources import ExportOptions, sources_from_paths

    for study in args.studies:
        if not Path(study).exists():
            raise _usage(f"{study}: no such file or folder")
    if args.annotations_dir and not Path(args.annotations_dir).is_dir():
        raise _usage(f"--annotations-dir {args.annotations_dir}: no such folder")

    def run() -> int:
        try:
            margin = ContextMargin(fraction=args.margin, mm=args.margin_mm)
        except ValueError as exc:
            raise _usage(f"--margin: {exc}") from None
        store = AnnotationStore(args.annotations_dir)
        sources, notes = sources_from_paths(args.studies, store)
        options = ExportOptions(
            margin=margin, train_fraction=args.split, seed=args.seed,
            mapping_file=Path(args.write_mapping) if args.write_mapping else None,
        )
        result = export_dataset(sources, args.output, options=options, progress=_progress("export"))
        for note in notes + result.notes:
            print(f"warning: {note}", file=sys.stderr)
        print(f"wrote {result.patches} patches of {result.patients} patients to {result.root}")
        for side, by_stage in result.counts.items():
            text = ", ".join(f"{stage}: {c['patches']} patches / {c['patients']} patients" for stage, c in by_stage.items())
            print(f"  {side}: {text}")
        print(f"  split by patient, {args.split:g} train, seed {args.seed}; random pseudonyms; "
              f"manifest {result.manifest}")
        if result.mapping_file:
            print(f"  pseudonym mapping (holds patient identity, keep it private): {result.mapping_file}")
        return 0

    return _run(run)


# -- shared dataset options ---------------------------------------------------------------------


def _add_dataset_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--manifest", action="append", default=[], metavar="CSV",
                        help="CSV with 'file' and patient columns (repeat to join more columns, e.g. folds)")
    parser.add_argument("--patient-column", default="patient", help="manifest column naming the patient")
    parser.add_argument("--fold-column", help="manifest column with one fold per patient")
    parser.add_argument("--test-folds", help="comma-separated fold values that form the test set")
    parser.add_argument("--train-folds", help="comma-separated fold values that train (default: all others)")
    parser.add_argument("--split", type=open_fraction, default=None,
                        help="training share of each class's patients when there is no exported split (0.8)")
    parser.add_argument("--seed", type=non_negative_int, default=None,
                        help="seed of the split, initialisation and augmentation (0)")


def _folds(text: Optional[str]) -> Optional[list[str]]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _dataset_and_split(args: argparse.Namespace) -> tuple[Any, Any]:
    from npc_desktop.core.research.patchset import load_patch_set

    for manifest in args.manifest:
        if not Path(manifest).is_file():
            raise _usage(f"--manifest {manifest}: no such file")
    patch_set = load_patch_set(args.dataset, args.manifest, patient_column=args.patient_column)
    for warning in patch_set.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.fold_column:
        if not args.test_folds:
            raise _usage("--fold-column needs --test-folds")
        split = patch_set.split_by_fold_column(
            args.fold_column, test_folds=_folds(args.test_folds), train_folds=_folds(args.train_folds)
        )
    elif args.test_folds or args.train_folds:
        raise _usage("--test-folds and --train-folds need --fold-column")
    elif patch_set.split is not None:
        split = patch_set.split
    else:
        fraction = 0.8 if args.split is None else args.split
        split = patch_set.split_by_fraction(train_fraction=fraction, seed=args.seed or 0)
    return patch_set, split


def _validation_patients(args: argparse.Namespace, patch_set: Any, split: Any) -> tuple[str, ...]:
    """The training patients in ``--validation-folds`` (empty without the option)."""
    if not args.validation_folds:
        return ()
    if not args.fold_column:
        raise _usage("--validation-folds needs --fold-column")
    wanted = set(_folds(args.validation_folds) or [])
    overlap = sorted(wanted & set(_folds(args.test_folds) or []))
    if overlap:
        raise _usage(f"--validation-folds: fold {overlap[0]!r} is also a test fold")
    folds = {r.patient: r.fields.get(args.fold_column) for r in patch_set.records}
    chosen = tuple(sorted(p for p in split.train if folds.get(p) in wanted))
    if not chosen:
        raise _usage(f"--validation-folds: no training patient is in fold(s) {', '.join(sorted(wanted))} "
                     f"of column {args.fold_column!r}")
    return chosen


def _split_of_bundle(args: argparse.Namespace) -> None:
    """Default the split options to the ones the bundle was trained with (from its provenance)."""
    from npc_desktop.core.models.manifest import read_manifest

    if args.fold_column or args.test_folds or args.split is not None or args.seed is not None:
        return
    split = read_manifest(Path(args.bundle)).provenance.get("split") or {}
    if split.get("method") == "folds" and split.get("fold_column") and split.get("test_folds"):
        args.fold_column = split["fold_column"]
        args.test_folds = ",".join(split["test_folds"])
        args.train_folds = ",".join(split.get("train_folds") or [])
    elif split.get("method") == "fraction":
        args.split = split.get("train_fraction")
        args.seed = split.get("seed")


# -- train ------------------------------------------------------------------------------------


def _input_sizes(values: list[str], members: tuple[str, ...]) -> dict[str, int]:
    from npc_desktop.core.models.errors import ArchitectureError
    from npc_desktop.core.models.specs import normalise_input_size

    sizes: dict[str, int] = {}
    for value in values:
        arch, _, side = value.rpartition("=")
        try:
            number = int(side)
        except ValueError:
            raise _usage(f"--input-size {value}: expected N or ARCH=N with N a whole number") from None
        if arch and arch not in members:
            raise _usage(f"--input-size {value}: {arch} is not among the members ({', '.join(members)})")
        for target in ([arch] if arch else members):
            try:
                normalise_input_size(target, number)
            except (ArchitectureError, ValueError) as exc:
                raise _usage(f"--input-size {value}: {exc}") from None
            sizes[target] = number
    return sizes


def _check_output_folder(args: argparse.Namespace) -> None:
    """Refuse an unusable bundle folder before the data are read and TensorFlow starts."""
    from npc_desktop.core.models.bundle_writer import check_replaceable
    from npc_desktop.core.models.errors import BundleError

    output = Path(args.output)
    if not (output.exists() or output.is_symlink()):
        return
    if not args.overwrite:
        raise _usage(f"{output}: the bundle folder exists; choose another or give --overwrite")
    protected = [Path(args.dataset), *map(Path, args.manifest)]
    protected += [Path(folder) for folder in (args.cache_dir, args.report) if folder]
    try:
        check_replaceable(output, protected=protected)
    except BundleError as exc:
        raise _usage(str(exc)) from None


def _cmd_train(args: argparse.Namespace) -> int:
    require_full_build("train")
    _quiet_tensorflow()
    members = tuple(ALL_MEMBERS if args.members == "all" else [m.strip() for m in args.members.split(",") if m.strip()])
    unknown = [m for m in members if m not in ALL_MEMBERS]
    if unknown:
        raise _usage(f"--members: unknown architecture {unknown[0]!r}; choose from {', '.join(ALL_MEMBERS)}")
    if not Path(args.dataset).is_dir():
        raise _usage(f"{args.dataset}: no such folder")
    input_sizes = _input_sizes(args.input_size, members)
    _check_output_folder(args)
    if bool(args.fine_tune_epochs) != bool(args.fine_tune_layers):
        raise _usage("--fine-tune-epochs and --fine-tune-layers: fine-tuning needs both above 0")

    def run() -> int:
        from npc_desktop.core.research.augment import Augmentation
        from npc_desktop.core.research.training import TrainingConfig, train_bundle

        patch_set, split = _dataset_and_split(args)
        validation_patients = _validation_patients(args, patch_set, split)
        config = TrainingConfig(
            members=members, input_sizes=input_sizes, epochs=args.epochs,
            basic_cnn_epochs=args.basic_cnn_epochs or args.epochs, fine_tune_epochs=args.fine_tune_epochs,
            fine_tune_layers=args.fine_tune_layers, batch_size=args.batch_size, learning_rate=args.learning_rate,
            basic_cnn_learning_rate=args.basic_cnn_learning_rate or args.learning_rate,
            augmented_copies=args.augmented_copies, seed=args.seed or 0, weights=args.weights,
            validation_fraction=args.validation_fraction, balance_classes=args.balance_classes,
            vote_weights=args.vote_weights, patient_threshold=args.patient_threshold, augmentation=Augmentation(),
            validation_patients=validation_patients,
        )
        strategy = None
        if args.distribute == "mirrored":
            import tensorflow as tf

            strategy = tf.distribute.MirroredStrategy()
        print(f"training {', '.join(members)} on {len(patch_set.subset(split.train))} patches of "
              f"{len(split.train)} patients; testing on {len(patch_set.subset(split.test))} patches of "
              f"{len(split.test)} patients; classes {', '.join(patch_set.class_names)}", file=sys.stderr)
        result = train_bundle(
            patch_set, split, args.output, config=config, name=args.name, cache_dir=args.cache_dir,
            report_dir=args.report, strategy=strategy, overwrite=args.overwrite,
            progress=_progress("train"), log=lambda line: print(line, file=sys.stderr),
        )
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"wrote bundle {result.bundle} ({', '.join(m.name for m in result.members)})")
        if result.evaluation is not None:
            for name, metrics in result.evaluation.patch.items():
                patient = result.evaluation.patient[name]
                print(f"  {name}: test accuracy {metrics.accuracy:.3f} (patients {patient.accuracy:.3f}), "
                      f"ECE {metrics.ece:.3f}, Brier {metrics.brier:.3f}, AUC {metrics.macro_auc:.3f}")
            votes = result.manifest.calibration["vote_weights"]
            print(f"  vote weights: {votes['method']} ({votes['reason']})")
        if result.report_files:
            print(f"  report: {result.report_files[0]}")
        return 0

    return _run(run)


# -- evaluate ---------------------------------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:
    _quiet_tensorflow()
    if not Path(args.bundle).is_dir():
        raise _usage(f"{args.bundle}: no such bundle folder")
    if not Path(args.dataset).is_dir():
        raise _usage(f"{args.dataset}: no such folder")

    def run() -> int:
        from npc_desktop.core.research.bundle_eval import evaluate_bundle

        if not args.all:
            _split_of_bundle(args)
        patch_set, split = _dataset_and_split(args)
        records = patch_set.records if args.all else patch_set.subset(split.test)
        which = "all patches" if args.all else f"the test patients ({split.method} split)"
        evaluation, files = evaluate_bundle(
            args.bundle, patch_set, records, args.output, notes=[f"Evaluated on {which}."],
            provenance={"split": split.to_dict(), "all": bool(args.all)}, progress=_progress("evaluate"),
        )
        for name, metrics in evaluation.patch.items():
            print(f"{name}: accuracy {metrics.accuracy:.3f} (patients {evaluation.patient[name].accuracy:.3f}), "
                  f"ECE {metrics.ece:.3f}, Brier {metrics.brier:.3f}, AUC {metrics.macro_auc:.3f}")
        print(f"wrote {files[0]} and {len(files) - 1} more files to {args.output}")
        return 0

    return _run(run)


# -- registration -----------------------------------------------------------------------------


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's subcommands to ``commands``; return their handlers by name."""
    export = _one_line_errors(commands.add_parser(
        "export", help="export annotated studies as a de-identified patch dataset"))
    export.add_argument("studies", nargs="+", metavar="STUDY", help="folder, zip or DICOMDIR of an annotated study")
    export.add_argument("-o", "--output", required=True, help="new or empty dataset folder")
    export.add_argument("--annotations-dir", help="annotation store folder (default: the app's)")
    export.add_argument("--margin", type=non_negative_float, default=0.2, help="context margin, fraction of the ROI size (0.2)")
    export.add_argument("--margin-mm", type=non_negative_float, default=0.0, help="additional context margin in mm (0)")
    export.add_argument("--split", type=train_share, default=0.8, help="training share of each stage's patients (0.8)")
    export.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the split (0); the pseudonyms are random")
    export.add_argument("--write-mapping", metavar="FILE",
                        help="also write the pseudonym -> patient mapping (PHI) to FILE, outside the dataset")

    train = _one_line_errors(commands.add_parser(
        "train", help="train members on a patch dataset and write a model bundle"))
    train.add_argument("dataset", help="an export, or a folder of class subfolders of PNG patches")
    train.add_argument("-o", "--output", required=True, help="bundle folder to write")
    train.add_argument("--members", default="all", help=f"comma-separated, from {', '.join(ALL_MEMBERS)} (all)")
    train.add_argument("--input-size", action="append", default=[], metavar="[ARCH=]N",
                       help="square input side for all members or one (repeatable); native sizes by default")
    train.add_argument("--epochs", type=positive_int, default=10, help="head epochs per member (10)")
    train.add_argument("--basic-cnn-epochs", type=non_negative_int, default=0, help="Basic CNN epochs (default: --epochs)")
    train.add_argument("--fine-tune-epochs", type=non_negative_int, default=0, help="fine-tuning epochs after the head (0)")
    train.add_argument("--fine-tune-layers", type=non_negative_int, default=0, help="top base layers to fine-tune (0)")
    train.add_argument("--batch-size", type=positive_int, default=32, help="(32)")
    train.add_argument("--learning-rate", type=positive_float, default=1e-4, help="Adam's initial rate (1e-4)")
    train.add_argument("--basic-cnn-learning-rate", type=non_negative_float, default=0.0, help="default: --learning-rate")
    train.add_argument("--augmented-copies", type=non_negative_int, default=4, help="cached augmented copies per patch (4)")
    train.add_argument("--weights", choices=("auto", "imagenet", "none"), default="auto",
                       help="ImageNet initialisation: auto uses Keras' cache when it has the file (auto)")
    train.add_argument("--validation-fraction", type=held_out_share, default=0.2,
                       help="share of training patients (by patient, stratified by class) held out as validation "
                       "patients: they never train a member; they calibrate the members and choose the vote (0.2)")
    train.add_argument("--validation-folds", metavar="FOLDS",
                       help="comma-separated fold values (of --fold-column) whose training patients are the "
                       "validation patients, instead of --validation-fraction")
    train.add_argument("--vote-weights", choices=("auto", "equal", "validation"), default="auto",
                       help="equal: the paper's plain soft vote; validation: weights fitted on validation log-loss; "
                       "auto: whichever has the lower cross-validated validation log-loss (auto)")
    train.add_argument("--patient-threshold", choices=("argmax", "validation"), default="argmax",
                       help="patient-level decision: argmax, or (two classes) a threshold tuned on validation "
                       "patients (argmax)")
    train.add_argument("--balance-classes", action="store_true", help="weight the loss by inverse class frequency")
    train.add_argument("--report", metavar="DIR", help="also write the test-set evaluation report to DIR")
    train.add_argument("--cache-dir", help="feature cache folder (default: the user cache)")
    train.add_argument("--name", help="bundle name (default: the folder name)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace an existing bundle folder (only an empty one or an earlier bundle)")
    train.add_argument("--distribute", choices=("none", "mirrored"), default="none",
                       help="tf.distribute strategy: mirrored uses every GPU")
    _add_dataset_options(train)

    evaluate = _one_line_errors(commands.add_parser("evaluate", help="evaluate a model bundle on a patch dataset"))
    evaluate.add_argument("bundle", help="model bundle folder")
    evaluate.add_argument("dataset", help="an export, or a folder of class subfolders of PNG patches")
    evaluate.add_argument("-o", "--output", required=True, help="report folder")
    evaluate.add_argument("--all", action="store_true", help="evaluate every patch, not only the test patients")
    evaluate.epilog = "Without split options, the test patients are those of the split the bundle was trained with."
    _add_dataset_options(evaluate)
    return {"export": _cmd_export, "train": _cmd_train, "evaluate": _cmd_evaluate}
