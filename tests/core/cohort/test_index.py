"""Indexing folders into the cohort database: re-reading only what changed, and bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pydicom
import pytest

from npc_desktop.core.cohort.database import CohortDatabase
from npc_desktop.core.cohort.indexer import CohortError, index_roots
from npc_desktop.core.cohort.worklist import build_worklist
from tests.core.cohort.conftest import copy_as_patient


@pytest.fixture
def db(tmp_path: Path) -> CohortDatabase:
    database = CohortDatabase(tmp_path / "data" / "cohort.sqlite")
    yield database
    database.close()


def test_first_index_reads_every_file_and_the_second_none(cohort_root: Path, db: CohortDatabase) -> None:
    first = index_roots(db, [cohort_root])
    assert first.files_found == first.files_read == 150 and not first.skipped and not first.warnings
    second = index_roots(db, [cohort_root])
    assert (second.files_read, second.files_unchanged, second.files_removed) == (0, 150, 0)
    assert db.roots() == [str(cohort_root)]


def test_reindex_rereads_changed_files_and_drops_deleted_ones(cohort_root: Path, db: CohortDatabase) -> None:
    index_roots(db, [cohort_root])
    changed = cohort_root / "patient-0" / "T2" / "IM0001.dcm"
    ds = pydicom.dcmread(changed)
    ds.SeriesDescription = "T2 CHANGED"
    ds.save_as(changed)
    info = changed.stat()
    os.utime(changed, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))
    shutil.rmtree(cohort_root / "patient-2" / "T1C")
    report = index_roots(db, [cohort_root])
    assert (report.files_read, report.files_removed, report.files_found) == (1, 28, 122)
    stored = db.connection.execute("SELECT series_description FROM files WHERE path = ?", (str(changed),)).fetchone()
    assert stored == ("T2 CHANGED",)
    rows = {r.patient_id: r for r in build_worklist(db, annotation_dir=str(cohort_root.parent / "ann")).rows}
    assert rows["TEST-0002"].t1c is None and rows["TEST-0002"].t2 is not None


def test_role_corrected_by_hand_survives_reindex(cohort_root: Path, db: CohortDatabase, tmp_path: Path) -> None:
    index_roots(db, [cohort_root])
    annotations = str(tmp_path / "ann")
    row = build_worklist(db, annotation_dir=annotations).rows[0]
    t2 = row.t2
    db.set_role(t2.series_uid, "other")
    for path in (cohort_root / "patient-0" / "T2").iterdir():
        os.utime(path, ns=(0, path.stat().st_mtime_ns + 10_000_000_000))
    assert index_roots(db, [cohort_root]).files_read == 22
    again = build_worklist(db, annotation_dir=annotations).find(row.key)
    entry = next(s for s in again.series if s.series_uid == t2.series_uid)
    assert entry.role == "other" and entry.role_by_hand and again.t2 is None
    with pytest.raises(ValueError, match="choose one of"):
        db.set_role(t2.series_uid, "T1")
    db.set_role(t2.series_uid, None)
    assert build_worklist(db, annotation_dir=annotations).find(row.key).t2 is not None


def test_partly_unreadable_folder_is_indexed_as_far_as_possible(cohort_root: Path, db: CohortDatabase) -> None:
    broken = cohort_root / "patient-1" / "T2"
    (broken / "IM0003.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f")  # truncated
    (broken / "IM0004.dcm").unlink()
    (broken / "IM0004.dcm").symlink_to(broken / "gone.dcm")  # a link that leads nowhere
    (broken / "notes.txt").write_text("not dicom")
    locked = cohort_root / "patient-1" / "locked"
    locked.mkdir()
    (locked / "x.dcm").write_bytes(b"x")
    locked.chmod(0)
    try:
        report = index_roots(db, [cohort_root])
    finally:
        locked.chmod(0o755)
    skipped = dict(report.skipped)
    assert "DICOM header" in skipped[str(broken / "IM0003.dcm")] or "no " in skipped[str(broken / "IM0003.dcm")]
    assert "does not exist" in skipped[str(broken / "IM0004.dcm")]
    if os.geteuid() != 0:  # root reads a chmod 000 folder anyway
        assert "cannot be read" in skipped[str(locked)]
    assert report.not_dicom >= 1
    rows = build_worklist(db, annotation_dir=str(cohort_root.parent / "ann")).rows
    assert len(rows) == 3
    row = next(r for r in rows if r.patient_id == "TEST-0001")
    assert row.t2.images == 20 and row.t1c.images == 28
    assert any("IM0003.dcm" in line for line in report.lines())


def test_same_images_in_two_folders_are_reported_and_counted_once(cohort_root: Path, db: CohortDatabase) -> None:
    shutil.copytree(cohort_root / "patient-0", cohort_root / "patient-0-copy")
    report = index_roots(db, [cohort_root])
    (warning,) = report.warnings
    assert str(cohort_root / "patient-0") in warning and str(cohort_root / "patient-0-copy") in warning
    rows = build_worklist(db, annotation_dir=str(cohort_root.parent / "ann")).rows
    assert len(rows) == 3
    row = next(r for r in rows if r.patient_id == "TEST-0000")
    assert row.folder == str(cohort_root / "patient-0") and row.t1c.images == 28
    assert any("patient-0-copy" in problem for problem in row.problems)


def test_one_study_uid_for_two_patients_gives_two_rows_and_a_warning(
    cohort_root: Path, db: CohortDatabase, demo_study
) -> None:
    other = cohort_root / "other"
    copy_as_patient(demo_study, other, 0)  # same UIDs as patient 0 ...
    for path in other.glob("*/*.dcm"):  # ... but another patient, and other image UIDs
        ds = pydicom.dcmread(path)
        ds.PatientID, ds.PatientName = "SOMEONE-ELSE", "ELSE^SOMEONE"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID + ".9"
        ds.save_as(path)
    report = index_roots(db, [cohort_root])
    assert any("used by 2 patients" in w for w in report.warnings)
    rows = build_worklist(db, annotation_dir=str(cohort_root.parent / "ann")).rows
    assert len(rows) == 4
    assert len({r.study_uid for r in rows}) == 3


def test_missing_root_is_named(db: CohortDatabase, tmp_path: Path) -> None:
    with pytest.raises(CohortError, match="no such file or folder"):
        index_roots(db, [tmp_path / "nowhere"])
