"""Measurement geometry between image pixels and the viewer's plane millimetres (plain functions).

Pixel points are ``(row, column)`` in the sub-pixel convention of
:mod:`npc_desktop.core.annotation.measurements` (pixel edges: the centre of pixel ``(r, c)`` is
``(r + 0.5, c + 0.5)``), which is also where pyqtgraph's image item puts them, so a point drawn
under the mouse is the point stored. Lengths and angles are the core's, in mm, from the pixel
spacing: with non-square pixels a right angle on screen (which shows mm) is a right angle in the
patient, not in pixel space.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from npc_desktop.core.annotation.measurements import CricoidLevel, LineSegment
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.dicom import Volume
from npc_desktop.gui.viewer import geometry

PlanePoint = tuple[float, float]
"""``(x, y)`` in plane millimetres (the view box's coordinates)."""
PixelPoint = tuple[float, float]
"""``(row, column)`` in sub-pixel coordinates."""

AXIAL_MIN_COSINE = 0.7
"""A series is axial when its slice normal is within about 45 degrees of the patient's S axis."""


def plane_to_pixel(volume: Volume, point: PlanePoint) -> PixelPoint:
    """The sub-pixel ``(row, column)`` of a plane point on a slice of ``volume``."""
    x0, y0, _, _ = geometry.image_rect(volume)
    return (point[1] - y0) / float(volume.spacing[1]), (point[0] - x0) / float(volume.spacing[0])


def pixel_to_plane(volume: Volume, point: PixelPoint) -> PlanePoint:
    """Where a sub-pixel ``(row, column)`` lies in plane millimetres."""
    x0, y0, _, _ = geometry.image_rect(volume)
    return x0 + point[1] * float(volume.spacing[0]), y0 + point[0] * float(volume.spacing[1])


def clamp_to_image(volume: Volume, point: PixelPoint) -> PixelPoint:
    """The point moved inside the image's pixel edges."""
    _, rows, cols = volume.shape
    return min(max(point[0], 0.0), float(rows)), min(max(point[1], 0.0), float(cols))


def on_image(volume: Volume, point: PixelPoint) -> bool:
    """Whether a pixel point lies on the image (edges included)."""
    _, rows, cols = volume.shape
    return 0.0 <= point[0] <= rows and 0.0 <= point[1] <= cols


def length_text(mm: float) -> str:
    """A length as the viewer writes it: ``"34.2 mm"``."""
    return f"{mm:.1f} mm"


def segment_length_mm(volume: Volume, start: PixelPoint, end: PixelPoint) -> float:
    """Length of a line in mm (0 when the points coincide), the core's way."""
    if start == end:
        return 0.0
    return LineSegment(start, end).length_mm(pixel_spacing(volume))


def _unit_perpendicular_mm(line: LineSegment, spacing: tuple[float, float]) -> np.ndarray:
    d_row, d_col = line.vector_mm(spacing)
    norm = math.hypot(d_row, d_col)
    return np.array([-d_col / norm, d_row / norm])


def perpendicular_axis(long_axis: LineSegment, start: PixelPoint, end: PixelPoint,
                       spacing: tuple[float, float]) -> Optional[LineSegment]:
    """The short axis a drag from ``start`` to ``end`` draws: from ``start``, perpendicular to the
    long axis in mm, as long as the drag reaches across it. None when it has no length."""
    unit = _unit_perpendicular_mm(long_axis, spacing)
    drag_mm = np.array([(end[0] - start[0]) * spacing[0], (end[1] - start[1]) * spacing[1]])
    reach = float(drag_mm @ unit)
    if abs(reach) < 1e-6:
        return None
    stop = (start[0] + reach * unit[0] / spacing[0], start[1] + reach * unit[1] / spacing[1])
    return LineSegment(start, stop)


def square_up(long_axis: LineSegment, short_axis: LineSegment, spacing: tuple[float, float], *,
              keep_length: bool) -> LineSegment:
    """The short axis turned perpendicular to the long axis about its own midpoint.

    With ``keep_length`` (the long axis was moved) it keeps its length in mm; otherwise (its own
    handle was moved) it keeps the part of it that reaches across the long axis.
    """
    unit = _unit_perpendicular_mm(long_axis, spacing)
    vector = np.array(short_axis.vector_mm(spacing))
    half = (float(np.hypot(*vector)) if keep_length else abs(float(vector @ unit))) / 2.0
    if float(vector @ unit) < 0:
        unit = -unit
    mid = ((short_axis.start[0] + short_axis.end[0]) / 2.0, (short_axis.start[1] + short_axis.end[1]) / 2.0)
    d_row, d_col = half * unit[0] / spacing[0], half * unit[1] / spacing[1]
    return LineSegment((mid[0] - d_row, mid[1] - d_col), (mid[0] + d_row, mid[1] + d_col))


def is_axial(volume: Volume) -> bool:
    """Whether the series' slices are (roughly) transverse, so one slice holds one level."""
    return abs(float(volume.direction[2, 2])) >= AXIAL_MIN_COSINE


def cricoid_on_volume(volume: Volume, level: CricoidLevel) -> Optional[tuple[int, float, PixelPoint]]:
    """Where the cricoid level falls in an axial ``volume``: the nearest slice, that slice's distance
    from the level along the slice normal (mm), and the marked point projected on it.

    None when the volume is not axial or the level lies outside its stack by more than half a
    slice.
    """
    if not is_axial(volume):
        return None
    k, row, col = (float(v) for v in volume.patient_to_index(level.position))
    if not -0.5 <= k <= volume.shape[0] - 0.5:
        return None
    nearest = int(min(max(round(k), 0), volume.shape[0] - 1))
    distance = abs(k - nearest) * float(volume.spacing[2])
    return nearest, distance, (row + 0.5, col + 0.5)
