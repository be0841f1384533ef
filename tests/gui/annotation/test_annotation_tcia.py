"""Annotating the real TCIA series with the mouse and keyboard: draw, kind, move, resize, undo,
redo, delete, the patient label, the ROI list, reopening, and a corrupt annotation file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from npc_desktop.core.annotation.labels import Stage
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.annotation.store import study_file_name
from npc_desktop.gui.state import Tool
from tests.gui.annotating import handle_point, left_drag, pixel_at, roi_centre_point, rounded_box, widget_point
from tests.gui.screens import grab

pytestmark = [pytest.mark.gui, pytest.mark.realdata]


def _viewport(window):
    return window.grid.viewports[0]


def _rois(window):
    return window.session.annotations.current.rois


def _close_error_box(qtbot, window) -> None:
    """Dismiss the warning and give the keyboard back to the main window (shortcuts need it)."""
    window.error_box.close()
    qtbot.waitUntil(lambda: window.error_box is None, timeout=5000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def _draw(qtbot, window, start: QPoint, end: QPoint):
    viewport = _viewport(window)
    if window.session.tool is not Tool.ROI:
        qtbot.keyClick(viewport.canvas, Qt.Key.Key_D)
    before = len(_rois(window))
    left_drag(qtbot, viewport, start, end)
    assert len(_rois(window)) == before + 1
    return _rois(window)[-1]


def _saved(annotation_dir: Path, study_uid: str) -> dict:
    return json.loads((annotation_dir / study_file_name(study_uid)).read_text(encoding="utf-8"))


def test_draw_a_roi_where_the_mouse_went(qtbot, tcia_window, annotation_dir, tcia_dir, artifacts_dir) -> None:
    window = tcia_window
    viewport = _viewport(window)
    canvas = viewport.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    assert window.session.tool is Tool.ROI and window.actions_by_name["tool_roi"].isChecked()
    start, end = widget_point(viewport, 180.3, 200.6), widget_point(viewport, 260.2, 250.4)
    expected = rounded_box(viewport, start, end)
    roi = _draw(qtbot, window, start, end)
    volume = viewport.state.volume
    assert roi.box == expected
    assert roi.kind is RoiKind.TUMOUR
    assert roi.sop_instance_uid == volume.slices[60].sop_instance_uid and roi.frame_number is None
    assert roi.series_instance_uid == volume.meta.series_instance_uid
    assert window.session.annotations.selected_id == roi.id
    # Pointing at the ROI's centre, the cursor readout gives the patient position SimpleITK gives
    # for that pixel of the same files: ROI, screen and patient geometry agree.
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tcia_dir)))
    image = reader.Execute()
    row, col = roi.centre
    qtbot.mouseMove(canvas.viewport(), roi_centre_point(viewport, roi))
    qtbot.wait(20)
    readout = window.cursor_label.text()
    # The readout is for the pixel under the pointer; its centre is (floor + 0.5) in edge coordinates.
    point = image.TransformContinuousIndexToPhysicalPoint((float(int(col)), float(int(row)), 60.0))
    x, y, z = (float(v) for v in readout.split(")")[0].strip("(").split(","))
    assert np.allclose((x, y, z), point, atol=0.06), (readout, point)
    # Listed with its series, slice and size in mm (0.41 mm pixels), and saved at once.
    rows = window.roi_list.row_texts()
    width_mm, height_mm = roi.width * volume.spacing[0], roi.height * volume.spacing[1]
    assert rows == [["Tumour", "61 / 120", f"{width_mm:.1f} × {height_mm:.1f} mm", "2  t1_mpr_tra_gk_v4"]]
    saved = _saved(annotation_dir, roi.study_instance_uid)
    assert [r["id"] for r in saved["rois"]] == [roi.id] and saved["rois"][0]["row0"] == roi.row0
    item = viewport.layers["rois"].items[roi.id]
    assert item.selected and item.editable and all(h["item"].isVisible() for h in item.handles)
    grab(viewport, artifacts_dir / "tcia_roi_drawn.png")
    window.grab().save(str(artifacts_dir / "tcia_roi_window.png"))


def test_kind_move_resize_undo_redo(qtbot, tcia_window, annotation_dir) -> None:
    window = tcia_window
    viewport = _viewport(window)
    canvas = viewport.canvas
    annotations = window.session.annotations
    roi = _draw(qtbot, window, widget_point(viewport, 200, 220), widget_point(viewport, 260, 270))
    drawn = roi.box
    qtbot.keyClick(canvas, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)  # the selected ROI becomes a lymph node
    assert _rois(window)[0].kind is RoiKind.LYMPH_NODE
    assert window.kind_selector.currentData() == "tumour"  # the next drawing's kind is not changed
    assert viewport.layers["rois"].items[roi.id].tag_text().startswith("Lymph node")
    # Move: drag the ROI's middle.
    start = roi_centre_point(viewport, _rois(window)[0])
    end = start + QPoint(45, 30)
    (c0, r0), (c1, r1) = pixel_at(viewport, start), pixel_at(viewport, end)
    left_drag(qtbot, viewport, start, end)
    moved = _rois(window)[0].box
    d_row, d_col = moved[0] - drawn[0], moved[1] - drawn[1]
    assert abs(d_row - (r1 - r0)) <= 0.5 and abs(d_col - (c1 - c0)) <= 0.5 and d_row > 0 and d_col > 0
    assert (moved[2] - moved[0], moved[3] - moved[1]) == (drawn[2] - drawn[0], drawn[3] - drawn[1])
    # Resize: drag the bottom-right handle out; the top-left corner stays.
    corner = handle_point(viewport, roi.id, (1.0, 1.0))
    left_drag(qtbot, viewport, corner, corner + QPoint(30, 40))
    resized = _rois(window)[0].box
    assert resized[:2] == moved[:2] and resized[2] > moved[2] + 5 and resized[3] > moved[3] + 5
    assert _saved(annotation_dir, roi.study_instance_uid)["rois"][0]["row1"] == resized[2]
    # Four separate undo steps, undone and redone one by one with the keyboard.
    stack = annotations.undo_stack
    assert [stack.text(i) for i in range(stack.count())] == [
        "Draw Tumour ROI", "Mark ROI as Lymph node", "Move ROI", "Resize ROI"]
    assert window.actions_by_name["undo"].text() == "Undo Resize ROI"
    undo = (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    redo = (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(canvas, *undo)
    assert _rois(window)[0].box == moved
    qtbot.keyClick(canvas, *undo)
    assert _rois(window)[0].box == drawn
    qtbot.keyClick(canvas, *undo)
    assert _rois(window)[0].kind is RoiKind.TUMOUR
    item = viewport.layers["rois"].items[roi.id]
    assert item.plane_rect()[2] > 0 and item.kind is RoiKind.TUMOUR  # the item follows the model
    qtbot.keyClick(canvas, *redo)
    qtbot.keyClick(canvas, *redo)
    assert _rois(window)[0].box == moved and _rois(window)[0].kind is RoiKind.LYMPH_NODE
    qtbot.keyClick(canvas, *redo)
    assert _rois(window)[0].box == resized
    assert _saved(annotation_dir, roi.study_instance_uid)["rois"][0]["row1"] == resized[2]
    qtbot.keyClick(canvas, *undo)
    qtbot.keyClick(canvas, *undo)
    qtbot.keyClick(canvas, *undo)
    qtbot.keyClick(canvas, *undo)
    assert len(_rois(window)) == 0 and not window.actions_by_name["undo"].isEnabled()
    assert viewport.layers["rois"].items == {}


def test_delete_with_key_and_menu_then_undo(qtbot, tcia_window) -> None:
    window = tcia_window
    viewport = _viewport(window)
    canvas = viewport.canvas
    first = _draw(qtbot, window, widget_point(viewport, 150, 150), widget_point(viewport, 200, 190))
    second = _draw(qtbot, window, widget_point(viewport, 300, 300), widget_point(viewport, 340, 350))
    # Clicking a ROI selects it.
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=roi_centre_point(viewport, first))
    assert window.session.annotations.selected_id == first.id
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert [r.id for r in _rois(window)] == [second.id]
    assert first.id not in viewport.layers["rois"].items
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [r.id for r in _rois(window)] == [first.id, second.id]
    assert _rois(window)[0] == first  # the same ROI, geometry and id
    assert window.session.annotations.selected_id == first.id
    # Right-click: the ROI's menu changes its kind or deletes it.
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.RightButton, pos=roi_centre_point(viewport, second))
    menu = viewport.layers["rois"].menu
    assert menu is not None and menu.isVisible()
    menu.findChild(type(menu.actions()[0]), "deleteRoi").trigger()
    menu.close()
    assert [r.id for r in _rois(window)] == [first.id]
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(_rois(window)) == 2


def test_roi_shows_only_on_its_slice(qtbot, tcia_window) -> None:
    window = tcia_window
    viewport = _viewport(window)
    roi = _draw(qtbot, window, widget_point(viewport, 200, 200), widget_point(viewport, 250, 250))
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_Down)
    assert viewport.state.slice_index == 61 and viewport.layers["rois"].items == {}
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_Up)
    assert list(viewport.layers["rois"].items) == [roi.id]
    gray = grab(viewport)
    top_left = widget_point(viewport, roi.col0, roi.row0)
    # The outline is painted in the tumour colour (orange-red is brighter than the blue channel).
    image = viewport.canvas.viewport().grab().toImage()
    colour = image.pixelColor(top_left.x() + 12, top_left.y())
    assert colour.red() > 200 and colour.blue() < 120, colour.name()
    assert gray.shape[0] > 100


def test_patient_label_panel(qtbot, tcia_window, annotation_dir) -> None:
    window = tcia_window
    panel = window.label_panel
    annotations = window.session.annotations
    assert panel.isEnabled() and panel.stage_buttons[Stage.UNKNOWN].isChecked()
    qtbot.mouseClick(panel.stage_buttons[Stage.IVA], Qt.MouseButton.LeftButton)
    assert annotations.current.label.stage is Stage.IVA
    qtbot.mouseClick(panel.reviewer, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.reviewer, "JD")
    qtbot.keyClick(panel.reviewer, Qt.Key.Key_Return)
    assert annotations.current.label.reviewer == "JD"
    qtbot.mouseClick(panel.note.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.note, "T4 extension to the skull base")
    assert annotations.current.label.note == ""  # not stored per keystroke
    qtbot.waitUntil(lambda: annotations.current.label.note == "T4 extension to the skull base", timeout=5000)
    stack = annotations.undo_stack
    assert [stack.text(i) for i in range(stack.count())] == ["Set Stage", "Set Reviewer", "Edit Note"]
    saved = _saved(annotation_dir, annotations.current_uid)["label"]
    assert saved["stage"] == "IVa" and saved["reviewer"] == "JD" and saved["note"].startswith("T4")
    # Typing more and undoing at once: the pending text is committed first, then undone.
    qtbot.keyClicks(panel.note, ", clivus")
    window.actions_by_name["undo"].trigger()
    assert annotations.current.label.note == "T4 extension to the skull base"
    assert panel.note.toPlainText() == "T4 extension to the skull base"
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert annotations.current.label.note == "" and annotations.current.label.reviewer is None
    assert panel.note.toPlainText() == "" and panel.reviewer.text() == ""
    window.actions_by_name["undo"].trigger()
    assert panel.stage_buttons[Stage.UNKNOWN].isChecked()


def test_list_click_jumps_to_the_slice(qtbot, tcia_window) -> None:
    window = tcia_window
    viewport = _viewport(window)
    roi = _draw(qtbot, window, widget_point(viewport, 200, 200), widget_point(viewport, 250, 250))
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_Home)
    qtbot.mouseClick(viewport.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(15, 15))  # background
    assert viewport.state.slice_index == 0 and window.session.annotations.selected_id is None
    tree = window.roi_list.tree
    rect = tree.visualItemRect(window.roi_list.item_for(roi.id))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert viewport.state.slice_index == 60 and viewport.slider.value() == 60
    assert window.session.annotations.selected_id == roi.id and roi.id in viewport.layers["rois"].items


def test_patch_preview_uses_the_core_crop(qtbot, tcia_window) -> None:
    from npc_desktop.core.annotation.patches import ContextMargin
    from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing, prepare_patch

    window = tcia_window
    viewport = _viewport(window)
    roi = _draw(qtbot, window, widget_point(viewport, 200, 200), widget_point(viewport, 260, 240))
    preview = window.session.patch_preview
    volume = viewport.state.volume
    core = prepare_patch(volume, roi, margin=ContextMargin(fraction=0.2))
    raw = prepare_patch(volume, roi, margin=ContextMargin(fraction=0.2), preprocessing=PatchPreprocessing(clahe=False))
    assert np.array_equal(preview.enhanced, core.image) and np.array_equal(preview.raw, raw.image)
    assert not window.patch_panel.enhanced.pixmap().isNull()
    panel = window.patch_panel
    panel.fraction.setValue(50)
    wider = window.session.patch_preview
    assert wider.size_px == (round(roi.height * 2), round(roi.width * 2))
    assert "margin 50 %" in panel.caption.text()
    # A ROI at the image edge: the patch is cut there, and the caption says so.
    edge = _draw(qtbot, window, widget_point(viewport, 1, 200), widget_point(viewport, 40, 240))
    assert edge.col0 == 1.0 and edge.width == 39.0
    assert "cut at the left edge" in panel.caption.text()
    # Half the width (19.5 px) on each side: 0 to ceil(40 + 19.5) after clipping at column 0.
    assert window.session.patch_preview.enhanced.shape[1] == 60


def test_reopen_shows_the_rois_again(qtbot, make_window, open_study, tcia_dir, annotation_dir) -> None:
    window = make_window()
    open_study(window, tcia_dir)
    viewport = _viewport(window)
    roi = _draw(qtbot, window, widget_point(viewport, 200, 200), widget_point(viewport, 250, 250))
    qtbot.mouseClick(window.label_panel.stage_buttons[Stage.III], Qt.MouseButton.LeftButton)
    window.close()
    again = make_window()
    open_study(again, tcia_dir)
    viewport = _viewport(again)
    assert [r.id for r in _rois(again)] == [roi.id] and _rois(again)[0].box == roi.box
    assert list(viewport.layers["rois"].items) == [roi.id]
    assert again.label_panel.stage_buttons[Stage.III].isChecked()
    assert len(again.roi_list.row_texts()) == 1
    again.close()


def test_corrupt_annotation_file_is_reported_and_kept(qtbot, main_window, open_study, tcia_dir,
                                                      annotation_dir) -> None:
    import pydicom

    study_uid = str(pydicom.dcmread(next(tcia_dir.glob("*.dcm")), stop_before_pixels=True).StudyInstanceUID)
    annotation_dir.mkdir(parents=True)
    path = annotation_dir / study_file_name(study_uid)
    path.write_bytes(b'{"format": "npc-desktop.annotations", truncated')
    window = main_window
    open_study(window, tcia_dir)
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    assert "cannot be read" in window.error_box.informativeText()
    assert str(path) in window.error_box.informativeText()
    moved = list(annotation_dir.glob(path.name + ".corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes().endswith(b"truncated")
    texts = [window.messages.topLevelItem(i).text(1) for i in range(window.messages.topLevelItemCount())]
    assert any("cannot be read" in t for t in texts) and window.messages_dock.isVisible()
    _close_error_box(qtbot, window)
    viewport = _viewport(window)
    roi = _draw(qtbot, window, widget_point(viewport, 200, 200), widget_point(viewport, 250, 250))
    assert [r["id"] for r in _saved(annotation_dir, study_uid)["rois"]] == [roi.id]
    assert moved[0].read_bytes().endswith(b"truncated")  # never overwritten


def test_save_failure_keeps_the_edit_and_recovers(qtbot, make_window, open_study, tcia_dir, tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the annotation folder's parent should be")
    window = make_window(blocker / "annotations")
    open_study(window, tcia_dir)
    viewport = _viewport(window)
    roi = _draw(qtbot, window, widget_point(viewport, 200, 200), widget_point(viewport, 250, 250))
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    assert window.error_box.text() == "Annotations not saved"
    assert "kept in memory" in window.error_box.informativeText()
    assert window.save_label.text().startswith("⚠ Annotations NOT saved")
    assert _rois(window)[0] == roi and window.session.annotations.has_unsaved
    _close_error_box(qtbot, window)
    blocker.unlink()  # the folder can be made again: Ctrl+S retries
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not window.session.annotations.has_unsaved and window.save_label.text() == ""
    assert [r["id"] for r in _saved(blocker / "annotations", roi.study_instance_uid)["rois"]] == [roi.id]
    QApplication.processEvents()
    window.close()
