"""The TNM dock follows the measurement tools: node axes drawn over 60 mm and a cricoid level marked
above a node turn N into N3 at once, and undoing them brings N back."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RoiKind
from tests.gui.annotation.measuring import choose_tool, click_image, draw_line
from tests.gui.tnm.tnm_helpers import choose, open_tnm, reasons_text, value_text

pytestmark = pytest.mark.gui


def _left_node(window: Any) -> Any:
    left = window.grid.viewports[0]
    series = left.state.volume.meta.series_instance_uid
    return next(r for r in window.session.annotations.current.rois
                if r.kind is RoiKind.LYMPH_NODE and r.series_instance_uid == series)


def _all_left(qtbot: Any, panel: Any) -> None:
    for box in panel.nodes.side_boxes.values():
        choose(qtbot, panel, box, "left")
    assert value_text(panel, "N") == "N1"


def test_node_axes_over_60_mm_give_n3_in_the_dock(qtbot: Any, demo_window: Any, demo_study: Any) -> None:
    window = demo_window
    window.resize(1600, 1000)
    panel = open_tnm(window, demo_study)
    _all_left(qtbot, panel)
    left = window.grid.viewports[0]
    node = _left_node(window)
    window.session.show_roi(node.id)
    choose_tool(qtbot, window, left, "node_axes")
    row, col = node.centre
    row_mm, col_mm = pixel_spacing(left.state.volume)
    reach = 66.0 / col_mm  # pixels for a long axis of about 66 mm (the drag ends about where asked)
    # A drag that starts on the node selects it; the long axis runs past the box, then the short one.
    draw_line(qtbot, left, (col - reach / 2, row), (col + reach / 2, row))
    draw_line(qtbot, left, (col, row - 3), (col, row + 3))
    (axes,) = window.session.annotations.current.node_axes
    assert axes.roi_id == node.id and axes.long_mm > 60.0
    QApplication.processEvents()
    assert value_text(panel, "N") == "N3"
    size = f"{axes.long_mm:.1f}".rstrip("0").rstrip(".")
    assert f"axial long axis {size} mm > 60 mm" in reasons_text(panel, "N")
    window.actions_by_name["undo"].trigger()
    QApplication.processEvents()
    assert window.session.annotations.current.node_axes == ()
    assert value_text(panel, "N") == "N1"


def test_marking_the_cricoid_above_a_node_gives_n3_in_the_dock(qtbot: Any, demo_window: Any,
                                                              demo_study: Any) -> None:
    window = demo_window
    window.resize(1600, 1000)
    panel = open_tnm(window, demo_study)
    _all_left(qtbot, panel)
    left = window.grid.viewports[0]
    node = _left_node(window)
    window.session.show_roi(node.id)
    volume = left.state.volume
    node_slice = left.state.slice_index
    z = [volume.index_to_patient(float(i), 0.0, 0.0)[2] for i in range(volume.shape[0])]
    # Three slices towards the head from the node's slice, whichever way the slices run.
    step = 1 if z[-1] > z[0] else -1
    key = Qt.Key.Key_Down if step == 1 else Qt.Key.Key_Up
    choose_tool(qtbot, window, left, "cricoid")
    for _ in range(3):
        qtbot.keyClick(left.canvas, key)
    QApplication.processEvents()
    assert left.state.slice_index == node_slice + 3 * step
    click_image(qtbot, left, 20.0, 20.0)
    level = window.session.annotations.current.cricoid_level
    assert level is not None and level.superior_mm > z[node_slice]
    QApplication.processEvents()
    assert value_text(panel, "N") == "N3"
    assert "lies below the caudal border of the cricoid cartilage" in reasons_text(panel, "N")
    window.actions_by_name["undo"].trigger()
    QApplication.processEvents()
    assert value_text(panel, "N") == "N1"


def test_a_node_on_a_series_not_on_screen_reads_as_the_command_line_does(
        qtbot: Any, demo_window: Any, demo_study: Any) -> None:
    from npc_desktop.core.tnm.study import assess_study

    window = demo_window
    window.resize(1600, 1000)
    panel = open_tnm(window, demo_study)
    _all_left(qtbot, panel)
    left = window.grid.viewports[0]
    node = _left_node(window)
    window.session.show_roi(node.id)
    volume = left.state.volume
    z = [volume.index_to_patient(float(i), 0.0, 0.0)[2] for i in range(volume.shape[0])]
    key = Qt.Key.Key_Down if z[-1] > z[0] else Qt.Key.Key_Up
    choose_tool(qtbot, window, left, "cricoid")
    for _ in range(3):
        qtbot.keyClick(left.canvas, key)
    click_image(qtbot, left, 20.0, 20.0)
    QApplication.processEvents()
    assert value_text(panel, "N") == "N3"
    # The node's series leaves the screen: the dock still places the node from the study's headers.
    session = window.session
    t2 = session.index.find_series(demo_study.series_uids["T2"]).key
    with qtbot.waitSignal(session.series_loaded, timeout=20000):
        session.load_series(t2, 0)
    qtbot.waitUntil(lambda: not session.jobs.busy, timeout=20000)
    shown = {v.meta.series_instance_uid for v in session.loaded_volumes() if v is not None}
    assert node.series_instance_uid not in shown
    QApplication.processEvents()
    expected = assess_study(session.annotations.current, {volume.meta.series_instance_uid: volume})
    assert expected.n.value == "N3"
    assert value_text(panel, "N") == "N3"
    assert reasons_text(panel, "N").splitlines()[0] == expected.n.reasons[0]
