"""The shell's wiring of File > Send to PACS: the open study's DICOM SR and its staging report.

The network package does not know the annotation and staging packages; this window part writes
their outputs (the SR TID 1500 and the DICOM Encapsulated PDF report) for it to send.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Union

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.interop.sr import annotated_images
from npc_desktop.core.progress import ProgressCallback, check_cancelled
from npc_desktop.gui.annotation.annotation_io import ExportFormat, export_job
from npc_desktop.gui.network.send_dialog import ResultsToSend
from npc_desktop.gui.staging.report_export import ReportRequest, report_job

SR_FILE = "npc-desktop-sr.dcm"
REPORT_FILE = "npc-desktop-report.pdf"


def results_to_send(session: Any) -> Union[ResultsToSend, str]:
    """The open study's SR (ROIs, measurements, TNM) and, after a study-level staging, its report PDF.

    Parameters
    ----------
    session
        The shell's SessionModel (annotations, index, loaded volumes, staging).

    Returns
    -------
    ResultsToSend or str
        What to send, or a sentence saying why there is nothing to send.
    """
    annotations, index = session.annotations.current, session.index
    if index is None or annotations is None:
        return "Open a study first: File > Send to PACS sends the open study's SR and staging report."
    items = annotated_images(annotations)
    if not items:
        return "The open study has no ROIs or measurements yet: there is no SR or report to send."
    session.annotations.flush()
    snapshot = AnnotationSet.from_dict(annotations.to_dict())  # the job runs on another thread
    loaded = {v.meta.series_instance_uid: v for v in session.loaded_volumes() if v is not None}
    margin = session.annotations.margin
    staged = session.staging.staged
    with_report = (staged is not None and staged.study_uid == snapshot.study_instance_uid and not staged.partial
                   and not session.staging.stale)
    study = next((s for p in index.patients for s in p.studies
                  if s.study_instance_uid == snapshot.study_instance_uid), None)
    lines = [f"DICOM SR (TID 1500): {len(snapshot.rois)} ROI(s), {len(items) - len(snapshot.rois)} measurement(s)"]
    lines.append("DICOM Encapsulated PDF: the staging report" if with_report
                 else "No report: stage the study's ROIs first to send the staging report too")

    def write(folder: Path, progress: ProgressCallback, cancel: threading.Event) -> list[Path]:
        sr_path = folder / SR_FILE
        export_job(ExportFormat.SR, snapshot, index, loaded, sr_path, patient="patient1", margin=margin,
                   progress=progress, cancel=cancel)
        files = [sr_path]
        if with_report:
            check_cancelled(cancel)
            written = report_job(staged, ReportRequest(path=folder / REPORT_FILE, dicom=True), study, index,
                                 progress, cancel, label=snapshot.label, current=snapshot, more_volumes=loaded)
            files.append(written.dicom)
        return files

    return ResultsToSend("\n".join(lines), write)
