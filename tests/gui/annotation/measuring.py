"""Helpers for measurement GUI tests: choosing tools by key, drawing and reading measurements."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from tests.gui.annotating import left_drag, pixel_at, widget_point

TOOL_KEYS = {"ruler": Qt.Key.Key_M, "node_axes": Qt.Key.Key_A, "cricoid": Qt.Key.Key_L}


def choose_tool(qtbot, window, viewport, tool: str) -> None:
    """Press the tool's key on the viewport's canvas."""
    qtbot.keyClick(viewport.canvas, TOOL_KEYS[tool])
    assert window.session.tool.value == tool


def draw_line(qtbot, viewport, start: tuple[float, float], end: tuple[float, float]) -> tuple[tuple, tuple]:
    """A real drag from image pixel ``start`` to ``end`` (column, row); returns the (row, column)
    points under the mouse at the press and the release."""
    a, b = widget_point(viewport, *start), widget_point(viewport, *end)
    left_drag(qtbot, viewport, a, b)
    (c0, r0), (c1, r1) = pixel_at(viewport, a), pixel_at(viewport, b)
    return (r0, c0), (r1, c1)


def click_image(qtbot, viewport, col: float, row: float) -> tuple[float, float]:
    """A real left click on image pixel (column, row); returns the (row, column) under the mouse."""
    point = widget_point(viewport, col, row)
    qtbot.mouseClick(viewport.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    QApplication.processEvents()
    c, r = pixel_at(viewport, point)
    return r, c


def item_handle_point(viewport, item_id: str, part: str, end: int) -> QPoint:
    """Canvas position of a measurement line's handle (``end`` 0 or 1)."""
    item = viewport.layers["measurements"].items[(item_id, part)]
    point = viewport.canvas.mapFromScene(item.handle_scene_points()[end])
    return QPoint(point.x(), point.y())


def line_middle_point(viewport, item_id: str, part: str) -> QPoint:
    """Canvas position of the middle of a measurement line."""
    a, b = (item_handle_point(viewport, item_id, part, end) for end in (0, 1))
    return QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2)
