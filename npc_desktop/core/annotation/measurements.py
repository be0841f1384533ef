"""Measurements on one stored image: distance rulers, a lymph node's long and short axes, and the
study's cricoid level.

Pixel points are ``(row, column)`` in DICOM's sub-pixel convention (PS3.3 C.18.6.1.1), the one
:class:`~npc_desktop.core.annotation.rois.RectRoi` uses: the top-left corner of the top-left pixel
is ``(0, 0)`` and the centre of pixel ``(r, c)`` is ``(r + 0.5, c + 0.5)``.

Lengths in mm come from the pixel spacing alone. DICOM requires the row and column direction
cosines of an image to be orthonormal (PS3.3 C.7.6.2.1.1), so for any orientation, oblique
included, the in-plane physical distance between two pixel points is
``hypot(d_row * row_spacing, d_col * col_spacing)``; the tests check this against SimpleITK's
``TransformContinuousIndexToPhysicalPoint``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Optional, Sequence, Union

from npc_desktop.core.annotation.measurement_base import (
    _COMMON_KEYS,
    OnImage,
    PixelPoint,
    _check_pair,
    _check_spacing,
    _common_fields,
    _spacing,
)
from npc_desktop.core.annotation.validation import (
    AnnotationError,
    _check_coordinate,
    _check_id,
    _exact_keys,
    _set,
    utc_now,
)

__all__ = [
    "PERPENDICULAR_TOLERANCE_DEG",
    "CricoidLevel",
    "LineSegment",
    "Measurement",
    "NodeAxes",
    "Ruler",
    "measurement_from_dict",
]

PERPENDICULAR_TOLERANCE_DEG: float = 10.0
"""How far from 90 degrees (in patient mm, not pixels) a node's short axis may be drawn.

