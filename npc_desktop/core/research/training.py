"""Training the members with the paper's recipe and writing a model bundle.

The recipe (paper sections 3.4 and 4.1), per member:

- the keras.applications base (ImageNet weights when Keras' cache has them, else random
  initialisation, recorded in the bundle) frozen, with a new head (global pooling, dense,
  dropout, two-class softmax; :func:`~npc_desktop.core.models.architectures.build_member`);
- loss: categorical cross-entropy on the softmax with one-hot targets. For two classes this is
  exactly the paper's binary cross-entropy (``-log p(true class)`` either way) and it also
  serves data sets with more classes;
- Adam, learning rate 1e-4, updated every epoch by ``keras.callbacks.LearningRateScheduler``
  (``lr * decay ** epoch``); batch size 32;
- augmentation by rotation, shift, shear, zoom and flip (:mod:`.augment`);
- optionally, fine-tuning of the top layers of the base afterwards (BatchNorm stays frozen).

Fast frozen-base training: since the base is frozen, the pooled base features of every training
patch and of ``augmented_copies`` augmented copies are computed once and cached on disk
(:mod:`.features`), and the head trains on the cache. The Basic CNN (the paper's baseline) has
no pretrained base and trains end to end on freshly augmented images each epoch.

Every epoch is checkpointed (:mod:`.checkpoint`) and every finished member saved, so a
cancelled or killed run resumes where it stopped; seeds make the runs repeatable. A
``tf.distribute`` strategy (say ``MirroredStrategy``) is used for building and fitting when
given. TensorFlow is imported inside the functions only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from npc_desktop.core.models.specs import get_spec
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.research.config import TrainingConfig, TrainingError, display_name
from npc_desktop.core.research.ensemble_fit import EnsembleFit, ensemble_methods, fit_ensemble, voting_members
from npc_desktop.core.research.evaluation import Evaluation, evaluate, write_report
from npc_desktop.core.research.features import default_cache_dir
from npc_desktop.core.research.fitting import Tracker
from npc_desktop.core.research.member_training import (
    Log,
    MemberResult,
    _Data,
    _patch_pipeline,
    _prepare_data,
    _train_member,
)
from npc_desktop.core.research.patchset import PatchSet
from npc_desktop.core.research.splits import PatientSplit

__all__ = [
    "TrainingResult",
    "train_bundle",
]


@dataclass
class TrainingResult:
    """What :func:`train_bundle` produced."""

    bundle: Path
    manifest: Any
    members: list[MemberResult]
    evaluation: Optional[Evaluation]
    report_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def train_bundle(
    patch_set: PatchSet,
    split: PatientSplit,
    bundle_dir: Union[str, Path],
    *,
    config: TrainingConfig = TrainingConfig(),
    name: Optional[str] = None,
    work_dir: Optional[Union[str, Path]] = None,
    cache_dir: Optional[Union[str, Path]] = None,
    report_dir: Optional[Union[str, Path]] = None,
    strategy: Any = None,
    overwrite: bool = False,
    progress: Optional[ProgressCallback] = None,
    log: Optional[Log] = None,
    cancel: Optional[CancelToken] = None,
) -> TrainingResult:
    """Train the configured members on a split of a patch set, evaluate them, write a bundle.

    Parameters
    ----------
    patch_set
        The patches (:func:`~.patchset.load_patch_set`).
    split
        Patient-level split: the training patients train, the test patients are evaluated.
    bundle_dir
        The bundle folder to write (:func:`~npc_desktop.core.models.bundle_writer.write_bundle`).
    config
        The recipe's settings.
    name
        Bundle name; the folder name by default.
    work_dir
        Checkpoints and finished members, for resuming; ``<bundle_dir>.work`` beside the bundle
        by default. Removed after the bundle is written.
    cache_dir
        Feature cache; :func:`~.features.default_cache_dir` by default.
    report_dir
        If given, the test-set evaluation report is written there.
    strategy
        A ``tf.distribute.Strategy``; the default strategy when None.
    overwrite
        Replace an existing bundle folder, only if it is empty or an earlier bundle and is not
        (and does not hold) the current or home directory, the data, the cache, the work or the
        report folder (:func:`~npc_desktop.core.models.bundle_writer.check_replaceable`); checked before
        training starts.
    progress
        ``progress(done, total)`` in epochs and feature passes.
    log
        Receives one line per step (epochs with their loss and accuracy, notes).
    cancel
        Checked between batches; a cancelled run resumes from its last epoch.

    Returns
    -------
    TrainingResult

    Raises
    ------
    TrainingError
        For data that cannot train (a class without training patients) or a bundle folder
        that exists (without ``overwrite``) or must not be replaced.
    OperationCancelled
        If cancelled.
    """
    import tensorflow as tf

    from npc_desktop.core.models.bundle_writer import write_bundle

    bundle_dir = Path(bundle_dir)
    work = Path(work_dir) if work_dir is not None else bundle_dir.parent / f".{bundle_dir.absolute().name}.work"
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    protected = [patch_set.root, cache, work, *([Path(report_dir)] if report_dir is not None else [])]
    _check_bundle_dir(bundle_dir, overwrite, protected)
    log = log or (lambda message: None)
    strategy = strategy or tf.distribute.get_strategy()
    notes: list[str] = []
    data = _prepare_data(patch_set, split, config, log, cancel, notes)
    data_hash = hashlib.sha256(json.dumps(
        [[r.file, r.label, r.patient] for r in (*data.train, *data.val)] + [list(data.class_names)]
    ).encode()).hexdigest()
    total = sum(config.basic_cnn_epochs if get_spec(a).application is None
                else config.epochs + 1 + (config.fine_tune_epochs if config.fine_tune_layers else 0)
                for a in config.members)
    tracker = Tracker(total, progress)
    models: dict[str, Any] = {}
    results: list[MemberResult] = []
    order = sorted(config.members, key=lambda a: (get_spec(a).application is not None, config.members.index(a)))
    for index, arch in enumerate(order):
        check_cancelled(cancel)
        model, result = _train_member(
            config.members.index(arch), arch, data, config, work=work, cache_dir=cache, strategy=strategy,
            tracker=tracker, log=log, notes=notes, cancel=cancel, data_hash=data_hash,
        )
        models[arch] = model
        results.append(result)
    try:
        fit = fit_ensemble(
            [r.name for r in results], [r.val_logits for r in results], data.labels["val"],
            [r.patient for r in data.val], data.class_names, vote_weights=config.vote_weights,
            patient_threshold=config.patient_threshold, validation=_validation_record(config, data),
        )
    except ValueError as exc:
        raise TrainingError(f"{patch_set.root}: {exc}") from None
    for line in fit.notes:
        log(line)
    evaluation = _evaluate(results, data, fit) if len(data.test) else None
    by_name = {r.name: (w, t) for r, w, t in zip(results, fit.vote_weights, fit.temperatures)}
    weights = [by_name[a][0] for a in models]
    provenance = {
        "training_data": {**patch_set.description, "class_names": list(data.class_names),
                          "train": patch_set.counts(data.train), "validation": patch_set.counts(data.val),
                          "test": patch_set.counts(data.test)},
        "split": split.to_dict(),
        "metrics": _summary(evaluation) if evaluation else {},
        "training": {
            "config": config.to_dict(),
            "members": {r.name: {"initialisation": r.initialisation, "history": r.history,
                                 "seconds": round(r.seconds, 1), "feature_seconds": round(r.feature_seconds, 1)}
                        for r in results},
            "notes": notes,
            "basic_cnn": "baseline: vote weight 0, not part of the ensemble" if "basic_cnn" in models and len(models) > 1
            else "",
        },
    }
    member_metrics = {r.name: evaluation.patch[display_name(r.name)].to_dict() for r in results} if evaluation else {}
    manifest = write_bundle(
        bundle_dir, models, name=name or bundle_dir.name, description="trained with npc-desktop train",
        provenance=provenance, patch=_patch_pipeline(patch_set), vote_weights=weights,
        temperatures=[by_name[a][1] for a in models], calibration=fit.calibration,
        member_metrics={k: {key: v[key] for key in ("accuracy", "auc", "ece", "brier")}
                        for k, v in member_metrics.items()},
        overwrite=overwrite, protected=protected,
    )
    from npc_desktop.core.models.onnx_bundle import export_models_onnx

    manifest = export_models_onnx(bundle_dir, manifest, models)
    report_files: list[Path] = []
    if evaluation is not None and report_dir is not None:
        report_files = write_report(evaluation, report_dir, title=f"Evaluation of bundle {manifest.name}",
                                    notes=[*_recipe_notes(config, split, data), *fit.notes, *notes],
                                    provenance={"split": split.to_dict(), "training": config.to_dict()})
    _remove_work(work, config.members)
    return TrainingResult(bundle_dir, manifest, results, evaluation, report_files, notes)


def _recipe_notes(config: TrainingConfig, split: PatientSplit, data: _Data) -> list[str]:
    details = ", ".join(f"{k} {v}" for k, v in split.details.items())
    sizes = ", ".join(f"{display_name(a)} {config.size_for(a)[0]}x{config.size_for(a)[1]}" for a in config.members)
    return [
        f"Split by patient ({split.method}: {details}): {len(data.train)} training patches of "
        f"{len({r.patient for r in data.train})} patients; test patients are never seen in training.",
        f"Inputs: {sizes}. Heads: {config.epochs} epochs on cached frozen-base features ({config.augmented_copies} "
        f"augmented copies per patch), Adam {config.learning_rate:g}; Basic CNN: {config.basic_cnn_epochs} epochs end "
        f"to end, Adam {config.basic_cnn_learning_rate:g}; learning rate x{config.lr_decay:g} per epoch; batch "
        f"{config.batch_size}; seed {config.seed}.",
    ]


def _check_bundle_dir(bundle_dir: Path, overwrite: bool, protected: Sequence[Path]) -> None:
    from npc_desktop.core.models.bundle_writer import check_replaceable
    from npc_desktop.core.models.errors import BundleError

    if bundle_dir.exists() or bundle_dir.is_symlink():
        if not overwrite:
            raise TrainingError(f"{bundle_dir}: the bundle folder exists; choose another or allow overwriting")
        try:  # before training, so a refused folder costs no training time
            check_replaceable(bundle_dir, protected=protected)
        except BundleError as exc:
            raise TrainingError(str(exc)) from None
    elif not bundle_dir.absolute().parent.is_dir():
        raise TrainingError(f"{bundle_dir}: its parent folder {bundle_dir.absolute().parent} does not exist")


def _remove_work(work: Path, members: Sequence[str]) -> None:
    """Remove the members' checkpoints; the work folder itself only if nothing else is in it."""
    import shutil

    for arch in members:
        shutil.rmtree(work / arch, ignore_errors=True)
    try:
        work.rmdir()
    except OSError:
        pass  # not empty (someone else's files) or already gone


