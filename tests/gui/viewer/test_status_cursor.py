"""The status bar's position and value follow a slice change as the on-image overlay does: both
are updated by the same slice change, for the voxel under the pointer."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.annotating import widget_point
from tests.gui.interaction import at_user_size, press
from tests.gui.screens import wheel

pytestmark = pytest.mark.gui

_STATUS = re.compile(r"\((-?[\d.]+), (-?[\d.]+), (-?[\d.]+)\) mm\s+value (\S+)")
_OVERLAY = re.compile(r"x (-?[\d.]+)\s+y (-?[\d.]+)\s+z (-?[\d.]+) mm")


def _status(window) -> tuple[tuple[float, float, float], str]:
    match = _STATUS.fullmatch(window.cursor_label.text().strip())
    assert match is not None, window.cursor_label.text()
    return tuple(float(v) for v in match.groups()[:3]), match.group(4)  # type: ignore[return-value]


def _overlay(viewport) -> tuple[tuple[float, float, float], str]:
    lines = viewport.canvas.corners["bl"]
    match = next(m for m in map(_OVERLAY.fullmatch, lines) if m is not None)
    value = next(line for line in lines if line.startswith("Val ")).split()[1]
    return tuple(float(v) for v in match.groups()), value  # type: ignore[return-value]


def _expected(viewport, col: int, row: int) -> tuple[tuple[float, float, float], str]:
    state = viewport.state
    k = state.slice_index
    point = state.volume.index_to_patient(k, row, col)
    return tuple(round(float(v), 1) for v in point), str(int(state.volume.voxels[k, row, col]))  # type: ignore


def _agree(window, viewport, col: int, row: int) -> None:
    (status_mm, status_value), (overlay_mm, overlay_value) = _status(window), _overlay(viewport)
    expected_mm, expected_value = _expected(viewport, col, row)
    assert np.allclose(status_mm, overlay_mm, atol=0.051) and status_value == overlay_value
    assert np.allclose(status_mm, expected_mm, atol=0.051) and status_value == expected_value


@pytest.mark.realdata
def test_status_bar_follows_keys_and_wheel_on_tcia(qtbot, tcia_window) -> None:
    window = tcia_window
    at_user_size(qtbot, window)
    viewport = window.grid.viewports[0]
    canvas = viewport.canvas
    col, row = 250, 260
    qtbot.mouseMove(canvas.viewport(), widget_point(viewport, col + 0.5, row + 0.5))
    qtbot.wait(30)
    _agree(window, viewport, col, row)
    z_before = _status(window)[0][2]
    canvas.setFocus()
    for key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown, Qt.Key.Key_Home):
        press(qtbot, key)
        _agree(window, viewport, col, row)
    assert _status(window)[0][2] != z_before
    wheel(canvas.viewport(), 5, widget_point(viewport, col + 0.5, row + 0.5))
    assert viewport.state.slice_index == 5
    _agree(window, viewport, col, row)


def test_pointer_in_the_synchronised_viewport_follows_in_two_up(qtbot, demo_window) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    left, right = window.grid.viewports
    col, row = 100, 110
    qtbot.mouseMove(right.canvas.viewport(), widget_point(right, col + 0.5, row + 0.5))
    qtbot.wait(30)
    _agree(window, right, col, row)
    before = right.state.slice_index
    left.canvas.setFocus()
    for _ in range(4):
        press(qtbot, Qt.Key.Key_Down)
    assert window.session.active == 0 and right.state.slice_index != before
    _agree(window, right, col, row)  # the pointer's viewport moved along; the status bar too
