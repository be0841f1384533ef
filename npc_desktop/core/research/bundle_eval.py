"""Evaluate a saved model bundle on a patch set: members, Basic CNN and the ensemble.

The members' probabilities come from the bundle's models on the same 8-bit patches and the same
patch-to-input function as training; the ensemble is the bundle's soft vote (members with vote
weight 0, such as the Basic CNN baseline, are reported but do not vote). Training curves come
from the bundle's provenance when it was written by :func:`.training.train_bundle`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from npc_desktop.core.models.calibration import describe_calibration
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.research.ensemble_fit import REFERENCE_ENSEMBLE, ensemble_methods, voting_members
from npc_desktop.core.research.evaluation import Evaluation, evaluate, write_report
from npc_desktop.core.research.patchset import DatasetError, PatchRecord, PatchSet
from npc_desktop.core.research.predict import compiled_call, grey_inputs, logits_model, predict_grey

__all__ = ["evaluate_bundle"]


def _display(architecture: str) -> str:
    from npc_desktop.core.models.specs import get_spec

    return get_spec(architecture).display_name


def evaluate_bundle(
    bundle_path: Union[str, Path],
    patch_set: PatchSet,
    records: Sequence[PatchRecord],
    report_dir: Union[str, Path],
    *,
    title: Optional[str] = None,
    notes: Sequence[str] = (),
    provenance: Optional[dict[str, Any]] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> tuple[Evaluation, list[Path]]:
    """Run every member of a bundle on ``records`` and write the evaluation report.

    Parameters
    ----------
    bundle_path
        The bundle folder (loaded with hash checks and Keras safe mode).
    patch_set, records
        The patches to evaluate (usually the test patients of a split).
    report_dir
        Where :func:`.evaluation.write_report` writes.
    title, notes, provenance
        Passed to the report.
    progress
        ``progress(done, total)`` in patches x members.
    cancel
        Checked between batches.

    Returns
    -------
    evaluation, files

    Raises
    ------
    DatasetError
        If the bundle's classes differ from the data's or there is nothing to evaluate.
    BundleError
        If the bundle cannot be loaded (from :func:`~npc_desktop.core.models.bundle.load_bundle`).
    """
    from npc_desktop.core.models.bundle import load_bundle

    if not records:
        raise DatasetError("there are no patches to evaluate (the chosen test set is empty)")
    bundle = load_bundle(bundle_path, cancel=cancel)
    manifest = bundle.manifest
    if tuple(manifest.class_names) != tuple(patch_set.class_names):
        raise DatasetError(
            f"{bundle_path}: the bundle's classes {list(manifest.class_names)} differ from the data's "
            f"{list(patch_set.class_names)} (class folder names, sorted)"
        )
    images = patch_set.load_images(records, cancel=cancel)
    total = len(records) * len(manifest.members)
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    histories = (manifest.provenance.get("training") or {}).get("members") or {}
    labels: list[str] = []
    logits: list[np.ndarray] = []
    for entry, model in zip(manifest.members, bundle.models):
        check_cancelled(cancel)
        grey = grey_inputs(images, entry.input_size)
        logits.append(predict_grey(compiled_call(logits_model(model), (*entry.input_size, 3)), grey, cancel=cancel,
                                   on_batch=step))
        label = _display(entry.architecture)
        labels.append(f"{label} ({entry.name})" if label in labels else label)
    methods = ensemble_methods(
        labels, np.stack(logits), manifest.temperatures(), manifest.vote_weights,
        [(histories.get(e.name) or {}).get("history") for e in manifest.members],
        voting_members([e.architecture for e in manifest.members]), manifest.ensemble_temperature,
    )
    evaluation = evaluate(
        methods, patch_set.label_indices(records), [r.patient for r in records], patch_set.class_names,
        files=[r.file for r in records], patient_aggregation=_aggregation(manifest),
        patient_thresholds={"Ensemble": manifest.patient_threshold},
    )
    lines = list(notes) + [f"Bundle {bundle.describe()}; soft voting over members with vote weight > 0.",
                           *describe_calibration(manifest),
                           f"'{REFERENCE_ENSEMBLE}' is the paper's plain soft vote of the same members, "
                           "for comparison."]
    files = write_report(evaluation, report_dir, title=title or f"Evaluation of bundle {manifest.name}",
                         notes=lines, provenance={**(provenance or {}), "bundle_sha256": bundle.sha256})
    return evaluation, files


def _aggregation(manifest: Any) -> str:
    method = getattr(manifest, "patient_aggregation", "mean")
    return method if method in ("mean", "median", "vote") else "mean"
