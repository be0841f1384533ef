"""Annotation data safety in the window: a note typed just before the study changes or the window
closes is kept, a study open in another window is read-only, and a file another program changed
is never overwritten (the user chooses which version stays)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from npc_desktop.core.annotation.labels import Stage
from npc_desktop.core.annotation.store import AnnotationStore, study_file_name
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.gui.annotation.conflict_dialog import KEEP_MINE_TEXT, LOAD_OTHER_TEXT

pytestmark = pytest.mark.gui


def _saved_label(folder: Path, study_uid: str) -> dict:
    return json.loads((folder / study_file_name(study_uid)).read_text(encoding="utf-8"))["label"]


def _type_note_and_reviewer(qtbot, window) -> None:
    panel = window.label_panel
    qtbot.mouseClick(panel.reviewer, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.reviewer, "KL")  # no Return, no focus change
    qtbot.mouseClick(panel.note.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.note, "Retropharyngeal node")
    assert panel._timer.isActive()  # the note is not stored yet ...
    assert window.session.annotations.current.label.note == ""


def test_typed_note_is_kept_when_the_study_changes(qtbot, demo_window, demo_study, annotation_dir) -> None:
    window = demo_window
    annotations = window.session.annotations
    _type_note_and_reviewer(qtbot, window)
    annotations.reset()  # ... when another folder opens (what the session does once it is indexed)
    assert annotations.current_uid is None and window.label_panel.note.toPlainText() == ""
    label = _saved_label(annotation_dir, demo_study.study_instance_uid)
    assert label["note"] == "Retropharyngeal node" and label["reviewer"] == "KL"
    assert annotations.study(demo_study.study_instance_uid).label.note == "Retropharyngeal node"


def test_typed_note_is_kept_when_the_current_study_switches(qtbot, demo_window, demo_study, annotation_dir) -> None:
    window = demo_window
    annotations = window.session.annotations
    _type_note_and_reviewer(qtbot, window)
    annotations.set_current_study(None)  # another viewport's study becomes current
    assert _saved_label(annotation_dir, demo_study.study_instance_uid)["note"] == "Retropharyngeal node"


def test_typed_note_is_kept_when_the_window_closes(qtbot, make_window, open_study, demo_study, annotation_dir) -> None:
    window = make_window()
    open_study(window, demo_study.root, expected_viewports=2)
    _type_note_and_reviewer(qtbot, window)
    at_shutdown: list[dict] = []
    shutdown = window.session.shutdown

    def recording_shutdown() -> None:
        # Stored before the window lets go of its annotations (and their lock), not by a
        # focus change after it.
        at_shutdown.append(_saved_label(annotation_dir, demo_study.study_instance_uid))
        shutdown()

    window.session.shutdown = recording_shutdown
    window.close()
    (label,) = at_shutdown
    assert label["note"] == "Retropharyngeal node" and label["reviewer"] == "KL"


def test_second_window_on_a_study_is_read_only(qtbot, make_window, open_study, demo_study, annotation_dir,
                                               artifacts_dir) -> None:
    first = make_window()
    open_study(first, demo_study.root, expected_viewports=2)
    roi = example_rois(demo_study)[0]
    assert first.session.annotations.add_roi(roi)
    saved = (annotation_dir / study_file_name(demo_study.study_instance_uid)).read_bytes()
    second = make_window()
    open_study(second, demo_study.root, expected_viewports=2)
    qtbot.waitUntil(lambda: second.error_box is not None, timeout=5000)
    assert second.error_box.text() == "Study open in another window"
    assert f"open in another NPC Desktop window (PID {os.getpid()})" in second.error_box.informativeText()
    assert "read-only" in second.error_box.informativeText()
    second.error_box.close()
    annotations = second.session.annotations
    assert [r.id for r in annotations.current.rois] == [roi.id]  # shown ...
    panel = second.label_panel
    assert not panel.isEnabled() and panel.status.text().startswith("Read-only: ")
    second.label_dock.grab().save(str(artifacts_dir / "label_panel_read_only.png"))
    problems: list[str] = []
    annotations.problem.connect(lambda title, message: problems.append(title))
    assert not annotations.add_roi(example_rois(demo_study)[1])  # ... but not editable
    assert not annotations.set_label(stage=Stage.IVA) and not annotations.delete_roi(roi.id)
    assert problems == ["Annotations are read-only"] * 3 and annotations.undo_stack.count() == 0
    assert (annotation_dir / study_file_name(demo_study.study_instance_uid)).read_bytes() == saved
    second.close()
    first.close()
    # Once the first window is gone, the study opens for editing again.
    third = make_window()
    open_study(third, demo_study.root, expected_viewports=2)
    assert third.label_panel.isEnabled() and third.error_box is None
    assert third.session.annotations.set_label(stage=Stage.III)
    third.close()


def _answer_conflict(qtbot, button_text: str, screenshot: Path) -> list[str]:
    """Click ``button_text`` in the conflict question as soon as it shows (after a screenshot);
    returns its text."""
    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "conflictBox":
            QTimer.singleShot(20, click)
            return
        seen.append(box.informativeText())
        box.grab().save(str(screenshot))
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, click)
    return seen


@pytest.mark.parametrize("keep_mine", [True, False], ids=["keep-mine", "load-other"])
def test_a_file_changed_by_another_program_is_not_overwritten(
    qtbot, demo_window, demo_study, annotation_dir, artifacts_dir, keep_mine: bool
) -> None:
    window = demo_window
    annotations = window.session.annotations
    uid = demo_study.study_instance_uid
    mine_roi, their_roi = example_rois(demo_study)[:2]
    assert annotations.add_roi(mine_roi)
    other = AnnotationStore(annotation_dir)  # another program, ignoring the lock
    theirs = other.load(uid).annotations
    theirs.remove(mine_roi.id)
    theirs.add(their_roi)
    other.save(theirs)
    path = annotation_dir / study_file_name(uid)
    their_bytes = path.read_bytes()
    qtbot.mouseClick(window.label_panel.stage_buttons[Stage.IVA], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    assert window.error_box.text() == "Annotations changed by another program"
    message = window.error_box.informativeText()
    (copy,) = annotation_dir.glob(path.stem + ".conflict-*.json")
    assert "changed by another program" in message and "kept in memory" in message and str(copy) in message
    assert path.read_bytes() == their_bytes  # theirs untouched, mine in memory and in the copy
    assert annotations.current.label.stage is Stage.IVA and annotations.has_unsaved
    assert json.loads(copy.read_text())["label"]["stage"] == "IVa"
    assert window.save_label.text().startswith("⚠ Annotations NOT saved")
    window.error_box.close()
    qtbot.waitUntil(lambda: window.error_box is None, timeout=5000)
    seen = _answer_conflict(qtbot, KEEP_MINE_TEXT if keep_mine else LOAD_OTHER_TEXT,
                            artifacts_dir / "annotation_conflict_question.png")
    window.save_annotations_now()  # Ctrl+S
    assert seen and str(copy) in seen[0]
    assert not annotations.has_unsaved and window.save_label.text() == ""
    on_disk = AnnotationStore(annotation_dir).load(uid).annotations
    if keep_mine:
        assert [r.id for r in on_disk.rois] == [mine_roi.id] and on_disk.label.stage is Stage.IVA
        kept = [p for p in annotation_dir.glob(path.stem + ".conflict-*.json") if p != copy]
        assert len(kept) == 1 and kept[0].read_bytes() == their_bytes
    else:
        assert path.read_bytes() == their_bytes
        assert [r.id for r in annotations.current.rois] == [their_roi.id]
        assert window.label_panel.stage_buttons[Stage.UNKNOWN].isChecked()
        assert [r["id"] for r in json.loads(copy.read_text())["rois"]] == [mine_roi.id]
        assert annotations.undo_stack.count() == 0
        assert annotations.set_label(stage=Stage.III)  # editing goes on, on their version
        assert AnnotationStore(annotation_dir).load(uid).annotations.label.stage is Stage.III
