"""Where a study's annotation work stands, read from its file in the annotation store.

The file is only read here, never moved or repaired: a file that cannot be read becomes a problem
on the row, and the workstation's own loading (which recovers from the backup) handles it when
the study is opened.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import Stage
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.cohort.rows import WorklistRow
from npc_desktop.core.staging.record import StagingRecord, StagingRecordError, roi_revision
from npc_desktop.core.tnm.discordance import compare_with_ensemble

__all__ = ["read_annotations", "fill_annotation_status"]


def read_annotations(store: AnnotationStore, study_uid: str) -> tuple[Optional[AnnotationSet], Optional[Path], str]:
    """The study's annotations (or the backup's), the file read, and a problem ('' when none)."""
    for path in (store.path_for(study_uid), store.backup_path_for(study_uid)):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            return None, path, f"annotation file {path} cannot be read ({exc.strerror or exc})"
        try:
            return AnnotationSet.from_dict(json.loads(raw.decode("utf-8"))), path, ""
        except Exception as exc:  # any invalid content: say so, keep the file as it is
            return None, path, f"annotation file {path} is not valid ({exc.__class__.__name__}: {exc})"
    return None, None, ""


def _tnm_stage(annotations: AnnotationSet, row: WorklistRow) -> Optional[str]:
    if annotations.tnm_form is None:
        return None
    from npc_desktop.core.tnm.study import assess_study

    try:
        return assess_study(annotations, {}).stage
    except Exception as exc:  # an invalid saved form: the row says so, the list still builds
        row.problems.append(f"saved TNM form cannot be staged ({exc})")
        return None


def _staging(annotations: AnnotationSet, row: WorklistRow) -> None:
    if annotations.last_staging is None:
        return
    try:
        record = StagingRecord.from_dict(annotations.last_staging)
    except StagingRecordError as exc:
        row.problems.append(f"stored staging result cannot be read ({exc})")
        return
    result = record.result
    row.staged = True
    row.bundle_name = f"{result.bundle_name} {result.bundle_version}".strip()
    row.bundle_hash = result.bundle_hash
    row.ensemble_class = result.patient.predicted if result.patient is not None else None
    row.stale = record.roi_revision != roi_revision(annotations.rois)
    texts = []
    if row.ensemble_class is not None and row.label is not None and row.ensemble_class != row.label:
        texts.append(f"ensemble {row.ensemble_class}, label {row.label}")
    if row.ensemble_class is not None and row.tnm_stage is not None and row.ensemble_class in result.class_names:
        comparison = compare_with_ensemble(row.tnm_stage, row.ensemble_class, class_names=result.class_names)
        if comparison.discordant:
            texts.append(f"ensemble {row.ensemble_class}, TNM {row.tnm_stage}")
    row.discordant = bool(texts)
    row.discordance = "; ".join(texts)


def fill_annotation_status(row: WorklistRow, store: AnnotationStore) -> None:
    """Fill the ROI counts, label, TNM stage, staging and last edit of ``row`` from the store."""
    annotations, path, problem = read_annotations(store, row.study_uid)
    row.annotation_file = path
    if problem:
        row.problems.append(problem)
    if annotations is None:
        return
    rois = annotations.rois
    row.tumours = sum(r.kind is RoiKind.TUMOUR for r in rois)
    row.nodes = sum(r.kind is RoiKind.LYMPH_NODE for r in rois)
    row.measurements = len(annotations.measurements)
    label = annotations.label
    row.label = None if label.stage is Stage.UNKNOWN else label.stage.value
    row.tnm_stage = _tnm_stage(annotations, row)
    _staging(annotations, row)
    authors = [r.author for r in rois if r.author]
    row.reviewer = label.reviewer or (authors[-1] if authors else "")
    for roi in sorted(rois, key=lambda r: r.kind is not RoiKind.TUMOUR):
        row.roi_slices.setdefault(roi.series_instance_uid, roi.sop_instance_uid)
        row.focus_roi = row.focus_roi or roi.id
    if path is not None:
        try:
            row.last_edit = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
        except OSError:
            row.last_edit = None
