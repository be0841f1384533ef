"""Annotation export and import jobs for the thread pool (they call the core; no Qt).

Formats: DICOM SR TID 1500 (:mod:`npc_desktop.core.interop.sr`: ROIs, rulers, node axes and the
cricoid level), CSV (:mod:`npc_desktop.core.interop.tables` for the ROIs and, when the study has
measurements, :mod:`npc_desktop.core.interop.measurement_tables` for them in a second file named
``<name>-measurements.csv`` beside the first) and COCO JSON (ROIs only). The jobs receive a copy of
the study's annotation set made on the GUI thread, the study index and the volumes already loaded;
series that are not loaded are read from disk on the worker thread.
"""

from __future__ import annotations

import threading
from enum import Enum
from pathlib import Path
from typing import Mapping, Sequence

import pydicom

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.locate import locate
from npc_desktop.core.annotation.patches import ContextMargin, PatchError
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.dicom import DicomIngestError, StudyIndex, Volume, load_series
from npc_desktop.core.interop.measurement_tables import write_measurements_csv
from npc_desktop.core.interop.sr import (
    SrContent,
    SrError,
    annotated_images,
    export_sr,
    read_source_headers,
    read_sr,
    source_headers_for,
)
from npc_desktop.core.interop.sr_common import series_of_instances
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


def measurements_csv_path(path: Path) -> Path:
    """Where the CSV export writes the measurements: ``<name>-measurements.csv`` beside ``path``."""
    return path.with_name(f"{path.stem}-measurements{path.suffix or '.csv'}")


def _volumes_for(rois: Sequence[object], index: StudyIndex, loaded: Mapping[str, Volume],
                 progress: ProgressCallback, cancel: threading.Event) -> list[Volume]:
    needed = list(dict.fromkeys(r.series_instance_uid for r in rois))
    volumes = []
    for done, uid in enumerate(needed):
        check_cancelled(cancel)
        volume = loaded.get(uid)
        if volume is None:
            roi = next(r for r in rois if r.series_instance_uid == uid)
            found = locate(index, roi)  # type: ignore[arg-type]
            if found is None:
                raise JobError(f"{type(roi).__name__} {roi.id} is on image {roi.sop_instance_uid}, "  # type: ignore[attr-defined]
                               "which is not in the open folder")
            volume = load_series(found[0], cancel=cancel)
        volumes.append(volume)
        progress(done + 1, len(needed) + 1)
    return volumes


def export_job(fmt: ExportFormat, annotations: AnnotationSet, index: StudyIndex, loaded: Mapping[str, Volume],
               path: Path, *, patient: str, margin: ContextMargin,
               progress: ProgressCallback, cancel: threading.Event) -> str:
    """Write a study's annotations to ``path`` in ``fmt``; returns a one-line message for the
    status bar.

    ``annotations`` must be a copy no one else changes (the job runs on a worker thread). The SR
    carries the ROIs, the measurements, the cricoid level and, when a TNM form is saved, the TNM
    categories and stage group (the node ROIs' series are then loaded for the cricoid rule).

    Raises
    ------
    JobError
        With the core's message naming the file, ROI or setting.
    """
    rois = annotations.rois
    items = annotated_images(annotations)
    if not rois and (fmt is ExportFormat.COCO or not items):
        raise JobError("there are no ROIs to export" if fmt is ExportFormat.COCO
                       else "there are no ROIs or measurements to export")
    path = Path(path)
    measured = len(items) - len(rois)
    written = [f"{len(rois)} ROI(s)"] + ([f"{measured} measurement(s)"] if measured and fmt is not ExportFormat.COCO
                                         else [])
    try:
        if fmt is ExportFormat.SR:
            progress(0, 2)
            headers = source_headers_for(index, items)
            nodes = node_rois(annotations)
            volumes = _volumes_for(nodes, index, loaded, progress, cancel) if annotations.tnm_form else []
            groups = study_tnm_groups(annotations, {v.meta.series_instance_uid: v for v in volumes}, index)
            check_cancelled(cancel)
            export_sr(annotations, headers, path, extra_groups=groups)
        else:
            volumes = _volumes_for(items if fmt is ExportFormat.CSV else rois, index, loaded, progress, cancel)
            check_cancelled(cancel)
            if fmt is ExportFormat.COCO:
                write_coco(list(rois), volumes, path, patient=patient)
            else:
                write_csv(list(rois), volumes, path, patient=patient, margin=margin)
                if measured:
                    second = write_measurements_csv(annotations, volumes, measurements_csv_path(path), patient=patient)
                    written[-1] += f" (in {second.name})"
    except _ERRORS as exc:
        raise JobError(str(exc)) from exc
    progress(1, 1)
    return f"{' and '.join(written)} exported as {EXPORT_LABELS[fmt]} to {path}"


def import_sr_job(path: Path, index: StudyIndex, progress: ProgressCallback, cancel: threading.Event) -> SrContent:
    """Read the ROIs, rulers, node axes and cricoid level of a TID 1500 SR file.

    The headers of the images it references are read from the open study (``index``): node axes
    take their pixel spacing from them and the cricoid level its patient position.

    Raises
    ------
    JobError
        If the file is not a readable measurement report, or holds nothing to import.
    """
    source = Path(path)
    try:
        dataset = pydicom.dcmread(source)
        wanted = set(series_of_instances(dataset))
        refs = {instance.sop_instance_uid: instance.ref for series in index.all_series()
                for instance in series.instances if instance.sop_instance_uid in wanted}
        check_cancelled(cancel)
        content = read_sr(dataset, read_source_headers(refs[uid] for uid in sorted(refs)))
    except (SrError, AnnotationError, OSError) as exc:
        raise JobError(str(exc)) from exc
    except Exception as exc:  # pydicom raises many types for a file that is not DICOM
        raise JobError(f"{source} is not a readable measurement report: {exc}") from exc
    found = content.measurements
    if not content.rois and not found.rulers and not found.node_axes and found.cricoid_level is None:
        raise JobError(f"{source} holds no tumour or lymph-node ROIs and no measurements")
    return content