def _validation_record(config: TrainingConfig, data: _Data) -> dict[str, Any]:
    if not data.val:
        return {}
    if config.validation_patients:
        return {"method": "patients", "patients": sorted({r.patient for r in data.val}), "patches": len(data.val)}
    return {"method": "fraction", "fraction": config.validation_fraction, "seed": config.seed + 1,
            "stratified_by": "class", "patients": sorted({r.patient for r in data.val}), "patches": len(data.val)}


def _evaluate(results: Sequence[MemberResult], data: _Data, fit: EnsembleFit) -> Evaluation:
    """Test-set metrics of the calibrated members and ensemble, as the bundle stages (see bundle_eval)."""
    logits = np.stack([np.asarray(r.test_logits) for r in results])
    methods = ensemble_methods(
        [display_name(r.name) for r in results], logits, fit.temperatures, fit.vote_weights,
        [r.history for r in results], voting_members([r.name for r in results]),
        ensemble_temperature=fit.ensemble_temperature,
    )
    return evaluate(methods, data.labels["test"], [r.patient for r in data.test], data.class_names,
                    files=[r.file for r in data.test], patient_thresholds={"Ensemble": fit.patient_threshold})


def _summary(evaluation: Evaluation) -> dict[str, Any]:
    def brief(metrics: Any) -> dict[str, Any]:
        full = metrics.to_dict()
        return {"accuracy": full["accuracy"], "ece": full["ece"], "brier": full["brier"], "auc": full["auc"],
                "n": full["n"]}

    return {
        "test_patches": len(evaluation.files), "test_patients": len(evaluation.patient_ids),
        "patch_level": {name: brief(m) for name, m in evaluation.patch.items()},
        "patient_level": {name: brief(m) for name, m in evaluation.patient.items()},
    }
