"""ROI boxes between image pixels and the viewer's plane millimetres (plain functions, no Qt).

A viewport places slice pixels in plane millimetres (:mod:`npc_desktop.gui.viewer.geometry`): pixel edge
``col`` lies at ``x0 + col * column_spacing`` and pixel edge ``row`` at ``y0 + row * row_spacing``,
where ``(x0, y0)`` is the top-left corner of :func:`~npc_desktop.gui.viewer.geometry.image_rect`. A ROI is
stored in pixel edges (:class:`~npc_desktop.core.annotation.rois.RectRoi`); these functions convert
both ways so that what is drawn is exactly what is stored.
"""

from __future__ import annotations

import math

from npc_desktop.core.dicom import Volume
from npc_desktop.gui.viewer import geometry

Box = tuple[float, float, float, float]
"""``(row0, col0, row1, col1)`` in pixel edges."""
PlaneRect = tuple[float, float, float, float]
"""``(x, y, width, height)`` in plane millimetres, ``x``/``y`` the top-left corner."""

MIN_DRAWN_PIXELS = 2
"""A drawn rectangle narrower or lower than this (in pixels) is taken for a click, not a ROI."""


def pixel_box_to_plane(volume: Volume, box: Box) -> PlaneRect:
    """Where a pixel box lies in the viewer's plane millimetres.

    Parameters
    ----------
    volume
        The series the box is drawn on.
    box
        ``(row0, col0, row1, col1)`` in pixel edges.

    Returns
    -------
    tuple of float
        ``(x, y, width, height)`` in mm.
    """
    x0, y0, _, _ = geometry.image_rect(volume)
    col_mm, row_mm = float(volume.spacing[0]), float(volume.spacing[1])
    row0, col0, row1, col1 = box
    return x0 + col0 * col_mm, y0 + row0 * row_mm, (col1 - col0) * col_mm, (row1 - row0) * row_mm


def plane_to_pixel_box(volume: Volume, rect: PlaneRect, *, snap: bool = True, clip: bool = True) -> Box:
    """The pixel box of a rectangle given in plane millimetres.

    Parameters
    ----------
    volume
        The series the rectangle is drawn on.
    rect
        ``(x, y, width, height)`` in mm; a negative width or height is normalised.
    snap
        Round the edges to whole pixels (a drawn ROI then covers exactly the pixels it shows).
    clip
        Keep the box inside the image.

    Returns
    -------
    tuple of float
        ``(row0, col0, row1, col1)``; with ``snap`` at least one pixel each way.
    """
    x, y, width, height = rect
    left, right = sorted((x, x + width))
    top, bottom = sorted((y, y + height))
    x0, y0, _, _ = geometry.image_rect(volume)
    col_mm, row_mm = float(volume.spacing[0]), float(volume.spacing[1])
    col0, col1 = (left - x0) / col_mm, (right - x0) / col_mm
    row0, row1 = (top - y0) / row_mm, (bottom - y0) / row_mm
    _, rows, cols = volume.shape
    if clip:
        row0, row1 = _clamp(row0, 0, rows), _clamp(row1, 0, rows)
        col0, col1 = _clamp(col0, 0, cols), _clamp(col1, 0, cols)
    if snap:
        row0, row1 = _snap_pair(row0, row1, rows if clip else None)
        col0, col1 = _snap_pair(col0, col1, cols if clip else None)
    return row0, col0, row1, col1


def drawn_box(volume: Volume, start: tuple[float, float], end: tuple[float, float]) -> Box | None:
    """The ROI box of a mouse drag from ``start`` to ``end`` (plane mm), or None if too small.

    The box is snapped to whole pixels and clipped to the image.
    """
    rect = (start[0], start[1], end[0] - start[0], end[1] - start[1])
    x0, y0, width, height = geometry.image_rect(volume)
    inside = not (max(start[0], end[0]) <= x0 or min(start[0], end[0]) >= x0 + width
                  or max(start[1], end[1]) <= y0 or min(start[1], end[1]) >= y0 + height)
    if not inside:
        return None
    box = plane_to_pixel_box(volume, rect)
    if box[2] - box[0] < MIN_DRAWN_PIXELS or box[3] - box[1] < MIN_DRAWN_PIXELS:
        return None
    return box


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _snap_pair(low: float, high: float, limit: int | None) -> tuple[float, float]:
    a, b = float(math.floor(low + 0.5)), float(math.floor(high + 0.5))
    if b - a < 1.0:
        b = a + 1.0
        if limit is not None and b > limit:
            a, b = float(limit - 1), float(limit)
    return a, b
