"""The research loop on real MR patches: train on folds 1-2 (validation patients held out of them), test on fold 3.

Data: ``../shared/data/mr-patches-brain-tumour-proxy`` (1,225 real contrast-enhanced T1 tumour
crops, meningioma vs glioma, 102 pseudonymous patients; a stand-in, no NPC data is public). The
split is the dataset author's own patient-level folds (column ``cheng_cvind5fold`` of
``tumour_boxes.csv``): folds 1-2 train, fold 3 tests, so no patient is on both sides.

Training is the product's (:func:`npc_desktop.core.research.training.train_bundle`): the Basic CNN
end to end, and the five members' heads on cached frozen-base features. A stratified share of the
fold 1-2 patients (``--validation-fraction``, 0.2) never trains a member: on them each member's
temperature is fitted, the vote weights chosen (``--vote-weights``, auto) and, if asked, the patient
threshold. Nothing is tuned on fold 3.

Printed per member and for the ensemble: accuracy, expected calibration error (15 bins) and Brier
score at patch and patient level. The baseline, measured in the same run on the same members, is the
paper's plain ensemble (equal weights, uncalibrated softmax). Targets on fold 3: ensemble patch
accuracy >= the best single member's (of the five that vote), and ensemble patch ECE <= 0.05. ImageNet weights are
used when Keras' cache has them; otherwise the bases keep their random initialisation (printed),
which is what limits the members here. Input sizes and epochs are chosen to finish within 30
minutes on 2 CPU cores and are printed.

The evaluation report (Markdown, CSV, PNG plots) is written to ``--report`` (by default
``benchmarks/results/real_training``). The last line is one JSON object with the figures.

Usage: ``.venv/bin/python benchmarks/bench_real_training.py [--size 96] [--basic-size 128] ...``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "mr-patches-brain-tumour-proxy"
MEMBERS = ("basic_cnn", "vgg16", "inception_v3", "resnet50", "inception_resnet_v2", "densenet121")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--size", type=int, default=96, help="input side of the five members")
    parser.add_argument("--basic-size", type=int, default=96, help="input side of the Basic CNN")
    parser.add_argument("--epochs", type=int, default=40, help="head epochs of the members")
    parser.add_argument("--basic-epochs", type=int, default=30, help="Basic CNN epochs")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's initial rate for the heads")
    parser.add_argument("--basic-learning-rate", type=float, default=1e-3)
    parser.add_argument("--copies", type=int, default=2, help="cached augmented copies per training patch")
    parser.add_argument("--members", default=",".join(MEMBERS))
    parser.add_argument("--report", type=Path, default=REPO / "benchmarks" / "results" / "real_training")
    parser.add_argument("--keep-bundle", type=Path, help="copy the trained bundle here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--vote-weights", choices=("auto", "equal", "validation"), default="auto")
    parser.add_argument("--patient-threshold", choices=("argmax", "validation"), default="argmax")
    args = parser.parse_args()

    from npc_desktop.core.research.patchset import load_patch_set
    from npc_desktop.core.research.training import TrainingConfig, display_name, train_bundle

    started = time.perf_counter()
    load_before = os.getloadavg()
    patch_set = load_patch_set(args.data, [args.data / "manifest.csv", args.data / "tumour_boxes.csv"])
    split = patch_set.split_by_fold_column("cheng_cvind5fold", test_folds=["3"], train_folds=["1", "2"])
    members = tuple(m for m in args.members.split(",") if m)
    sizes = {m: (args.basic_size if m == "basic_cnn" else args.size) for m in members}
    config = TrainingConfig(
        members=members, input_sizes=sizes, epochs=args.epochs, basic_cnn_epochs=args.basic_epochs,
        learning_rate=args.learning_rate, basic_cnn_learning_rate=args.basic_learning_rate,
        augmented_copies=args.copies, seed=args.seed, validation_fraction=args.validation_fraction,
        vote_weights=args.vote_weights, patient_threshold=args.patient_threshold,
    )
    train, test = patch_set.subset(split.train), patch_set.subset(split.test)
    print(f"data: {len(train)} training patches of {len(split.train)} patients (folds 1-2), "
          f"{len(test)} test patches of {len(split.test)} patients (fold 3); classes {patch_set.class_names}")
    print(f"input sizes: {sizes}; head epochs {args.epochs} (Adam {args.learning_rate:g}), Basic CNN epochs "
          f"{args.basic_epochs} (Adam {args.basic_learning_rate:g}); {args.copies} cached augmented copies; "
          f"batch 32; load average before {load_before[0]:.2f} on {os.cpu_count()} CPUs")
    work = Path(tempfile.mkdtemp(prefix="bench-real-"))
    try:
        result = train_bundle(
            patch_set, split, work / "bundle", config=config, cache_dir=work / "cache", report_dir=args.report,
            name="brain-tumour-proxy", log=lambda line: print(line, flush=True) if "epoch" not in line or
            line.split("epoch ")[1].startswith(("1/", f"{args.epochs}/", f"{args.basic_epochs}/")) else None,
        )
        bundle_mb = sum(p.stat().st_size for p in (work / "bundle").iterdir()) / 1e6
        if args.keep_bundle:
            shutil.copytree(work / "bundle", args.keep_bundle, dirs_exist_ok=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wall = time.perf_counter() - started
    evaluation = result.evaluation
    for note in result.notes:
        print(f"note: {note}")
    manifest = result.manifest
    print(f"validation: {len(manifest.calibration['validation'].get('patients', []))} patients "
          f"({manifest.calibration['validation'].get('patches', 0)} patches) held out of folds 1-2")
    for member in manifest.members:
        print(f"  {member.name:<20} temperature {member.temperature:.3f}  vote weight {member.vote_weight:.3f}")
    print(f"vote weights: {manifest.calibration['vote_weights']['method']}: "
          f"{manifest.calibration['vote_weights']['reason']}")
    print(f"patient threshold: {manifest.patient_threshold}")
    print(f"{'method':<24} {'patch acc':>9} {'ECE':>6} {'Brier':>6} {'patient acc':>11} {'ECE':>6} {'Brier':>6} "
          f"{'AUC':>6}  per class precision / sensitivity / F1")
    figures: dict[str, dict] = {}
    for name, patch in evaluation.patch.items():
        patient = evaluation.patient[name]
        per_class = "; ".join(
            f"{c}: {patch.precision[k]:.3f} / {patch.sensitivity[k]:.3f} / {patch.f1[k]:.3f}"
            for k, c in enumerate(patch.class_names)
        )
        print(f"{name:<24} {patch.accuracy:>9.3f} {patch.ece:>6.3f} {patch.brier:>6.3f} {patient.accuracy:>11.3f} "
              f"{patient.ece:>6.3f} {patient.brier:>6.3f} {patch.macro_auc:>6.3f}  {per_class}")
        figures[name] = {
            "patch_accuracy": round(patch.accuracy, 4), "patient_accuracy": round(patient.accuracy, 4),
            "patch_ece": round(patch.ece, 4), "patch_brier": round(patch.brier, 4),
            "patient_ece": round(patient.ece, 4), "patient_brier": round(patient.brier, 4),
            "auc": round(patch.macro_auc, 4),
            "per_class": {c: {"precision": round(float(patch.precision[k]), 4),
                              "sensitivity": round(float(patch.sensitivity[k]), 4),
                              "f1": round(float(patch.f1[k]), 4)} for k, c in enumerate(patch.class_names)},
        }
    for member in result.members:
        print(f"{display_name(member.name)}: {member.initialisation} initialisation, {member.seconds:.0f} s "
              f"(features {member.feature_seconds:.0f} s)")
    voting = [display_name(m.architecture) for m in manifest.members
              if m.architecture != "basic_cnn" or len(manifest.members) == 1]
    best = max(voting, key=lambda name: figures[name]["patch_accuracy"])
    ensemble = figures.get("Ensemble", {})
    accuracy_met = ensemble.get("patch_accuracy", 0.0) >= figures[best]["patch_accuracy"]
    ece_met = ensemble.get("patch_ece", 1.0) <= 0.05
    reference = figures.get("Ensemble (equal, T = 1)", {})
    print(f"ensemble patch accuracy {ensemble.get('patch_accuracy')} vs best member {best} "
          f"{figures[best]['patch_accuracy']}: {'met' if accuracy_met else 'NOT met'}; ensemble patch ECE "
          f"{ensemble.get('patch_ece')} (target <= 0.05): {'met' if ece_met else 'NOT met'}; baseline (equal, T = 1): "
          f"accuracy {reference.get('patch_accuracy')}, ECE {reference.get('patch_ece')}, "
          f"Brier {reference.get('patch_brier')}")
    load_after = os.getloadavg()
    print(f"wall time {wall:.0f} s; bundle {bundle_mb:.0f} MB; report {args.report / 'report.md'}; "
          f"load average after {load_after[0]:.2f}")
    print(json.dumps({
        "train_patches": len(train), "test_patches": len(test), "train_patients": len(split.train),
        "test_patients": len(split.test), "input_sizes": sizes, "head_epochs": args.epochs,
        "basic_cnn_epochs": args.basic_epochs, "augmented_copies": args.copies,
        "initialisation": {m.name: m.initialisation for m in result.members},
        "validation_patients": len(manifest.calibration["validation"].get("patients", [])),
        "temperatures": {m.name: round(m.temperature, 4) for m in manifest.members},
        "vote_weights": {m.name: round(m.vote_weight, 4) for m in manifest.members},
        "vote_weight_method": manifest.calibration["vote_weights"]["method"],
        "patient_threshold": manifest.patient_threshold,
        "methods": figures, "best_member": best,
        "ensemble_patch_accuracy": ensemble.get("patch_accuracy"), "ensemble_patch_ece": ensemble.get("patch_ece"),
        "target_ensemble_ge_best_member": accuracy_met, "target_ece_le_0_05": ece_met,
        "baseline_equal_uncalibrated": reference,
        "wall_time_s": round(wall, 1), "bundle_mb": round(bundle_mb, 1),
        "load_average_before": round(load_before[0], 2), "load_average_after": round(load_after[0], 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
