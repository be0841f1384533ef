"""Atomic autosave store: file naming, backup, corrupt-file handling, crash safety under SIGKILL."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.autosave import Autosaver
from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.store import AnnotationStore, default_annotation_dir, study_file_name
from npc_desktop.core.annotation.store_results import (
    AnnotationConflict,
    AnnotationSaveError,
    CorruptAnnotationFile,
    LoadSource,
    UnreadableAnnotationFile,
)
from tests.conftest import REPO_ROOT, roi_from_demo_lesion

STUDY = "1.2.826.0.1.3680043.8.498.10"
SERIES = "1.2.826.0.1.3680043.8.498.11"
SOP = "1.2.826.0.1.3680043.8.498.12"


def make_roi(i: int = 0, **changes: Any) -> RectRoi:
    values: dict[str, Any] = dict(
        study_instance_uid=STUDY, series_instance_uid=SERIES, sop_instance_uid=SOP,
        row0=float(i), col0=1.0, row1=float(i) + 10.0, col1=11.0,
    )
    values.update(changes)
    return RectRoi(**values)


def filled(count: int = 3) -> AnnotationSet:
    aset = AnnotationSet(STUDY, label=PatientLabel(stage="III"))
    for i in range(count):
        aset.add(make_roi(i))
    return aset


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------------
# Naming and location


def test_file_names_hide_the_uid(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    path = store.path_for(STUDY)
    assert path.parent == tmp_path
    assert path.name == study_file_name(STUDY)
    assert path.name.startswith("study-") and path.name.endswith(".json")
    assert STUDY not in path.name and "1.2.826" not in path.name
    assert study_file_name(STUDY) != study_file_name(STUDY + "1")
    store.save(filled())
    store.save(filled())
    for name in files_in(tmp_path):
        assert "1.2.826" not in name


def test_default_directory_is_the_user_data_dir() -> None:
    expected = Path(platformdirs.user_data_dir("npc-desktop", appauthor=False)) / "annotations"
    assert default_annotation_dir() == expected
    assert AnnotationStore().directory == expected


# ---------------------------------------------------------------------------------------------
# Save and load


def test_new_study_loads_empty(tmp_path: Path) -> None:
    result = AnnotationStore(tmp_path / "not-yet").load(STUDY)
    assert result.source is LoadSource.NEW and len(result.annotations) == 0
    assert result.annotations.study_instance_uid == STUDY and result.problems == () and result.message == ""


def test_round_trip_and_backup(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path / "nested" / "dir")
    first = filled(2)
    result = store.save(first)
    assert result.backup is None and result.moved_aside is None
    second = filled(3)
    result = store.save(second)
    assert result.backup == store.backup_path_for(STUDY)
    assert json.loads(result.backup.read_text())["rois"] == first.to_dict()["rois"]
    loaded = store.load(STUDY)
    assert loaded.source is LoadSource.FILE and loaded.problems == ()
    assert loaded.annotations.to_dict() == second.to_dict()
    assert files_in(store.directory) == [store.path_for(STUDY).name, store.backup_path_for(STUDY).name]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02garbage",
        b'{"format": "npc-desktop.annotations", "schema_version": 1, "study_instance_uid": "1.2',
        b"[1, 2, 3]",
        b'{"format": "npc-desktop.annotations", "schema_version": 99}',
        "\u00e9t\u00e9".encode("latin-1"),
    ],
    ids=["empty", "binary", "truncated", "not-an-object", "future-schema", "not-utf8"],
)
def test_corrupt_file_is_moved_aside_and_backup_used(tmp_path: Path, content: bytes) -> None:
    store = AnnotationStore(tmp_path)
    store.save(filled(2))
    store.save(filled(3))  # the backup now holds the two-ROI version
    path = store.path_for(STUDY)
    path.write_bytes(content)
    result = store.load(STUDY)
    assert result.source is LoadSource.BACKUP
    assert len(result.annotations) == 2
    (problem,) = result.problems
    assert isinstance(problem, CorruptAnnotationFile)
    assert problem.path == path and str(path) in str(problem) and str(problem.moved_to) in str(problem)
    assert problem.moved_to is not None and problem.moved_to.name.startswith(path.name + ".corrupt-")
    assert problem.moved_to.read_bytes() == content  # kept byte for byte
    assert "backup" in result.message
    # The main file was restored from the backup, so the next load is normal.
    again = store.load(STUDY)
    assert again.source is LoadSource.FILE and again.problems == () and len(again.annotations) == 2


def test_unknown_schema_is_reported_as_such(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    data = filled(1).to_dict()
    data["schema_version"] = 4
    store.directory.mkdir(exist_ok=True)
    store.path_for(STUDY).write_text(json.dumps(data))
    result = store.load(STUDY)
    assert result.source is LoadSource.NEW
    assert "schema_version" in result.problems[0].reason and "not supported" in result.problems[0].reason


def test_file_of_another_study_is_not_used(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    other = AnnotationSet("1.2.3.4")
    store.directory.mkdir(exist_ok=True)
    store.path_for(STUDY).write_text(json.dumps(other.to_dict()))
    result = store.load(STUDY)
    assert result.source is LoadSource.NEW and "another study" in result.problems[0].reason


def test_both_corrupt_gives_empty_set_and_keeps_both(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    store.save(filled(1))
    store.save(filled(2))
    store.path_for(STUDY).write_text("{")
    store.backup_path_for(STUDY).write_text("}")
    result = store.load(STUDY)
    assert result.source is LoadSource.NEW and len(result.annotations) == 0
    assert [p.path for p in result.problems] == [store.path_for(STUDY), store.backup_path_for(STUDY)]
    kept = sorted(p.read_text() for p in tmp_path.glob("*.corrupt-*"))
    assert kept == ["{", "}"]


def test_missing_main_file_falls_back_to_backup(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    store.save(filled(1))
    store.save(filled(2))
    store.path_for(STUDY).unlink()
    result = store.load(STUDY)
    assert result.source is LoadSource.BACKUP and len(result.annotations) == 1 and result.problems == ()


def test_save_never_overwrites_a_corrupt_file(tmp_path: Path) -> None:
    """A file damaged behind the app's back is moved aside on the next save, not made the backup."""
    store = AnnotationStore(tmp_path)
    store.save(filled(1))
    store.save(filled(2))
    good_backup = store.backup_path_for(STUDY).read_bytes()
    store.path_for(STUDY).write_text("damaged by another program")
    result = store.save(filled(3))
    assert result.moved_aside is not None and result.moved_aside.path == store.path_for(STUDY)
    assert result.moved_aside.moved_to.read_text() == "damaged by another program"
    assert store.backup_path_for(STUDY).read_bytes() == good_backup
    assert len(store.load(STUDY).annotations) == 3


