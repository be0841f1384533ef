"""Batch actions over worklist rows: stage them, write their reports, export their patch dataset.

Each action works row by row, reports progress, stops between rows (or inside a staging run)
when cancelled, and returns what happened to each row. Running it again resumes: staging skips
rows already staged with the same bundle on the same ROIs, and report export skips the rows the
database records as written for the same output folder. A study open for editing in another
window is skipped (its lock is respected), never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.study_lock import StudyLocked
from npc_desktop.core.cohort.database import CohortDatabase
from npc_desktop.core.cohort.rows import WorklistRow
from npc_desktop.core.progress import CancelToken, OperationCancelled, ProgressCallback, check_cancelled
from npc_desktop.core.staging.record import StagingRecord, roi_revision

__all__ = ["RowOutcome", "BatchReport", "stage_rows", "export_reports", "export_patch_dataset", "study_volumes"]

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class RowOutcome:
    """What a batch action did with one row."""

    key: str
    pseudonym: str
    outcome: str
    message: str


@dataclass
class BatchReport:
    """The outcome of every row a batch action reached, and whether it was cancelled."""

    action: str
    outcomes: list[RowOutcome] = field(default_factory=list)
    cancelled: bool = False

    def count(self, outcome: str) -> int:
        """Rows with ``outcome`` (``"done"``, ``"skipped"``, ``"failed"``)."""
        return sum(o.outcome == outcome for o in self.outcomes)

    def summary(self) -> str:
        """One line: counts and whether it was cancelled."""
        text = (f"{self.action}: {self.count(DONE)} done, {self.count(SKIPPED)} skipped, "
                f"{self.count(FAILED)} failed")
        return text + (" - cancelled; run it again to resume" if self.cancelled else "")

    def lines(self) -> list[str]:
        """Skipped and failed rows, then the summary."""
        return [f"{o.outcome}: {o.pseudonym}: {o.message}" for o in self.outcomes if o.outcome != DONE] + [
            self.summary()]


def study_volumes(row: WorklistRow, series_uids: Sequence[str],
                  cancel: Optional[CancelToken] = None) -> tuple[Any, dict]:
    """Index the row's folder and load the given series: ``(StudyIndex, {uid: Volume})``.

    Raises
    ------
    DicomIngestError
        If the folder or a series cannot be read (files deleted since indexing among others).
    """
    from npc_desktop.core.dicom import SeriesNotFoundError, index_path, load_series

    index = index_path(row.folder, cancel=cancel)
    volumes = {}
    for uid in dict.fromkeys(series_uids):
        try:
            series = index.find_series(uid)
        except SeriesNotFoundError:
            raise SeriesNotFoundError(row.folder, f"series {uid} of the annotations is not in this folder "
                                                  "(moved or deleted since it was indexed?)") from None
        volumes[uid] = load_series(series, cancel=cancel)
    return index, volumes


def _expected_errors() -> tuple[type[BaseException], ...]:
    from npc_desktop.core.annotation.store_results import (
        AnnotationSaveError,
        CorruptAnnotationFile,
        UnreadableAnnotationFile,
    )
    from npc_desktop.core.dicom import DicomIngestError
    from npc_desktop.core.models.errors import ModelError
    from npc_desktop.core.staging.engine import StagingInputError

    return (DicomIngestError, ModelError, StagingInputError, AnnotationSaveError, CorruptAnnotationFile,
            UnreadableAnnotationFile, OSError, ValueError)


def _run(action: str, rows: Sequence[WorklistRow], work: Callable[[WorklistRow], tuple[str, str]], *,
         progress: Optional[ProgressCallback], cancel: Optional[CancelToken],
         on_outcome: Optional[Callable[[RowOutcome], None]]) -> BatchReport:
    report = BatchReport(action)
    errors = _expected_errors()
    for done, row in enumerate(rows):
        if progress is not None:
            progress(done, len(rows))
        try:
            check_cancelled(cancel)
            outcome, message = work(row)
        except OperationCancelled:
            report.cancelled = True
            break
        except StudyLocked as exc:
            outcome, message = SKIPPED, f"open for editing elsewhere ({exc})"
        except errors as exc:
            outcome, message = FAILED, str(exc)
        result = RowOutcome(row.key, row.pseudonym, outcome, message)
        report.outcomes.append(result)
        if on_outcome is not None:
            on_outcome(result)
    if progress is not None and not report.cancelled:
        progress(len(rows), len(rows))
    return report


def stage_rows(rows: Sequence[WorklistRow], engine: Any, *, store: Optional[AnnotationStore] = None,
               progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
               on_outcome: Optional[Callable[[RowOutcome], None]] = None) -> BatchReport:
    """Stage each row's ROIs with ``engine`` and store the result in the study's annotation file.

    Rows without ROIs are skipped, and so are rows already staged with this bundle on the same
    ROIs (which is how a cancelled run resumes).
    """
    store = store or AnnotationStore()
    bundle_hash = engine.bundle.sha256

    def work(row: WorklistRow) -> tuple[str, str]:
        if row.tumours + row.nodes == 0:
            return SKIPPED, "no ROIs to stage"
        if row.staged and not row.stale and row.bundle_hash == bundle_hash:
            return SKIPPED, "already staged with this bundle on the same ROIs"
        with store.lock(row.study_uid):
            annotations = store.load(row.study_uid).annotations
            _, volumes = study_volumes(row, annotations.series_uids(), cancel)
            result = engine.stage_annotations(annotations, volumes, cancel=cancel)
            record = StagingRecord(result, roi_revision(annotations.rois), datetime.now(timezone.utc))
            annotations.last_staging = record.to_dict()
            store.save(annotations)
        patient = result.patient.predicted if result.patient is not None else "-"
        return DONE, f"staged {len(result.patches)} ROI(s): {patient}"

    return _run("stage", rows, work, progress=progress, cancel=cancel, on_outcome=on_outcome)


def export_reports(rows: Sequence[WorklistRow], engine: Any, out_dir: Path, db: CohortDatabase, *,
                   store: Optional[AnnotationStore] = None, progress: Optional[ProgressCallback] = None,
                   cancel: Optional[CancelToken] = None,
                   on_outcome: Optional[Callable[[RowOutcome], None]] = None) -> BatchReport:
    """Write each row's de-identified PDF report (``<pseudonym>.pdf``) into ``out_dir``.

    The reports are staged afresh (the report shows Grad-CAM, which is not stored). Rows whose
    report this database records as written into ``out_dir``, and whose file is still there, are
    skipped, so a cancelled export resumes.
    """
    from npc_desktop.core.reports import write_report_pdf
    from npc_desktop.core.reports.assemble import report_content

    store = store or AnnotationStore()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = f"reports:{out_dir.resolve()}"
    done = dict(db.connection.execute("SELECT row_key, message FROM batch_done WHERE job = ?", (job,)))

    def work(row: WorklistRow) -> tuple[str, str]:
        target = out_dir / f"{row.pseudonym}.pdf"
        if row.key in done and target.exists():
            return SKIPPED, f"already written to {target}"
        if row.tumours + row.nodes == 0:
            return SKIPPED, "no ROIs to stage for the report"
        annotations = store.load(row.study_uid).annotations
        measured = [m.series_instance_uid for m in annotations.measurements]
        index, volumes = study_volumes(row, [*annotations.series_uids(), *measured], cancel)
        result = engine.stage_annotations(annotations, volumes, cancel=cancel)
        study = next((s for p in index.patients for s in p.studies if s.study_instance_uid == row.study_uid), None)
        content = report_content(result, annotations, volumes, manifest=engine.bundle.manifest, study=study)
        write_report_pdf(content.deidentified(row.pseudonym), target)
        db.connection.execute("INSERT OR REPLACE INTO batch_done (job, row_key, outcome, message) VALUES (?, ?, ?, ?)",
                              (job, row.key, DONE, str(target)))
        return DONE, f"wrote {target}"

    return _run("export reports", rows, work, progress=progress, cancel=cancel, on_outcome=on_outcome)


def export_patch_dataset(rows: Sequence[WorklistRow], out_dir: Path, *, store: Optional[AnnotationStore] = None,
                         mapping_file: Optional[Path] = None, progress: Optional[ProgressCallback] = None,
                         cancel: Optional[CancelToken] = None) -> Any:
    """Export the de-identified patch dataset of the labelled rows (the research export).

    Returns the :class:`~npc_desktop.core.research.export_sources.ExportResult`. A cancelled
    export leaves nothing behind; run it again into the same (still empty) folder.

    Raises
    ------
    ExportError
        When no row is labelled with ROIs, or as the research export raises.
    """
    from npc_desktop.core.research.export import export_dataset
    from npc_desktop.core.research.export_sources import ExportError, ExportOptions, StudySource

    store = store or AnnotationStore()
    sources = []
    for row in rows:
        if row.labelled and row.tumours + row.nodes:
            sources.append(StudySource(Path(row.folder), store.load(row.study_uid).annotations))
    if not sources:
        raise ExportError("no labelled row with ROIs to export; label the patients' stage first")
    return export_dataset(sources, out_dir, options=ExportOptions(mapping_file=mapping_file), progress=progress,
                          cancel=cancel)
