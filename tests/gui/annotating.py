"""Helpers for annotation GUI tests: screen points of image pixels and real mouse gestures on ROIs."""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, Qt

from .screens import drag


def widget_point(viewport, col: float, row: float) -> QPoint:
    """The canvas widget position of image pixel coordinates (column, row), via pyqtgraph's own
    placement of the image item (what the cursor readout uses too)."""
    canvas = viewport.canvas
    scene = canvas.image_item.mapToScene(QPointF(col, row))
    point = canvas.mapFromScene(scene)
    return QPoint(point.x(), point.y())


def pixel_at(viewport, point: QPoint) -> tuple[float, float]:
    """(column, row) of the image under a canvas widget position (fractional)."""
    canvas = viewport.canvas
    item = canvas.image_item.mapFromScene(canvas.mapToScene(point))
    return item.x(), item.y()


def rounded_box(viewport, start: QPoint, end: QPoint) -> tuple[float, float, float, float]:
    """The whole-pixel box a drag from ``start`` to ``end`` should store, from the viewer's mapping."""
    (c0, r0), (c1, r1) = pixel_at(viewport, start), pixel_at(viewport, end)
    row0, row1 = sorted((r0, r1))
    col0, col1 = sorted((c0, c1))
    return tuple(float(math.floor(v + 0.5)) for v in (row0, col0, row1, col1))  # type: ignore[return-value]


def left_drag(qtbot, viewport, start: QPoint, end: QPoint) -> None:
    """A real left-button drag on the canvas."""
    drag(qtbot, viewport.canvas.viewport(), Qt.MouseButton.LeftButton, start, end - start)


def handle_point(viewport, roi_id: str, where: tuple[float, float]) -> QPoint:
    """Canvas position of a ROI item's handle; ``where`` is its place on the box, e.g. (1, 1)."""
    item = viewport.layers["rois"].items[roi_id]
    for position, scene in item.handle_positions_scene():
        if position == where:
            point = viewport.canvas.mapFromScene(scene)
            return QPoint(point.x(), point.y())
    raise KeyError(where)


def roi_centre_point(viewport, roi) -> QPoint:
    """Canvas position of the centre of a stored ROI."""
    row, col = roi.centre
    return widget_point(viewport, col, row)