def test_save_error_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    store = AnnotationStore(blocker / "annotations")
    with pytest.raises(AnnotationSaveError) as info:
        store.save(filled())
    assert str(store.path_for(STUDY)) in str(info.value)


# ---------------------------------------------------------------------------------------------
# Two writers: a file changed on disk since the last load or save is never overwritten


def conflict_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("study-*.conflict-*.json"))


def test_a_file_changed_by_another_program_is_not_overwritten(tmp_path: Path) -> None:
    mine, theirs = AnnotationStore(tmp_path), AnnotationStore(tmp_path)
    first = filled(1)
    mine.save(first)
    their_set = theirs.load(STUDY).annotations
    their_set.add(make_roi(5))
    theirs.save(their_set)
    my_set = mine.load(STUDY).annotations  # reload: my view is now their version ...
    my_set.add(make_roi(7))
    mine.save(my_set)  # ... so this save is not a conflict
    assert len(theirs.load(STUDY).annotations) == 3
    my_set.add(make_roi(8))
    their_set = theirs.load(STUDY).annotations
    their_set.add(make_roi(9))
    theirs.save(their_set)  # changed behind my back
    their_bytes = mine.path_for(STUDY).read_bytes()
    with pytest.raises(AnnotationConflict) as info:
        mine.save(my_set)
    conflict = info.value
    assert isinstance(conflict, AnnotationSaveError) and conflict.path == mine.path_for(STUDY)
    assert mine.path_for(STUDY).read_bytes() == their_bytes  # theirs is untouched
    (copy,) = conflict_files(tmp_path)
    assert conflict.conflict_path == copy == mine.conflict_path(STUDY)
    assert copy.name.startswith(mine.path_for(STUDY).stem + ".conflict-")
    assert AnnotationSet.from_dict(json.loads(copy.read_text())).to_dict() == my_set.to_dict()  # mine is kept too
    message = str(conflict)
    assert "changed by another program" in message and "kept in memory" in message and str(copy) in message
    # Retrying while the conflict lasts updates the same conflict file, never the study file.
    my_set.add(make_roi(10))
    with pytest.raises(AnnotationConflict) as again:
        mine.save(my_set)
    assert again.value.conflict_path == copy and conflict_files(tmp_path) == [copy]
    assert len(json.loads(copy.read_text())["rois"]) == len(my_set)
    assert mine.path_for(STUDY).read_bytes() == their_bytes
    # Choosing to keep mine: theirs is kept as a conflict copy of its own, mine becomes the file.
    result = mine.save(my_set, replace_changed=True)
    assert result.replaced is not None and result.replaced.read_bytes() == their_bytes
    assert mine.load(STUDY).annotations.to_dict() == my_set.to_dict() and mine.conflict_path(STUDY) is None
    assert json.loads(mine.backup_path_for(STUDY).read_bytes()) == json.loads(their_bytes)
    # Now the other writer is the one out of date.
    their_set.add(make_roi(11))
    with pytest.raises(AnnotationConflict):
        theirs.save(their_set)
    assert mine.load(STUDY).annotations.to_dict() == my_set.to_dict()


