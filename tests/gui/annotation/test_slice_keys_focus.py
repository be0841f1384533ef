"""After a click on a row of the ROI list (or on the kind chooser), the arrow, Page and Home/End
keys still move through the slices: the click shows the ROI and gives the keyboard back to the
viewer. Real clicks and key presses at 1600 x 1000."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.demo.example_rois import example_rois
from tests.gui.annotating import left_drag, widget_point
from tests.gui.interaction import at_user_size, press, row_point

pytestmark = pytest.mark.gui


def _click_row(qtbot, window, roi_id: str) -> None:
    tree = window.roi_list.tree
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=row_point(window, roi_id))


def test_keys_move_the_slices_after_a_list_click_in_two_up(qtbot, demo_window, demo_study, artifacts_dir) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    session = window.session
    annotations = session.annotations
    for roi in example_rois(demo_study):
        assert annotations.add_roi(roi)
    annotations.select(None)
    left, right = window.grid.viewports
    t1c_uid = left.state.volume.meta.series_instance_uid
    roi = next(r for r in annotations.current.rois if r.series_instance_uid == t1c_uid)
    kind_before = annotations.kind
    _click_row(qtbot, window, roi.id)
    start = left.state.slice_index
    assert left.state.volume.slices[start].sop_instance_uid == roi.sop_instance_uid
    assert annotations.selected_id == roi.id and session.active == 0
    qtbot.waitUntil(lambda: QApplication.focusWidget() is left.canvas, timeout=2000)
    right_before = right.state.slice_index
    press(qtbot, Qt.Key.Key_Down)
    assert left.state.slice_index == start + 1
    assert right.state.slice_index >= right_before  # synchronised by position
    press(qtbot, Qt.Key.Key_Up)
    press(qtbot, Qt.Key.Key_Up)
    assert left.state.slice_index == start - 1
    # The list kept its row and the drawing kind did not move with the keys.
    assert annotations.selected_id == roi.id
    assert window.roi_list.tree.currentItem() is window.roi_list.item_for(roi.id)
    assert annotations.kind is kind_before
    press(qtbot, Qt.Key.Key_PageDown)
    assert left.state.slice_index == min(start - 1 + 10, left.state.volume.shape[0] - 1)
    press(qtbot, Qt.Key.Key_End)
    assert left.state.slice_index == left.state.volume.shape[0] - 1
    press(qtbot, Qt.Key.Key_Home)
    assert left.state.slice_index == 0
    window.grab().save(str(artifacts_dir / "list_click_then_keys_two_up.png"))


def test_a_row_on_the_other_series_moves_that_viewport(qtbot, demo_window, demo_study) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    annotations = window.session.annotations
    for roi in example_rois(demo_study):
        assert annotations.add_roi(roi)
    left, right = window.grid.viewports
    t2_roi = next(r for r in annotations.current.rois if r.series_instance_uid == demo_study.series_uids["T2"])
    _click_row(qtbot, window, t2_roi.id)
    assert window.session.active == 1
    start = right.state.slice_index
    qtbot.waitUntil(lambda: QApplication.focusWidget() is right.canvas, timeout=2000)
    press(qtbot, Qt.Key.Key_Down)
    assert right.state.slice_index == start + 1
    assert annotations.selected_id == t2_roi.id


@pytest.mark.realdata
def test_keys_move_the_slices_after_a_list_click_on_tcia(qtbot, tcia_window) -> None:
    window = tcia_window
    at_user_size(qtbot, window)
    viewport = window.grid.viewports[0]
    annotations = window.session.annotations
    viewport.canvas.setFocus()
    press(qtbot, Qt.Key.Key_D)
    left_drag(qtbot, viewport, widget_point(viewport, 200, 200), widget_point(viewport, 240, 240))
    press(qtbot, Qt.Key.Key_PageDown)
    press(qtbot, Qt.Key.Key_N)
    left_drag(qtbot, viewport, widget_point(viewport, 300, 300), widget_point(viewport, 330, 330))
    first, second = annotations.current.rois
    assert (first.kind, second.kind) == (RoiKind.TUMOUR, RoiKind.LYMPH_NODE)
    _click_row(qtbot, window, first.id)
    assert viewport.state.slice_index == 60 and annotations.selected_id == first.id
    qtbot.waitUntil(lambda: QApplication.focusWidget() is viewport.canvas, timeout=2000)
    press(qtbot, Qt.Key.Key_Down)
    assert viewport.state.slice_index == 61
    assert annotations.selected_id == first.id and annotations.kind is RoiKind.LYMPH_NODE
    # The kind chooser in the toolbar does not keep the keyboard either.
    selector = window.kind_selector
    qtbot.mouseClick(selector, Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is not selector
    selector.hidePopup()
    press(qtbot, Qt.Key.Key_Up)
    assert viewport.state.slice_index == 60
    assert annotations.kind is RoiKind.LYMPH_NODE


def test_keys_move_the_slices_after_a_stage_click(qtbot, demo_window) -> None:
    """Clicking the stage sets it; the arrow keys then move the slice, not the stage."""
    from npc_desktop.core.annotation.labels import Stage

    window = demo_window
    at_user_size(qtbot, window)
    left = window.grid.viewports[0]
    left.canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is left.canvas, timeout=2000)
    start = left.state.slice_index
    qtbot.mouseClick(window.label_panel.stage_buttons[Stage.IVA], Qt.MouseButton.LeftButton)
    assert window.session.annotations.current.label.stage is Stage.IVA
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Down)
    assert left.state.slice_index == start + 2
    assert window.session.annotations.current.label.stage is Stage.IVA
    assert window.label_panel.stage_buttons[Stage.IVA].isChecked()
