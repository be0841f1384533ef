"""Measurement tools on the demo two-up with real drags, clicks and keys: a ruler, a node's long and
short axes, the cricoid level on both viewports, handles, deletion, undo/redo and reopening."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtWidgets import QApplication

from npc_desktop.core.annotation.measurements import NodeAxes, Ruler
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.gui.state import Tool
from npc_desktop.gui.viewer.box_geometry import pixel_box_to_plane
from tests.gui.annotating import left_drag, pixel_at, widget_point
from tests.gui.annotation.measuring import (
    choose_tool,
    click_image,
    draw_line,
    item_handle_point,
    line_middle_point,
)
from tests.gui.screens import drag

pytestmark = pytest.mark.gui


@pytest.fixture
def annotated_demo(demo_window, demo_study):
    """The demo two-up with its example ROIs."""
    annotations = demo_window.session.annotations
    for roi in example_rois(demo_study):
        assert annotations.add_roi(roi)
    annotations.select(None)
    return demo_window


def _set(window):
    return window.session.annotations.current


def _status(window) -> str:
    return window.statusBar().currentMessage()


def _close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return math.isclose(a[0], b[0], abs_tol=1e-6) and math.isclose(a[1], b[1], abs_tol=1e-6)


def test_ruler_reads_its_length_live_and_undoes(qtbot, demo_window, artifacts_dir) -> None:
    window = demo_window
    left = window.grid.viewports[0]
    window.resize(1600, 1000)
    choose_tool(qtbot, window, left, "ruler")
    assert window.actions_by_name["tool_ruler"].isChecked()
    # Halfway through the drag the rubber line already reads the length under the mouse.
    canvas = left.canvas.viewport()
    start, end = widget_point(left, 60.3, 70.2), widget_point(left, 150.6, 120.4)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 5):
        qtbot.wait(12)
        qtbot.mouseMove(canvas, start + (end - start) * i / 8)
    drawing = left.layers["measurements"].drawing
    (c0, r0), (c1, r1) = pixel_at(left, start), pixel_at(left, start + (end - start) * 4 / 8)
    live = Ruler(study_instance_uid="1.2", series_instance_uid="1.2", sop_instance_uid="1.2",
                 start=(r0, c0), end=(r1, c1)).length_mm(pixel_spacing(left.state.volume))
    assert drawing.label.isVisible() and drawing.label.textItem.toPlainText() == f"{live:.1f} mm"
    for i in range(5, 9):
        qtbot.wait(12)
        qtbot.mouseMove(canvas, start + (end - start) * i / 8)
    qtbot.wait(12)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    QApplication.processEvents()
    (ruler,) = _set(window).rulers
    (c0, r0), (c1, r1) = pixel_at(left, start), pixel_at(left, end)
    assert _close(ruler.start, (r0, c0)) and _close(ruler.end, (r1, c1))
    volume = left.state.volume
    assert ruler.sop_instance_uid == volume.slices[left.state.slice_index].sop_instance_uid
    length = ruler.length_mm(pixel_spacing(volume))
    item = left.layers["measurements"].items[(ruler.id, "ruler")]
    assert item.text() == f"{length:.1f} mm"
    assert window.session.annotations.selected_measurement_id == ruler.id
    assert window.roi_list.measurements.row_texts() == [
        ["Ruler 1", f"{length:.1f} mm", f"{left.state.slice_index + 1} / {volume.shape[0]}",
         window.roi_list.measurements.row_texts()[0][3]]]
    left.canvas.viewport().grab().save(str(artifacts_dir / "measure_ruler_demo.png"))
    window.grab().save(str(artifacts_dir / "measure_ruler_window.png"))
    qtbot.keyClick(left.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _set(window).rulers == () and not left.layers["measurements"].items
    qtbot.keyClick(left.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert _set(window).rulers == (ruler,)
    assert (ruler.id, "ruler") in left.layers["measurements"].items


def test_node_axes_refused_without_a_node_then_drawn_perpendicular(qtbot, annotated_demo, demo_study,
                                                                    artifacts_dir) -> None:
    window = annotated_demo
    left = window.grid.viewports[0]
    window.resize(1600, 1000)
    session, annotations = window.session, window.session.annotations
    node = next(r for r in _set(window).rois if r.kind is RoiKind.LYMPH_NODE
                and r.series_instance_uid == left.state.volume.meta.series_instance_uid)
    session.show_roi(node.id)
    annotations.select(None)
    choose_tool(qtbot, window, left, "node_axes")
    row, col = node.centre
    draw_line(qtbot, left, (8, 8), (40, 12))  # on no ROI, with none selected
    assert "select a lymph-node ROI" in _status(window) and _set(window).node_axes == ()
    tumour = next(r for r in _set(window).rois if r.kind is RoiKind.TUMOUR)
    session.show_roi(tumour.id)
    annotations.select(None)
    # A drag that starts on a ROI selects it: on the tumour, the axes are refused naming why.
    draw_line(qtbot, left, (tumour.col0 + 1, tumour.centre[0]), (tumour.col1 - 1, tumour.centre[0]))
    assert annotations.selected_id == tumour.id
    assert "outlines a tumour" in _status(window) and _set(window).node_axes == ()
    # The node, from its row in the ROI list: the long axis, then a slanted drag for the short one.
    tree = window.roi_list.tree
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(window.roi_list.item_for(node.id)).center())
    assert annotations.selected_id == node.id and session.tool is Tool.NODE_AXES
    long_start, long_end = draw_line(qtbot, left, (node.col0 + 1, node.row0 + 2), (node.col1 - 1, node.row1 - 2))
    assert "now drag the short axis" in _status(window) and _set(window).node_axes == ()
    short_start, _ = draw_line(qtbot, left, (node.centre[1] + 3, node.centre[0] - 4),
                               (node.centre[1] - 2, node.centre[0] + 5))
    (axes,) = _set(window).node_axes
    assert axes.roi_id == node.id and axes.sop_instance_uid == node.sop_instance_uid
    assert _close(axes.long_axis.start, long_start) and _close(axes.long_axis.end, long_end)
    assert _close(axes.short_axis.start, short_start) and abs(axes.angle_deg - 90.0) < 1e-6
    assert annotations.selected_measurement_id == axes.id and annotations.selected_id is None
    layer = left.layers["measurements"]
    assert layer.items[(axes.id, "long")].text() == f"L {axes.long_mm:.1f} mm"
    assert layer.items[(axes.id, "short")].text() == f"S {axes.short_mm:.1f} mm"
    node_number = [r.id for r in _set(window).rois if r.kind is RoiKind.LYMPH_NODE].index(node.id) + 1
    (row_text,) = window.roi_list.measurements.row_texts()
    assert row_text[:2] == [f"Node axes (node {node_number})", f"{axes.long_mm:.1f} × {axes.short_mm:.1f} mm"]
    window.grab().save(str(artifacts_dir / "measure_node_axes_window.png"))
    x, y, width, height = pixel_box_to_plane(left.state.volume, node.box)
    left.canvas.view_box.setRange(rect=QRectF(x - width, y - height, 3 * width, 3 * height), padding=0.0)
    left.canvas.viewport().grab().save(str(artifacts_dir / "measure_node_axes_demo.png"))
    # A second pair on the same node is refused; undo removes the pair in one step.
    left.canvas.fit()
    qtbot.wait(50)
    session.show_roi(node.id)
    draw_line(qtbot, left, (8, 8), (40, 12))
    assert "has its axes already" in _status(window) and len(_set(window).node_axes) == 1
    window.actions_by_name["undo"].trigger()
    assert _set(window).node_axes == ()


def test_a_short_axis_longer_than_the_long_one_keeps_nothing(qtbot, annotated_demo) -> None:
    window = annotated_demo
    left = window.grid.viewports[0]
    node = next(r for r in _set(window).rois if r.kind is RoiKind.LYMPH_NODE
                and r.series_instance_uid == left.state.volume.meta.series_instance_uid)
    window.session.show_roi(node.id)
    choose_tool(qtbot, window, left, "node_axes")
    row, col = node.centre
    draw_line(qtbot, left, (col - 2, row), (col + 2, row))
    draw_line(qtbot, left, (col, row - 10), (col, row + 10))
    assert _status(window).startswith("Node axes not kept: short_axis: is longer")
    assert _set(window).node_axes == () and window.session.annotations.undo_stack.count() == 5
    assert left.layers["measurements"].drawing.long_axis is None  # nothing half-made is kept


def test_cricoid_level_on_both_viewports_replaced_in_one_undo_step(qtbot, demo_window, artifacts_dir) -> None:
    window = demo_window
    window.resize(1600, 1000)
    left, right = window.grid.viewports
    annotations = window.session.annotations
    choose_tool(qtbot, window, left, "cricoid")
    first_slice = left.state.slice_index
    row, col = click_image(qtbot, left, 90.4, 140.6)
    level = _set(window).cricoid_level
    volume = left.state.volume
    expected = volume.index_to_patient(first_slice, row - 0.5, col - 0.5)
    assert level is not None and level.sop_instance_uid == volume.slices[first_slice].sop_instance_uid
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(level.position, expected))
    other = right.state.volume
    assert left.slider.marks["cricoid"].slice_index == first_slice
    assert right.slider.marks["cricoid"].slice_index == other.nearest_slice(level.position)
    assert left.layers["measurements"].cricoid.line.isVisible()
    assert "Cricoid level on this image" in left.canvas.shown_corners()["bl"]
    assert window.roi_list.measurements.row_texts()[-1][:2] == ["Cricoid level", f"z {level.superior_mm:.1f} mm"]
    left.canvas.viewport().grab().save(str(artifacts_dir / "measure_cricoid_demo.png"))
    window.grab().save(str(artifacts_dir / "measure_cricoid_window.png"))
    # Marked again four slices further: the study keeps one level, and one undo brings back the first.
    for _ in range(4):
        qtbot.keyClick(left.canvas, Qt.Key.Key_Down)
    assert not left.layers["measurements"].cricoid.line.isVisible()
    assert f"Cricoid level: Im {first_slice + 1}" in left.canvas.shown_corners()["bl"]
    click_image(qtbot, left, 90.4, 140.6)
    moved = _set(window).cricoid_level
    assert moved.id == level.id and moved.position != level.position
    assert left.slider.marks["cricoid"].slice_index == first_slice + 4
    assert right.slider.marks["cricoid"].slice_index == other.nearest_slice(moved.position)
    assert annotations.undo_stack.undoText() == "Move Cricoid Level"
    window.actions_by_name["undo"].trigger()
    assert _set(window).cricoid_level == level
    assert left.slider.marks["cricoid"].slice_index == first_slice
    window.actions_by_name["undo"].trigger()
    assert _set(window).cricoid_level is None and "cricoid" not in right.slider.marks


def test_move_a_handle_then_delete_with_the_key_and_the_menu(qtbot, demo_window) -> None:
    window = demo_window
    left = window.grid.viewports[0]
    annotations = window.session.annotations
    choose_tool(qtbot, window, left, "ruler")
    draw_line(qtbot, left, (60, 60), (120, 60))
    (ruler,) = _set(window).rulers
    handle = item_handle_point(left, ruler.id, "ruler", 1)
    left_drag(qtbot, left, handle, handle + QPoint(0, 40))
    (moved,) = _set(window).rulers
    assert _close(moved.start, ruler.start) and moved.end[0] > ruler.end[0] + 5
    assert annotations.undo_stack.undoText() == "Move Ruler"
    item = left.layers["measurements"].items[(ruler.id, "ruler")]
    assert item.text() == f"{moved.length_mm(pixel_spacing(left.state.volume)):.1f} mm"
    # Dragging the line's body moves the whole ruler.
    middle = line_middle_point(left, ruler.id, "ruler")
    drag(qtbot, left.canvas.viewport(), Qt.MouseButton.LeftButton, middle, QPoint(25, 0))
    (shifted,) = _set(window).rulers
    assert shifted.start[1] > moved.start[1] + 3 and math.isclose(shifted.length_mm(pixel_spacing(left.state.volume)),
                                                                  moved.length_mm(pixel_spacing(left.state.volume)),
                                                                  rel_tol=1e-6)
    window.actions_by_name["undo"].trigger()
    window.actions_by_name["undo"].trigger()
    assert _set(window).rulers == (ruler,)
    annotations.select_measurement(ruler.id)
    qtbot.keyClick(left.canvas, Qt.Key.Key_Delete)
    assert _set(window).rulers == ()
    window.actions_by_name["undo"].trigger()
    assert _set(window).rulers == (ruler,)
    panel = window.roi_list.measurements
    tree = panel.tree
    tree.customContextMenuRequested.emit(tree.visualItemRect(panel.item_for(ruler.id)).center())
    (delete,) = [a for a in panel.menu.actions() if a.objectName() == "deleteMeasurement"]
    assert delete.text() == "Delete Ruler"
    delete.trigger()
    assert _set(window).rulers == ()


def test_measurements_survive_reopening(qtbot, make_window, open_study, demo_study) -> None:
    window = make_window()
    open_study(window, demo_study.root, expected_viewports=2)
    left = window.grid.viewports[0]
    choose_tool(qtbot, window, left, "ruler")
    draw_line(qtbot, left, (60, 60), (120, 90))
    choose_tool(qtbot, window, left, "cricoid")
    click_image(qtbot, left, 100, 150)
    saved = _set(window)
    ruler, level = saved.rulers[0], saved.cricoid_level
    window.close()
    again = make_window()
    open_study(again, demo_study.root, expected_viewports=2)
    reopened = _set(again)
    assert reopened.rulers == (ruler,) and reopened.cricoid_level == level
    assert [r[0] for r in again.roi_list.measurements.row_texts()] == ["Ruler 1", "Cricoid level"]
    assert again.grid.viewports[1].slider.marks["cricoid"].slice_index >= 0


def test_measurement_tools_are_listed_and_their_keys_are_free(qtbot, demo_window) -> None:
    from npc_desktop.gui.actions import ACTIONS, shortcut_rows

    keys = [key for spec in ACTIONS for key in spec.keys]
    assert len(keys) == len(set(keys))
    rows = shortcut_rows()
    for text in ("Measure Distance", "Node Axes (Long × Short)", "Mark Cricoid Level"):
        assert any(row[2] == text and row[0] == "Mouse tools" for row in rows)
    tools_menu = next(a.menu() for a in demo_window.menuBar().actions() if a.text() == "&Tools")
    names = [a.objectName() for a in tools_menu.actions()]
    assert names[-3:] == ["tool_ruler", "tool_node_axes", "tool_cricoid"]
    toolbar_names = [a.objectName() for a in demo_window.toolbar.actions()]
    assert {"tool_ruler", "tool_node_axes", "tool_cricoid"} <= set(toolbar_names)
    left = demo_window.grid.viewports[0]
    qtbot.keyClick(left.canvas, Qt.Key.Key_D)
    assert demo_window.session.tool is Tool.ROI
    choose_tool(qtbot, demo_window, left, "node_axes")
    assert not demo_window.actions_by_name["tool_roi"].isChecked()


def test_dragging_an_axis_end_keeps_the_axes_perpendicular(qtbot, annotated_demo) -> None:
    window = annotated_demo
    left = window.grid.viewports[0]
    annotations = window.session.annotations
    node = next(r for r in _set(window).rois if r.kind is RoiKind.LYMPH_NODE
                and r.series_instance_uid == left.state.volume.meta.series_instance_uid)
    window.session.show_roi(node.id)
    row, col = node.centre
    axes = NodeAxes(study_instance_uid=node.study_instance_uid, series_instance_uid=node.series_instance_uid,
                    sop_instance_uid=node.sop_instance_uid, frame_number=node.frame_number, roi_id=node.id,
                    long_axis=((row, node.col0 + 0.5), (row, node.col1 - 0.5)),
                    short_axis=((node.row0 + 2.5, col), (node.row1 - 2.5, col)),
                    pixel_spacing=pixel_spacing(left.state.volume))
    assert annotations.add_measurement(axes)
    choose_tool(qtbot, window, left, "node_axes")
    x, y, width, height = pixel_box_to_plane(left.state.volume, node.box)
    left.canvas.view_box.setRange(rect=QRectF(x - width, y - height, 3 * width, 3 * height), padding=0.0)
    qtbot.wait(50)
    handle = item_handle_point(left, axes.id, "long", 1)
    left_drag(qtbot, left, handle, handle + QPoint(0, 40))  # the long axis turns
    (turned,) = _set(window).node_axes
    assert turned.long_axis.end[0] > axes.long_axis.end[0] + 1
    assert abs(turned.angle_deg - 90.0) < 1e-6 and math.isclose(turned.short_mm, axes.short_mm, rel_tol=1e-9)
    assert annotations.undo_stack.undoText() == "Move Node Axes"
    layer = left.layers["measurements"]
    assert layer.items[(axes.id, "long")].text() == f"L {turned.long_mm:.1f} mm"
    window.actions_by_name["undo"].trigger()
    assert _set(window).node_axes == (axes,)


def test_a_read_only_study_refuses_measurements(qtbot, make_window, open_study, demo_study, annotation_dir) -> None:
    from npc_desktop.core.annotation.store import study_file_name

    first = make_window()
    open_study(first, demo_study.root, expected_viewports=2)
    choose_tool(qtbot, first, first.grid.viewports[0], "ruler")
    draw_line(qtbot, first.grid.viewports[0], (50, 60), (140, 95))
    (ruler,) = _set(first).rulers
    saved = (annotation_dir / study_file_name(demo_study.study_instance_uid)).read_bytes()
    second = make_window()
    open_study(second, demo_study.root, expected_viewports=2)
    qtbot.waitUntil(lambda: second.error_box is not None, timeout=5000)
    second.error_box.close()
    left = second.grid.viewports[0]
    annotations = second.session.annotations
    problems: list[str] = []
    annotations.problem.connect(lambda title, message: problems.append(title))
    second.actions_by_name["tool_ruler"].trigger()
    draw_line(qtbot, left, (40, 40), (120, 120))
    second.actions_by_name["tool_cricoid"].trigger()
    click_image(qtbot, left, 100, 150)
    assert not annotations.delete_measurement(ruler.id)
    assert problems == ["Annotations are read-only"] * 3 and annotations.undo_stack.count() == 0
    assert _set(second).rulers == (ruler,) and _set(second).cricoid_level is None
    assert (annotation_dir / study_file_name(demo_study.study_instance_uid)).read_bytes() == saved
    second.close()
    first.close()