The GUI keeps the axes perpendicular while a handle is dragged; this tolerance absorbs handles
snapped to pixels on small nodes (a 3-pixel short axis moved by half a pixel turns by about 9.5
degrees) and the SR's 32-bit coordinates. It is harmless for staging: measuring the extent
across a node 10 degrees off the perpendicular changes it by at most 1 - cos(10 deg) = 1.5 %,
well inside the reproducibility of manual node measurements. Perpendicularity is checked in mm
because with non-square pixels a right angle in pixel space is not one in the patient.
"""

# --------------------------------------------------------------------------------------------------
# A line between two pixel points


@dataclass(frozen=True)
class LineSegment:
    """A straight line between two distinct pixel points ``(row, column)``.

    Raises
    ------
    AnnotationError
        Naming ``start`` or ``end`` if a point is not two finite numbers, or the points coincide.
    """

    start: PixelPoint
    end: PixelPoint

    def __post_init__(self) -> None:
        _set(self, "start", _check_pair("start", self.start, "row", "column"))
        _set(self, "end", _check_pair("end", self.end, "row", "column"))
        if self.start == self.end:
            raise AnnotationError("end", f"must differ from start {self.start}: a line needs two points")

    def vector_mm(self, pixel_spacing: Sequence[float]) -> tuple[float, float]:
        """``(d_row_mm, d_col_mm)`` from start to end.

        Parameters
        ----------
        pixel_spacing
            ``(row_spacing, col_spacing)`` in mm: DICOM PixelSpacing's order, as
            :func:`npc_desktop.core.annotation.patches.pixel_spacing` returns it.
        """
        row_spacing, col_spacing = _spacing(pixel_spacing)
        return ((self.end[0] - self.start[0]) * row_spacing, (self.end[1] - self.start[1]) * col_spacing)

    def length_mm(self, pixel_spacing: Sequence[float]) -> float:
        """Physical length in mm (see the module notes for why spacing alone is exact)."""
        return math.hypot(*self.vector_mm(pixel_spacing))

    @property
    def length_px(self) -> float:
        """Length in pixels (only meaningful for square pixels)."""
        return math.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1])

    def moved(self, d_row: float, d_col: float) -> "LineSegment":
        """The same line shifted by ``d_row`` rows and ``d_col`` columns."""
        return LineSegment((self.start[0] + d_row, self.start[1] + d_col), (self.end[0] + d_row, self.end[1] + d_col))

    def to_list(self) -> list[list[float]]:
        """``[[row, col], [row, col]]``, the serialised form."""
        return [list(self.start), list(self.end)]

    @classmethod
    def from_list(cls, data: Any, *, where: str) -> "LineSegment":
        """Rebuild from :meth:`to_list` output; errors name ``where``."""
        if isinstance(data, (str, bytes)) or not isinstance(data, Sequence) or len(data) != 2:
            raise AnnotationError(where, f"must be two [row, column] points, got {data!r}")
        try:
            return cls(data[0], data[1])
        except AnnotationError as exc:
            raise exc.within(where) from None


# --------------------------------------------------------------------------------------------------
# Ruler


@dataclass(frozen=True, kw_only=True)
class Ruler(OnImage):
    """A distance ruler: two pixel points ``(row, column)`` on one stored image.

    Parameters
    ----------
    study_instance_uid, series_instance_uid, sop_instance_uid, frame_number
        The image (1-based frame of a multi-frame instance, else None).
    start, end
        The end points, distinct, in sub-pixel ``(row, column)`` coordinates.
    id, created, modified, author
        As for :class:`~npc_desktop.core.annotation.rois.RectRoi`.

    Raises
    ------
    AnnotationError
        Naming the first invalid field.
    """

    start: PixelPoint
    end: PixelPoint

    def __post_init__(self) -> None:
        self._check_common()
        segment = LineSegment(self.start, self.end)
        _set(self, "start", segment.start)
        _set(self, "end", segment.end)

    @property
    def segment(self) -> LineSegment:
        """The ruler's line."""
        return LineSegment(self.start, self.end)

    def length_mm(self, pixel_spacing: Sequence[float]) -> float:
        """Length in mm given the image's ``(row_spacing, col_spacing)`` (PixelSpacing order)."""
        return self.segment.length_mm(pixel_spacing)

    def with_points(self, start: PixelPoint, end: PixelPoint, *, when: Optional[datetime] = None) -> "Ruler":
        """A copy with new end points and ``modified`` set to ``when`` (default now)."""
        return replace(self, start=start, end=end, modified=when or utc_now())

    def moved(self, d_row: float, d_col: float, *, when: Optional[datetime] = None) -> "Ruler":
        """A copy shifted by ``d_row`` rows and ``d_col`` columns."""
        line = self.segment.moved(d_row, d_col)
        return self.with_points(line.start, line.end, when=when)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form: ``type`` ``"ruler"``, the image, ``start`` and ``end`` as
        ``[row, col]``, times and author."""
        return {**self._common_dict("ruler"), "start": list(self.start), "end": list(self.end)}

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "ruler") -> "Ruler":
        """Rebuild from :meth:`to_dict` output, strictly (errors name the field under ``where``)."""
        fields = _exact_keys(data, _RULER_KEYS, where)
        try:
            return cls(start=fields["start"], end=fields["end"], **_common_fields(fields))
        except AnnotationError as exc:
            raise exc.within(where) from None


_RULER_KEYS = _COMMON_KEYS | {"start", "end"}


# --------------------------------------------------------------------------------------------------
# A lymph node's long and short axes


@dataclass(frozen=True, kw_only=True)
class NodeAxes(OnImage):
    """The long and short axes of a lymph node, bound to its ROI and drawn on the ROI's image.

    Parameters
    ----------
    study_instance_uid, series_instance_uid, sop_instance_uid, frame_number
        The image, the node ROI's (the annotation set checks that they match).
    roi_id
        Id of the lymph-node :class:`~npc_desktop.core.annotation.rois.RectRoi`.
    long_axis, short_axis
        :class:`LineSegment` values (or ``((row, col), (row, col))`` pairs).
    pixel_spacing
        ``(row_spacing, col_spacing)`` in mm of the image. Kept with the axes so that they
        validate themselves in mm and so that :attr:`long_mm` needs no image.
    id, created, modified, author
        As for :class:`~npc_desktop.core.annotation.rois.RectRoi`.

    Raises
    ------
    AnnotationError
        If a field is invalid, the short axis is longer than the long axis, or the axes are
        more than :data:`PERPENDICULAR_TOLERANCE_DEG` from perpendicular in mm.
    """

    roi_id: str
    long_axis: LineSegment
    short_axis: LineSegment
    pixel_spacing: tuple[float, float]

    def __post_init__(self) -> None:
        self._check_common()
        try:
            _check_id(self.roi_id)
        except AnnotationError as exc:
            raise AnnotationError("roi_id", exc.problem) from None
        for name in ("long_axis", "short_axis"):
            value = getattr(self, name)
            if not isinstance(value, LineSegment):
                value = LineSegment.from_list(value, where=name)
            _set(self, name, value)
        _set(self, "pixel_spacing", _check_spacing("pixel_spacing", self.pixel_spacing))
        if self.short_mm > self.long_mm:
            raise AnnotationError(
                "short_axis", f"is longer ({self.short_mm:.2f} mm) than the long axis ({self.long_mm:.2f} mm)"
            )
        deviation = abs(90.0 - self.angle_deg)
        if deviation > PERPENDICULAR_TOLERANCE_DEG:
            raise AnnotationError(
                "short_axis",
                f"is {deviation:.1f} degrees from perpendicular to the long axis "
                f"(at most {PERPENDICULAR_TOLERANCE_DEG:g} allowed)",
            )

    @property
    def long_mm(self) -> float:
        """Long-axis length in mm."""
        return self.long_axis.length_mm(self.pixel_spacing)

    @property
    def short_mm(self) -> float:
        """Short-axis length in mm."""
        return self.short_axis.length_mm(self.pixel_spacing)

    @property
    def angle_deg(self) -> float:
        """Angle between the axes in patient mm, 0 to 90 degrees."""
        a = self.long_axis.vector_mm(self.pixel_spacing)
        b = self.short_axis.vector_mm(self.pixel_spacing)
        cosine = abs(a[0] * b[0] + a[1] * b[1]) / (math.hypot(*a) * math.hypot(*b))
        return math.degrees(math.acos(min(1.0, cosine)))

    def with_axes(
        self, long_axis: LineSegment, short_axis: LineSegment, *, when: Optional[datetime] = None
    ) -> "NodeAxes":
        """A copy with new axes (validated) and ``modified`` set to ``when`` (default now)."""
        return replace(self, long_axis=long_axis, short_axis=short_axis, modified=when or utc_now())

    def moved(self, d_row: float, d_col: float, *, when: Optional[datetime] = None) -> "NodeAxes":
        """A copy with both axes shifted by ``d_row`` rows and ``d_col`` columns."""
        return self.with_axes(self.long_axis.moved(d_row, d_col), self.short_axis.moved(d_row, d_col), when=when)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form: ``type`` ``"node_axes"``, the image, ``roi_id``, each axis as
        ``[[row, col], [row, col]]``, ``pixel_spacing`` ``[row, col]`` mm, times and author."""
        return {
            **self._common_dict("node_axes"),
            "roi_id": self.roi_id,
            "long_axis": self.long_axis.to_list(),
            "short_axis": self.short_axis.to_list(),
            "pixel_spacing": list(self.pixel_spacing),
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "node_axes") -> "NodeAxes":
        """Rebuild from :meth:`to_dict` output, strictly (errors name the field under ``where``)."""
        fields = _exact_keys(data, _AXES_KEYS, where)
        try:
            return cls(
                roi_id=fields["roi_id"],
                long_axis=LineSegment.from_list(fields["long_axis"], where="long_axis"),
                short_axis=LineSegment.from_list(fields["short_axis"], where="short_axis"),
                pixel_spacing=fields["pixel_spacing"],
                **_common_fields(fields),
            )
        except AnnotationError as exc:
            raise exc.within(where) from None


