"""The background job behind File > Export Staging Report (a plain function, no Qt).

Each job runs on the session's thread pool (:class:`~npc_desktop.gui.workers.JobRunner`) and
turns the core's typed errors into a :class:`~npc_desktop.gui.workers.JobError` whose one-line
message the window shows as it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from npc_desktop.core.progress import ProgressCallback, check_cancelled
from npc_desktop.gui.staging.staging_state import StagedResult
from npc_desktop.gui.workers import JobError

PAGE_SIZES = ("A4", "Letter")


@dataclass(frozen=True)
class ReportRequest:
    """What the report dialog asked for.

    Attributes
    ----------
    path
        The PDF to write.
    page_size
        "A4" or "Letter".
    institution, department, logo
        The header; ``logo`` is a PNG or JPEG file or None.
    pseudonym
        Write the de-identified variant under this pseudonym (None: the identified report).
    dicom
        Also write a DICOM Encapsulated PDF beside the PDF (same name, ``.dcm``).
    """

    path: Path
    page_size: str = "A4"
    institution: str = "NPC Desktop"
    department: str = ""
    logo: Optional[Path] = None
    pseudonym: Optional[str] = None
    dicom: bool = False

    @property
    def dicom_path(self) -> Path:
        """Where the DICOM Encapsulated PDF goes."""
        return self.path.with_suffix(".dcm")


@dataclass(frozen=True)
class ReportWritten:
    """The files a report export wrote."""

    pdf: Path
    dicom: Optional[Path]
    stage_text: str


def report_job(staged: StagedResult, request: ReportRequest, study: Any, index: Any,
               progress: ProgressCallback, cancel: threading.Event, *, label: Any = None,
               current: Any = None, more_volumes: Optional[Mapping[str, Any]] = None) -> ReportWritten:
    """Assemble and write the report of ``staged`` (and its DICOM Encapsulated PDF if asked for).

    Parameters
    ----------
    staged
        The staging result with the annotations and series it was computed from.
    request
        The dialog's choices.
    study, index
        The study's StudyInfo (accession number, time) and the study index (SOP classes), or None.
    progress, cancel
        The job runner's callback and cancel token.
    label
        The patient label (reviewer, note, clinician's stage) as it is now; the one staged with
        when None.
    current
        A copy of the study's annotations as they are now: the TNM section and the key slices'
        rulers come from it, since the TNM form is usually filled in after staging. The staged
        snapshot when None.
    more_volumes
        Series loaded in the viewer besides the staged ones, by SeriesInstanceUID (rulers drawn
        on them get their lengths; node series decide the cricoid rule).

    Raises
    ------
    JobError
        With a one-line message naming the file or setting.
    """
    from npc_desktop.core.reports import Institution, ReportContentError, ReportWriteError, write_report_pdf
    from npc_desktop.core.reports.assemble import report_content, source_images, stage_label_text
    from npc_desktop.core.reports.dicom_pdf import EncapsulatedPdfError, encapsulate_pdf

    steps = 3 if request.dicom else 2
    progress(0, steps)
    try:
        institution = Institution(request.institution, request.department, request.logo)
        manifest = staged.engine.manifest if staged.engine is not None else None
        volumes = {**(more_volumes or {}), **staged.volumes}
        content = report_content(staged.result, staged.annotations, volumes, manifest=manifest,
                                 study=study, institution=institution, label=label, current=current)
        if request.pseudonym is not None:
            content = content.deidentified(request.pseudonym)
        check_cancelled(cancel)
        progress(1, steps)
        pdf = write_report_pdf(content, request.path, page_size=request.page_size)
        progress(2, steps)
        dicom = None
        if request.dicom:
            check_cancelled(cancel)
            dicom = encapsulate_pdf(pdf, request.dicom_path, patient=content.patient,
                                    source_images=source_images(staged.result, staged.volumes, index))
            progress(3, steps)
    except (ReportContentError, ReportWriteError, EncapsulatedPdfError, ValueError, OSError) as exc:
        raise JobError(str(exc).strip().splitlines()[0]) from None
    return ReportWritten(pdf, dicom, stage_label_text(staged.result))
