"""What every measurement shares: the stored image it is drawn on, its id, times and author, and
the checks of pixel points and pixel spacing (see :mod:`.measurements`)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional, Sequence

from npc_desktop.core.annotation.rois import new_roi_id
from npc_desktop.core.annotation.validation import (
    _MAX_NAME,
    AnnotationError,
    _check_coordinate,
    _check_id,
    _check_text,
    _check_time,
    _check_uid,
    _format_time,
    _parse_time,
    _set,
    utc_now,
)

PixelPoint = tuple[float, float]
"""``(row, column)`` in sub-pixel coordinates."""


def _check_frame(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise AnnotationError("frame_number", f"must be None or an integer >= 1, got {value!r}")
    return int(value)


def _check_pair(name: str, value: Any, first: str, second: str) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise AnnotationError(name, f"must be a pair ({first}, {second}), got {value!r}")
    return (_check_coordinate(f"{name}[0]", value[0]), _check_coordinate(f"{name}[1]", value[1]))


def _check_spacing(name: str, value: Any) -> tuple[float, float]:
    rows, cols = _check_pair(name, value, "row spacing", "column spacing")
    if not (rows > 0 and cols > 0):
        raise AnnotationError(name, f"must be positive mm, got {value!r}")
    return (rows, cols)


def _spacing(pixel_spacing: Sequence[float]) -> tuple[float, float]:
    try:
        return _check_spacing("pixel_spacing", pixel_spacing)
    except AnnotationError as exc:
        raise ValueError(str(exc)) from None


# --------------------------------------------------------------------------------------------------
# The image a measurement is drawn on, its id and times


@dataclass(frozen=True, kw_only=True)
class OnImage:
    """Base of the measurement values: the image, id, times and author (validated by
    :meth:`_check_common`, which subclasses call in ``__post_init__``)."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    frame_number: Optional[int] = None
    id: str = field(default_factory=new_roi_id)
    created: datetime = field(default_factory=utc_now)
    modified: Optional[datetime] = None
    author: Optional[str] = None

    def _check_common(self) -> None:
        for name in ("study_instance_uid", "series_instance_uid", "sop_instance_uid"):
            _check_uid(name, getattr(self, name))
        _set(self, "frame_number", _check_frame(self.frame_number))
        _set(self, "id", _check_id(self.id))
        _set(self, "created", _check_time("created", self.created))
        _set(self, "modified", _check_time("modified", self.modified or self.created))
        _check_text("author", self.author, _MAX_NAME, optional=True)

    def is_on(self, sop_instance_uid: str, frame_number: Optional[int] = None) -> bool:
        """Whether the measurement is drawn on that image (and frame)."""
        return self.sop_instance_uid == sop_instance_uid and self.frame_number == frame_number

    def _common_dict(self, kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "id": self.id,
            "study_instance_uid": self.study_instance_uid,
            "series_instance_uid": self.series_instance_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "frame_number": self.frame_number,
            "created": _format_time(self.created),
            "modified": _format_time(self.modified),  # type: ignore[arg-type]
            "author": self.author,
        }


_COMMON_KEYS = frozenset(("type", "id", "study_instance_uid", "series_instance_uid", "sop_instance_uid",
                          "frame_number", "created", "modified", "author"))


def _common_fields(fields: Any) -> dict[str, Any]:
    return {
        "id": fields["id"],
        "study_instance_uid": fields["study_instance_uid"],
        "series_instance_uid": fields["series_instance_uid"],
        "sop_instance_uid": fields["sop_instance_uid"],
        "frame_number": fields["frame_number"],
        "created": _parse_time("created", fields["created"]),
        "modified": _parse_time("modified", fields["modified"]),
        "author": fields["author"],
    }
