"""Two series side by side on the demo study: slice synchronisation by patient position, linked
zoom and pan, the one-up / two-up toggle."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from npc_desktop.gui.viewer import geometry
from tests.gui.screens import grab, matching_slice, wheel

pytestmark = pytest.mark.gui


def _expected_t2_slice(t1c_slice: int) -> int:
    """Nearest T2 slice by position: T1C slices at -62 + 3k mm, T2 slices at -64.5 + 4j mm."""
    z = -62.0 + 3.0 * t1c_slice
    return int(np.clip(np.rint((z + 64.5) / 4.0), 0, 21))


def test_demo_opens_t1c_left_t2_right(demo_window, artifacts_dir) -> None:
    window = demo_window
    left, right = window.grid.viewports
    assert window.session.layout == 2 and left.isVisible() and right.isVisible()
    assert left.state.volume.meta.series_description.startswith("AX T1 +C")
    assert right.state.volume.meta.series_description.startswith("AX T2")
    assert left.state.volume.meta.frame_of_reference_uid == right.state.volume.meta.frame_of_reference_uid
    assert right.state.slice_index == _expected_t2_slice(left.state.slice_index)
    window.grab().save(str(artifacts_dir / "demo_two_up.png"))
    for viewport in (left, right):
        assert viewport.canvas.edges == {"left": "R", "right": "L", "top": "A", "bottom": "P"}


def test_scrolling_one_moves_the_other_by_position(qtbot, demo_window, artifacts_dir) -> None:
    window = demo_window
    left, right = window.grid.viewports
    for steps in (4, -9, 20, -3):
        wheel(left.canvas.viewport(), steps)
        k = left.state.slice_index
        j = right.state.slice_index
        assert j == _expected_t2_slice(k), (k, j)
        z_left = geometry.slice_position(left.state.volume, k)
        z_right = geometry.slice_position(right.state.volume, j)
        assert abs(z_left - z_right) <= 2.0 or j in (0, 21)
    assert right.canvas.corners["bl"][0] == f"Im {right.state.slice_index + 1} / 22"
    gray = grab(right, artifacts_dir / "demo_synced_t2.png")
    assert matching_slice(right, gray)[0] == right.state.slice_index
    gray = grab(left, artifacts_dir / "demo_synced_t1c.png")
    assert matching_slice(left, gray)[0] == left.state.slice_index
    # Scrolling the right one moves the left one back.
    qtbot.mouseClick(right.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(15, 15))
    assert window.session.active == 1
    qtbot.keyClick(right.canvas, Qt.Key.Key_Home)
    assert right.state.slice_index == 0
    assert left.state.slice_index == 0  # -64.5 mm is nearest to the first T1C slice at -62 mm


def test_sync_can_be_switched_off(qtbot, demo_window) -> None:
    window = demo_window
    left, right = window.grid.viewports
    qtbot.mouseClick(left.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(15, 15))
    qtbot.keyClick(left.canvas, Qt.Key.Key_S)
    assert not window.session.sync_slices and not window.actions_by_name["sync_slices"].isChecked()
    before = right.state.slice_index
    wheel(left.canvas.viewport(), 5)
    assert right.state.slice_index == before
    qtbot.keyClick(left.canvas, Qt.Key.Key_S)  # back on: the right one catches up at once
    assert right.state.slice_index == _expected_t2_slice(left.state.slice_index)


def test_zoom_and_pan_are_linked(qtbot, demo_window, artifacts_dir) -> None:
    window = demo_window
    left, right = window.grid.viewports
    pointer = QPoint(left.canvas.viewport().width() // 2 + 40, left.canvas.viewport().height() // 2 + 30)
    wheel(left.canvas.viewport(), -3, pointer, Qt.KeyboardModifier.ControlModifier)
    a, b = left.canvas.view_state(), right.canvas.view_state()
    assert a.width < 200  # zoomed in from about 230 mm
    assert abs(a.centre_x - b.centre_x) < 0.5 and abs(a.centre_y - b.centre_y) < 0.5
    assert abs(a.width - b.width) < 0.5
    window.grab().save(str(artifacts_dir / "demo_linked_zoom.png"))
    qtbot.keyClick(left.canvas, Qt.Key.Key_K)  # unlink
    wheel(left.canvas.viewport(), -1, pointer, Qt.KeyboardModifier.ControlModifier)
    assert left.canvas.view_state().width < right.canvas.view_state().width - 1
    qtbot.keyClick(left.canvas, Qt.Key.Key_F)
    assert abs(left.canvas.view_state().width - right.canvas.view_state().width) > 1  # fit left only


def test_one_up_two_up_toggle(qtbot, demo_window) -> None:
    window = demo_window
    left, right = window.grid.viewports
    qtbot.keyClick(left.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.session.layout == 1 and left.isVisible() and not right.isVisible()
    qtbot.wait(20)
    assert left.canvas.viewport().width() > window.grid.width() - 10
    qtbot.keyClick(left.canvas, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.session.layout == 2 and right.isVisible()
    window.actions_by_name["one_up"].trigger()
    window.session.set_active(1)
    assert right.isVisible() and not left.isVisible()  # one-up shows the active viewport


def test_browser_double_click_loads_into_active_viewport(qtbot, demo_window) -> None:
    window = demo_window
    left, right = window.grid.viewports
    browser = window.browser
    qtbot.waitUntil(lambda: all(not browser.item_for(k).icon(0).isNull() for k in browser._items), timeout=5000)
    t2_key = right.state.series_key
    item = browser.item_for(t2_key)
    assert "22 images" in item.text(0) and "in right" in item.text(0)
    window.session.set_active(0)
    rect = browser.visualItemRect(item)
    # A real double-click: press, release, double-click press, release.
    qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: left.state.series_key == t2_key, timeout=5000)
    assert left.state.loaded is right.state.loaded  # shared, not loaded twice
    assert "in left + right" in item.text(0)
