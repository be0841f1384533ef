"""Annotation export and import jobs for the thread pool (they call the core; no Qt).

Formats: DICOM SR TID 1500 (:mod:`npc_desktop.core.interop.sr`), CSV and COCO JSON
(:mod:`npc_desktop.core.interop.tables`). The jobs receive immutable ROIs, the study index and the
volumes already loaded; series that are not loaded are read from disk on the worker thread.
"""

from __future__ import annotations

import threading
from enum import Enum
from pathlib import Path
from typing import Mapping, Optional, Sequence

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.locate import locate
from npc_desktop.core.annotation.patches import ContextMargin, PatchError
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.dicom import DicomIngestError, StudyIndex, Volume, load_series
from npc_desktop.core.interop.sr import SrError, annotated_images, export_sr, read_sr_rois, source_headers_for
from npc_desktop.core.interop.sr_tnm import study_tnm_groups
from npc_desktop.core.interop.tables import InteropError, write_coco, write_csv
from npc_desktop.core.progress import ProgressCallback, check_cancelled
from npc_desktop.core.tnm.study import node_rois
from npc_desktop.gui.workers import JobError


class ExportFormat(str, Enum):
    """What File > Export Annotations writes."""

    SR = "sr"
    CSV = "csv"
    COCO = "coco"


EXPORT_LABELS: dict[ExportFormat, str] = {
    ExportFormat.SR: "DICOM SR (TID 1500)",
    ExportFormat.CSV: "CSV table",
    ExportFormat.COCO: "COCO JSON",
}
EXPORT_FILTERS: dict[ExportFormat, str] = {
    ExportFormat.SR: "DICOM SR (*.dcm)",
    ExportFormat.CSV: "CSV (*.csv)",
    ExportFormat.COCO: "COCO JSON (*.json)",
}
EXPORT_SUFFIXES: dict[ExportFormat, str] = {ExportFormat.SR: ".dcm", ExportFormat.CSV: ".csv",
                                            ExportFormat.COCO: ".json"}
_ERRORS = (SrError, InteropError, PatchError, AnnotationError, DicomIngestError)


def _volumes_for(rois: Sequence[RectRoi], index: StudyIndex, loaded: Mapping[str, Volume],
                 progress: ProgressCallback, cancel: threading.Event) -> list[Volume]:
    needed = list(dict.fromkeys(r.series_instance_uid for r in rois))
    volumes = []
    for done, uid in enumerate(needed):
        check_cancelled(cancel)
        volume = loaded.get(uid)
        if volume is None:
            roi = next(r for r in rois if r.series_instance_uid == uid)
            found = locate(index, roi)
            if found is None:
                raise JobError(f"ROI {roi.id} is on image {roi.sop_instance_uid}, which is not in the open folder")
            volume = load_series(found[0], cancel=cancel)
        volumes.append(volume)
        progress(done + 1, len(needed) + 1)
    return volumes


def export_job(fmt: ExportFormat, rois: Sequence[RectRoi], index: StudyIndex, loaded: Mapping[str, Volume],
               path: Path, *, patient: str, margin: ContextMargin,
               progress: ProgressCallback, cancel: threading.Event,
               annotations: Optional[AnnotationSet] = None) -> str:
    """Write ``rois`` to ``path`` in ``fmt``; returns a one-line message for the status bar.

    ``annotations`` (a copy of the study's set) makes the SR carry the measurements, the cricoid
    level and, when a TNM form is saved, the TNM categories and stage group; the node ROIs'
    series are loaded for the cricoid rule.

    Raises
    ------
    JobError
        With the core's message naming the file, ROI or setting.
    """
    if not rois:
        raise JobError("there are no ROIs to export")
    path = Path(path)
    try:
        if fmt is ExportFormat.SR and annotations is not None:
            progress(0, 2)
            headers = source_headers_for(index, annotated_images(annotations))
            nodes = node_rois(annotations)
            volumes = _volumes_for(nodes, index, loaded, progress, cancel) if annotations.tnm_form else []
            groups = study_tnm_groups(annotations, {v.meta.series_instance_uid: v for v in volumes})
            check_cancelled(cancel)
            export_sr(annotations, headers, path, extra_groups=groups)
        elif fmt is ExportFormat.SR:
            progress(0, 2)
            headers = source_headers_for(index, rois)
            check_cancelled(cancel)
            export_sr(list(rois), headers, path)
        else:
            volumes = _volumes_for(rois, index, loaded, progress, cancel)
            check_cancelled(cancel)
            if fmt is ExportFormat.CSV:
                write_csv(list(rois), volumes, path, patient=patient, margin=margin)
            else:
                write_coco(list(rois), volumes, path, patient=patient)
    except _ERRORS as exc:
        raise JobError(str(exc)) from exc
    progress(1, 1)
    return f"{len(rois)} ROI(s) exported as {EXPORT_LABELS[fmt]} to {path}"


def import_sr_job(path: Path, progress: ProgressCallback, cancel: threading.Event) -> list[RectRoi]:
    """Read the ROIs of a TID 1500 SR file.

    Raises
    ------
    JobError
        If the file is not a readable measurement report.
    """
    try:
        rois = read_sr_rois(Path(path))
    except (SrError, AnnotationError, OSError) as exc:
        raise JobError(str(exc)) from exc
    if not rois:
        raise JobError(f"{path} holds no tumour or lymph-node ROIs")
    return rois
