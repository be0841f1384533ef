"""Batch actions over worklist rows: staging with resume, cancel, locks; refreshing a row."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.cohort.batch import export_patch_dataset, export_reports, stage_rows
from npc_desktop.core.cohort.database import CohortDatabase
from npc_desktop.core.cohort.indexer import index_roots
from npc_desktop.core.cohort.worklist import build_worklist, refresh_row
from tests.core.cohort.conftest import tumour_roi


@pytest.fixture
def annotated(cohort_root: Path, demo_study: Any, tmp_path: Path):
    """Patients 0 and 1 have a tumour ROI (patient 0 labelled III); patient 2 has none."""
    store = AnnotationStore(tmp_path / "annotations")
    db = CohortDatabase(tmp_path / "cohort.sqlite")
    index_roots(db, [cohort_root])
    rows = build_worklist(db, annotation_dir=str(store.directory)).rows
    uids = sorted(r.study_uid for r in rows)
    store.save(AnnotationSet(uids[0], [tumour_roi(demo_study, uids[0])], PatientLabel(stage="III")))
    store.save(AnnotationSet(uids[1], [tumour_roi(demo_study, uids[1])]))
    yield db, store, uids
    db.close()


def _rows(db: CohortDatabase, store: AnnotationStore) -> list:
    return sorted(build_worklist(db, annotation_dir=str(store.directory)).rows, key=lambda r: r.study_uid)


def test_stage_all_stores_results_and_resumes(annotated, small_engine) -> None:
    db, store, uids = annotated
    seen = []
    report = stage_rows(_rows(db, store), small_engine, store=AnnotationStore(store.directory), on_outcome=seen.append)
    assert [o.outcome for o in report.outcomes] == ["done", "done", "skipped"] and len(seen) == 3
    assert report.outcomes[2].message == "no ROIs to stage"
    rows = _rows(db, store)
    assert all(r.staged and not r.stale and r.bundle_hash == small_engine.bundle.sha256 for r in rows[:2])
    again = stage_rows(rows, small_engine, store=AnnotationStore(store.directory))
    assert [o.outcome for o in again.outcomes] == ["skipped"] * 3
    assert "already staged" in again.outcomes[0].message


def test_cancel_stops_between_rows_and_a_rerun_finishes(annotated, small_engine) -> None:
    db, store, _ = annotated
    cancel = threading.Event()
    report = stage_rows(_rows(db, store), small_engine, store=AnnotationStore(store.directory), cancel=cancel,
                        on_outcome=lambda outcome: cancel.set())
    assert report.cancelled and len(report.outcomes) == 1 and "resume" in report.summary()
    rest = stage_rows(_rows(db, store), small_engine, store=AnnotationStore(store.directory))
    assert [o.outcome for o in rest.outcomes] == ["skipped", "done", "skipped"]


def test_study_open_elsewhere_is_skipped(annotated, small_engine) -> None:
    db, store, uids = annotated
    with AnnotationStore(store.directory).lock(uids[0]):
        report = stage_rows(_rows(db, store)[:1], small_engine, store=AnnotationStore(store.directory))
    (outcome,) = report.outcomes
    assert outcome.outcome == "skipped" and "open for editing elsewhere" in outcome.message


def test_deleted_files_fail_the_row_with_a_message_and_refresh_updates_it(annotated, small_engine) -> None:
    db, store, uids = annotated
    row = _rows(db, store)[0]
    shutil.rmtree(Path(row.folder) / "T1C")
    (outcome,) = stage_rows([row], small_engine, store=AnnotationStore(store.directory)).outcomes
    assert outcome.outcome == "failed" and "not in this folder" in outcome.message
    fresh, messages = refresh_row(db, row, annotation_dir=str(store.directory))
    assert messages == [f"28 file(s) of this study were deleted from {row.folder} since it was indexed; "
                        "the row was updated"]
    assert fresh is not None and fresh.t1c is None and fresh.t2 is not None
    shutil.rmtree(row.folder)
    gone, messages = refresh_row(db, fresh, annotation_dir=str(store.directory))
    assert gone is None and "is gone" in messages[0]
    assert uids[0] not in {r.study_uid for r in _rows(db, store)}


def test_patch_dataset_of_the_labelled_rows(annotated, tmp_path: Path) -> None:
    db, store, _ = annotated
    result = export_patch_dataset(_rows(db, store), tmp_path / "dataset", store=AnnotationStore(store.directory))
    assert result.manifest.is_file() and result.patients == 1 and result.patches == 1  # only patient 0 is labelled


def test_report_export_writes_pseudonymous_pdfs_and_resumes(annotated, small_engine, tmp_path: Path) -> None:
    import subprocess

    db, store, _ = annotated
    rows = _rows(db, store)
    out = tmp_path / "reports"
    report = export_reports(rows[:1], small_engine, out, db, store=AnnotationStore(store.directory))
    (outcome,) = report.outcomes
    assert outcome.outcome == "done"
    pdf = out / f"{rows[0].pseudonym}.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert rows[0].pseudonym in text and "PATIENT 0" not in text and "TEST-0000" not in text
    again = export_reports(rows, small_engine, out, db, store=AnnotationStore(store.directory))
    assert [o.outcome for o in again.outcomes] == ["skipped", "done", "skipped"]
    assert again.outcomes[0].message.startswith("already written")