def test_a_file_that_appeared_after_loading_is_a_conflict(tmp_path: Path) -> None:
    mine, theirs = AnnotationStore(tmp_path), AnnotationStore(tmp_path)
    my_set = mine.load(STUDY).annotations  # no file yet
    theirs.save(filled(2))
    my_set.add(make_roi(9))
    with pytest.raises(AnnotationConflict):
        mine.save(my_set)
    assert len(theirs.load(STUDY).annotations) == 2
    # A store that never loaded the study does not overwrite it either.
    with pytest.raises(AnnotationConflict):
        AnnotationStore(tmp_path).save(filled(5))
    assert len(theirs.load(STUDY).annotations) == 2
    # Saving what is already on disk is no conflict.
    AnnotationStore(tmp_path).save(theirs.load(STUDY).annotations)


def test_a_file_deleted_by_another_program_is_written_again(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    store.save(filled(1))
    store.path_for(STUDY).unlink()
    store.save(filled(2))
    assert len(store.load(STUDY).annotations) == 2


def test_autosaver_reports_a_conflict_and_keeps_the_edit(tmp_path: Path) -> None:
    mine, theirs = AnnotationStore(tmp_path), AnnotationStore(tmp_path)
    my_set = mine.load(STUDY).annotations
    errors: list[AnnotationSaveError] = []
    saver = Autosaver(mine, my_set, on_error=errors.append)
    my_set.add(make_roi(0))
    their_set = theirs.load(STUDY).annotations
    their_set.add(make_roi(1))
    theirs.save(their_set)
    my_set.add(make_roi(2))
    assert saver.pending and len(errors) == 1 and isinstance(errors[0], AnnotationConflict)
    assert theirs.load(STUDY).annotations.to_dict() == their_set.to_dict()
    assert saver.flush(replace_changed=True) is not None and not saver.pending
    assert mine.load(STUDY).annotations.to_dict() == my_set.to_dict()
    assert len(conflict_files(tmp_path)) == 2  # my version while it waited, theirs when replaced


# ---------------------------------------------------------------------------------------------
# A file that cannot be read (permission denied, I/O error) is not corruption


def _unreadable(monkeypatch: pytest.MonkeyPatch, path: Path, error: int = errno.EIO) -> None:
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == path:
            raise OSError(error, os.strerror(error), str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


@pytest.mark.parametrize("error", [errno.EIO, errno.EACCES], ids=["EIO", "EACCES"])
def test_unreadable_file_is_left_alone_and_not_saved_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    store = AnnotationStore(tmp_path)
    store.save(filled(1))
    store.save(filled(2))
    path = store.path_for(STUDY)
    before = {name: (tmp_path / name).read_bytes() for name in files_in(tmp_path)}
    with monkeypatch.context() as patch:
        _unreadable(patch, path, error)
        with pytest.raises(UnreadableAnnotationFile) as info:
            store.load(STUDY)
        assert info.value.path == path and str(path) in str(info.value)
        assert os.strerror(error) in str(info.value) and "nothing is saved over it" in str(info.value)
        with pytest.raises(AnnotationSaveError) as save_info:
            store.save(filled(5))
        assert "cannot be read" in str(save_info.value) and str(path) in str(save_info.value)
        fresh = AnnotationStore(tmp_path)
        with pytest.raises(UnreadableAnnotationFile):
            fresh.load(STUDY)
    # Nothing was moved, restored or written while the file could not be read.
    assert {name: (tmp_path / name).read_bytes() for name in files_in(tmp_path)} == before
    result = AnnotationStore(tmp_path).load(STUDY)
    assert result.source is LoadSource.FILE and len(result.annotations) == 2


def test_unreadable_backup_after_a_corrupt_file_reports_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = AnnotationStore(tmp_path)
    store.save(filled(1))
    store.save(filled(2))
    store.path_for(STUDY).write_text("{")
    _unreadable(monkeypatch, store.backup_path_for(STUDY))
    with pytest.raises(UnreadableAnnotationFile) as info:
        store.load(STUDY)
    assert info.value.path == store.backup_path_for(STUDY)
    (moved,) = info.value.problems
    assert moved.moved_to is not None and moved.moved_to.read_text() == "{"
    assert store.backup_path_for(STUDY).exists() and not store.path_for(STUDY).exists()


def test_an_unreadable_file_that_becomes_readable_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AnnotationStore(tmp_path)
    store.save(filled(2))
    path = store.path_for(STUDY)
    kept = path.read_bytes()
    mine = AnnotationStore(tmp_path)
    with monkeypatch.context() as patch:
        _unreadable(patch, path)
        with pytest.raises(UnreadableAnnotationFile):
            mine.load(STUDY)
    edits = AnnotationSet(STUDY)
    edits.add(make_roi(9))
    with pytest.raises(AnnotationConflict) as info:
        mine.save(edits)  # readable again, but this store never saw its content
    assert path.read_bytes() == kept and info.value.conflict_path is not None


# ---------------------------------------------------------------------------------------------
# Autosaver


def test_autosaver_saves_every_operation(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    aset = store.load(STUDY).annotations
    saver = Autosaver(store, aset)
    roi = make_roi()
    operations = [
        lambda: aset.add(roi),
        lambda: aset.move(roi.id, 1, 1),
        lambda: aset.resize(roi.id, 0, 0, 5, 5),
        lambda: aset.set_kind(roi.id, "lymph_node"),
        lambda: aset.set_label(PatientLabel(stage="IVa")),
        lambda: aset.revert(aset.set_label(PatientLabel(stage="III"))),
        lambda: aset.remove(roi.id),
    ]
    for count, operation in enumerate(operations, start=1):
        operation()
        assert store.load(STUDY).annotations.to_dict() == aset.to_dict()
    assert saver.stats.saves == len(operations) + 1  # the revert is a change of its own
    saver.close()
    assert len(aset.events) == 0
    aset.add(make_roi())
    assert len(store.load(STUDY).annotations) == 0  # no longer watched


def test_autosave_keeps_up_with_many_edits(tmp_path: Path) -> None:
    """Every one of 200 edits is on disk when it returns, and the backup trails by one edit.

    Speed is measured by the benchmarks, not asserted here.
    """
    store = AnnotationStore(tmp_path)
    aset = store.load(STUDY).annotations
    with Autosaver(store, aset) as saver:
        for i in range(200):
            aset.add(make_roi(i))
            if i % 50 == 49:
                assert len(store.load(STUDY).annotations) == i + 1
                assert len(json.loads(store.backup_path_for(STUDY).read_text())["rois"]) == i
    mean_ms = 1000 * saver.stats.total_seconds / saver.stats.saves
    print(f"autosave: {saver.stats.saves} saves, mean {mean_ms:.2f} ms, max {1000 * saver.stats.max_seconds:.2f} ms,"
          f" file {store.path_for(STUDY).stat().st_size} bytes with 200 ROIs")
    assert saver.stats.saves == 200 and not saver.pending
    assert 0 < saver.stats.max_seconds <= saver.stats.total_seconds
    assert AnnotationStore(tmp_path).load(STUDY).annotations.to_dict() == aset.to_dict()
    assert files_in(tmp_path) == [store.path_for(STUDY).name, store.backup_path_for(STUDY).name]


def test_autosaver_reports_errors_and_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = AnnotationStore(tmp_path)
    aset = store.load(STUDY).annotations
    errors: list[AnnotationSaveError] = []
    saver = Autosaver(store, aset, on_error=errors.append)
    real_save = store.save

    def failing(annotations: AnnotationSet, **options: Any) -> Any:
        raise AnnotationSaveError(store.path_for(STUDY), "No space left on device")

    monkeypatch.setattr(store, "save", failing)
    aset.add(make_roi())
    assert len(aset) == 1 and saver.pending and len(errors) == 1
    assert "No space left" in str(saver.last_error)
    monkeypatch.setattr(store, "save", real_save)
    assert saver.flush() is not None
    assert not saver.pending and saver.last_error is None
    assert len(store.load(STUDY).annotations) == 1


def test_autosaver_without_handler_raises_but_keeps_the_edit(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    store = AnnotationStore(blocker / "sub")
    aset = AnnotationSet(STUDY)
    Autosaver(store, aset)
    with pytest.raises(AnnotationSaveError):
        aset.add(make_roi())
    assert len(aset) == 1


def test_autosaver_reports_a_corrupt_file_it_moved_aside(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    aset = store.load(STUDY).annotations
    problems: list[CorruptAnnotationFile] = []
    Autosaver(store, aset, on_problem=problems.append)
    aset.add(make_roi(0))
    store.path_for(STUDY).write_text("oops")
    aset.add(make_roi(1))
    assert len(problems) == 1 and problems[0].moved_to is not None


# ---------------------------------------------------------------------------------------------
# Crash safety: SIGKILL in the middle of an editing loop

CHILD = textwrap.dedent(
    """
    import sys
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.rois import RectRoi
    from npc_desktop.core.annotation.autosave import Autosaver
    from npc_desktop.core.annotation.store import AnnotationStore

    folder, study, series, sop = sys.argv[1:5]
    store = AnnotationStore(folder)
    lock = store.lock(study)  # as the workstation holds it while the study is open
    annotations = store.load(study).annotations
    saver = Autosaver(store, annotations)
    print("ready", flush=True)
    for i in range(100000):
        annotations.add(RectRoi(
            study_instance_uid=study, series_instance_uid=series, sop_instance_uid=sop,
            row0=float(i), col0=0.0, row1=i + 8.5, col1=12.0, kind="tumour" if i % 2 else "lymph_node",
        ))
        print(i + 1, flush=True)  # this ROI is committed: add() returned after the save
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
@pytest.mark.parametrize("seed", range(8))
def test_sigkill_during_editing_loses_at_most_the_edit_in_flight(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    kill_after = rng.randint(1, 150)
    extra_delay = rng.uniform(0.0, 0.004)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), STUDY, SERIES, SOP],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
        printed = 0
        while printed < kill_after:
            line = child.stdout.readline()
            assert line, "child ended early: " + (child.stderr.read() if child.stderr else "")
            printed = int(line)
        time.sleep(extra_delay)
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    committed = max([printed] + [int(x) for x in rest.split()])

    store = AnnotationStore(tmp_path)
    path = store.path_for(STUDY)
    json.loads(path.read_text(encoding="utf-8"))  # valid JSON, whatever the moment of the kill
    result = store.load(STUDY)
    assert result.source is LoadSource.FILE and result.problems == ()
    count = len(result.annotations)
    assert committed <= count <= committed + 1, (committed, count)
    assert [roi.row0 for roi in result.annotations] == [float(i) for i in range(count)]
    # The killed process's lock is stale: it does not keep the study from being edited again.
    assert store.lock_path_for(STUDY).exists()
    with store.lock(STUDY) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert not store.lock_path_for(STUDY).exists()
    print(f"seed {seed}: killed after {committed} committed edits, reopened with {count} ROIs")


# ---------------------------------------------------------------------------------------------
# The DICOM input is never modified


def _digests(root: Path) -> dict[str, tuple[str, float]]:
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_annotating_and_exporting_leave_the_dicom_input_untouched(tmp_path: Path, demo_study) -> None:
    from npc_desktop.core.dicom import index_path, load_series
    from npc_desktop.core.interop.sr import export_sr, read_sr_rois, source_headers_for
    from npc_desktop.core.interop.tables import write_coco, write_csv
    from npc_desktop.core.models.patch_preprocessing import prepare_patches

    before = _digests(demo_study.root)
    index = index_path(demo_study.root)
    volumes = [load_series(s) for s in index.image_series()]
    store = AnnotationStore(tmp_path / "annotations")
    aset = store.load(demo_study.study_instance_uid).annotations
    with Autosaver(store, aset):
        for lesion in demo_study.lesions[::3]:
            aset.add(roi_from_demo_lesion(demo_study, lesion))
    for volume in volumes:
        prepare_patches(volume, aset.for_series(volume.meta.series_instance_uid))
    sr_path = export_sr(aset, source_headers_for(index, aset.rois), tmp_path / "rois.dcm")
    assert len(read_sr_rois(sr_path)) == len(aset)
    write_csv(aset, volumes, tmp_path / "rois.csv", patient="P001")
    write_coco(aset, volumes, tmp_path / "rois.json", patient="P001")
    assert _digests(demo_study.root) == before
    assert not any(p.suffix == ".tmp" for p in demo_study.root.rglob("*"))
