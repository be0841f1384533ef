"""T and N choose the kind of the next drawing only; a drawn ROI changes kind only by an explicit
command (Shift+T / Shift+N, the ROI's menu on the image, the ROI list's menu), announced in the
status bar and undoable. Driven with real keys and mouse clicks at 1600 x 1000."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from npc_desktop.core.annotation.rois import RoiKind
from tests.gui.annotating import left_drag, roi_centre_point, widget_point
from tests.gui.interaction import at_user_size, choose_in_menu, context_click, press, row_point

pytestmark = pytest.mark.gui

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def _rois(window):
    return window.session.annotations.current.rois


def _status(window) -> str:
    return window.statusBar().currentMessage()


def _draw(qtbot, window, viewport, corner: tuple[float, float], size: float = 30.0):
    before = len(_rois(window))
    col, row = corner
    left_drag(qtbot, viewport, widget_point(viewport, col, row), widget_point(viewport, col + size, row + size))
    assert len(_rois(window)) == before + 1
    return _rois(window)[-1]


def test_t_and_n_choose_the_next_drawing_only_in_two_up(qtbot, demo_window, artifacts_dir) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    annotations = window.session.annotations
    left = window.grid.viewports[0]
    assert window.session.layout == 2
    left.canvas.setFocus()
    press(qtbot, Qt.Key.Key_D)
    tumour = _draw(qtbot, window, left, (60, 60))
    assert tumour.kind is RoiKind.TUMOUR and annotations.selected_id == tumour.id
    # N with the tumour still selected: the tumour stays a tumour, the next drawing is a node.
    press(qtbot, Qt.Key.Key_N)
    assert _rois(window)[0].kind is RoiKind.TUMOUR
    assert annotations.kind is RoiKind.LYMPH_NODE
    assert window.kind_selector.currentData() == "lymph_node"
    assert annotations.undo_stack.count() == 1  # nothing to undo but the drawing
    assert _status(window) == "Next ROI: lymph node (drawn ROIs unchanged)"
    node = _draw(qtbot, window, left, (150, 150), 20)
    assert node.kind is RoiKind.LYMPH_NODE
    assert window.roi_list.summary.text() == "2 ROIs in this study: 1 tumour, 1 lymph node"
    # T with the node selected: the node stays a node.
    press(qtbot, Qt.Key.Key_T)
    assert [r.kind for r in _rois(window)] == [RoiKind.TUMOUR, RoiKind.LYMPH_NODE]
    assert annotations.kind is RoiKind.TUMOUR
    # Selecting a ROI does not change the kind of the next drawing either.
    qtbot.mouseClick(left.canvas.viewport(), Qt.MouseButton.LeftButton, pos=roi_centre_point(left, node))
    assert annotations.selected_id == node.id and annotations.kind is RoiKind.TUMOUR
    # Shift+T re-labels the selected node explicitly: announced, one undo step.
    press(qtbot, Qt.Key.Key_T, SHIFT)
    assert [r.kind for r in _rois(window)] == [RoiKind.TUMOUR, RoiKind.TUMOUR]
    assert _status(window) == "ROI: lymph node → tumour (Ctrl+Z undoes)"
    assert window.roi_list.summary.text() == "2 ROIs in this study: 2 tumour"
    assert left.layers["rois"].items[node.id].tag_text() == "Tumour"
    window.grab().save(str(artifacts_dir / "kind_relabel_two_up.png"))
    press(qtbot, Qt.Key.Key_Z, CTRL)
    assert [r.kind for r in _rois(window)] == [RoiKind.TUMOUR, RoiKind.LYMPH_NODE]
    # Shift+N on a ROI that already is a node says so and changes nothing.
    press(qtbot, Qt.Key.Key_N, SHIFT)
    assert _status(window) == "The selected ROI is already a lymph node"
    assert annotations.undo_stack.count() == 3  # draw, draw, (undone) re-label


def test_roi_menus_change_the_kind_with_an_announcement(qtbot, demo_window) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    annotations = window.session.annotations
    left = window.grid.viewports[0]
    left.canvas.setFocus()
    press(qtbot, Qt.Key.Key_D)
    tumour = _draw(qtbot, window, left, (60, 60))
    # The ROI's own menu on the image.
    qtbot.mouseClick(left.canvas.viewport(), Qt.MouseButton.RightButton, pos=roi_centre_point(left, tumour))
    choose_in_menu(qtbot, left.layers["rois"].menu, "Lymph node")
    assert _rois(window)[0].kind is RoiKind.LYMPH_NODE
    assert _status(window) == "ROI: tumour → lymph node (Ctrl+Z undoes)"
    assert annotations.kind is RoiKind.TUMOUR  # the next drawing is still a tumour
    # The ROI list's menu.
    tree = window.roi_list.tree
    context_click(qtbot, tree.viewport(), row_point(window, tumour.id))
    menu = window.roi_list.menu
    assert menu is not None
    choose_in_menu(qtbot, menu, "Tumour")
    assert _rois(window)[0].kind is RoiKind.TUMOUR
    assert _status(window) == "ROI: lymph node → tumour (Ctrl+Z undoes)"
    assert [annotations.undo_stack.text(i) for i in range(annotations.undo_stack.count())] == [
        "Draw Tumour ROI", "Mark ROI as Lymph node", "Mark ROI as Tumour"]


@pytest.mark.realdata
def test_n_keeps_the_drawn_tumour_on_the_tcia_series(qtbot, tcia_window) -> None:
    window = tcia_window
    at_user_size(qtbot, window)
    viewport = window.grid.viewports[0]
    viewport.canvas.setFocus()
    press(qtbot, Qt.Key.Key_D)
    tumour = _draw(qtbot, window, viewport, (200, 220), 50)
    press(qtbot, Qt.Key.Key_N)
    assert _rois(window)[0].kind is RoiKind.TUMOUR
    node = _draw(qtbot, window, viewport, (300, 300), 25)
    assert node.kind is RoiKind.LYMPH_NODE
    assert window.roi_list.row_texts()[0][0] == "Tumour" and window.roi_list.row_texts()[1][0] == "Lymph node"
    # With nothing selected, Shift+N explains what it needs instead of doing nothing silently.
    qtbot.mouseClick(viewport.canvas.viewport(), Qt.MouseButton.LeftButton, pos=widget_point(viewport, 40, 40))
    assert window.session.annotations.selected_id is None
    press(qtbot, Qt.Key.Key_N, SHIFT)
    assert _status(window).startswith("No ROI selected")
    assert [r.kind for r in _rois(window)] == [RoiKind.TUMOUR, RoiKind.LYMPH_NODE]
    assert tumour.id == _rois(window)[0].id