_AXES_KEYS = _COMMON_KEYS | {"roi_id", "long_axis", "short_axis", "pixel_spacing"}

Measurement = Union[Ruler, NodeAxes]
"""A measurement kept in :attr:`AnnotationSet.measurements` (the cricoid level is kept apart:
there is one per study)."""

_MEASUREMENT_TYPES: dict[str, Any] = {"ruler": Ruler, "node_axes": NodeAxes}


def measurement_from_dict(data: Any, *, where: str = "measurement") -> Measurement:
    """Rebuild a :data:`Measurement` from its ``to_dict`` form, dispatching on ``type``.

    Raises
    ------
    AnnotationError
        Naming the invalid field, including an unknown ``type``.
    """
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind not in _MEASUREMENT_TYPES:  # a list or object would not even hash
        if not isinstance(data, dict):
            raise AnnotationError(where, f"must be an object, got {type(data).__name__}")
        raise AnnotationError(f"{where}.type", f"{kind!r} is not one of 'ruler', 'node_axes'")
    return _MEASUREMENT_TYPES[kind].from_dict(data, where=where)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------
# The cricoid level


@dataclass(frozen=True, kw_only=True)
class CricoidLevel(OnImage):
    """The caudal border of the cricoid cartilage, marked on one axial image of the study.

    Parameters
    ----------
    study_instance_uid, series_instance_uid, sop_instance_uid, frame_number
        The image it was marked on.
    position
        The marked point in patient coordinates, ``(x, y, z)`` mm in DICOM's LPS axes
        (+z is superior). Build it from a click with
        :func:`npc_desktop.core.annotation.cricoid.cricoid_level_at`.
    id, created, modified, author
        As for :class:`~npc_desktop.core.annotation.rois.RectRoi`.

    Raises
    ------
    AnnotationError
        Naming the first invalid field.
    """

    position: tuple[float, float, float]

    def __post_init__(self) -> None:
        self._check_common()
        value = self.position
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 3:
            raise AnnotationError("position", f"must be three patient coordinates (x, y, z) in mm, got {value!r}")
        _set(self, "position", tuple(_check_coordinate(f"position[{i}]", v) for i, v in enumerate(value)))

    @property
    def superior_mm(self) -> float:
        """The level's coordinate along the patient's superior (S, +z) axis."""
        return self.position[2]

    def with_position(
        self, position: Sequence[float], *, sop_instance_uid: Optional[str] = None,
        frame_number: Optional[int] = None, when: Optional[datetime] = None,
    ) -> "CricoidLevel":
        """A copy moved to ``position`` (optionally marked on another image of the series)."""
        changes: dict[str, Any] = {"position": tuple(position), "modified": when or utc_now()}
        if sop_instance_uid is not None:
            changes.update(sop_instance_uid=sop_instance_uid, frame_number=frame_number)
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form: the image, ``position`` ``[x, y, z]`` (LPS mm), times and author."""
        data = self._common_dict("cricoid_level")
        data["position"] = list(self.position)
        return data

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "cricoid_level") -> "CricoidLevel":
        """Rebuild from :meth:`to_dict` output, strictly (errors name the field under ``where``)."""
        fields = _exact_keys(data, _COMMON_KEYS | {"position"}, where)
        try:
            if fields["type"] != "cricoid_level":
                raise AnnotationError("type", f"must be 'cricoid_level', got {fields['type']!r}")
            return cls(position=fields["position"], **_common_fields(fields))
        except AnnotationError as exc:
            raise exc.within(where) from None
