"""Rectangular ROIs on one image: their kinds, geometry and serialised form.

Pixel coordinates follow DICOM's sub-pixel convention (PS3.3 C.18.6.1.1), which is also
pyqtgraph's for a row-major image item: the top-left corner of the top-left pixel is (0, 0) and
pixel ``(r, c)`` covers ``[r, r + 1) x [c, c + 1)``. A box with integer edges therefore covers
exactly ``pixels[row0:row1, col0:col1]``.
"""

from __future__ import annotations

import numbers
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Optional, Union

from npc_desktop.core.annotation.validation import (
    _MAX_NAME,
    AnnotationError,
    _check_coordinate,
    _check_enum,
    _check_id,
    _check_text,
    _check_time,
    _check_uid,
    _exact_keys,
    _format_time,
    _parse_time,
    _set,
    utc_now,
)


class RoiKind(str, Enum):
    """What a rectangular ROI outlines."""

    TUMOUR = "tumour"
    LYMPH_NODE = "lymph_node"


def new_roi_id() -> str:
    """A new random ROI identifier (a version-4 UUID string)."""
    return str(uuid.uuid4())


# --------------------------------------------------------------------------------------------------
# Value objects


@dataclass(frozen=True, kw_only=True)
class RectRoi:
    """An axis-aligned rectangle on one stored image, validated on construction.

    Parameters
    ----------
    study_instance_uid, series_instance_uid, sop_instance_uid
        The image the rectangle is drawn on.
    row0, col0, row1, col1
        Edges in (sub-)pixel coordinates of that image, ``row1 > row0`` and ``col1 > col0``.
        They may lie partly outside the image; cropping clips and reports it.
    kind
        :class:`RoiKind` or its value (``"tumour"``, ``"lymph_node"``).
    frame_number
        1-based frame of a multi-frame instance, None for single-frame images.
    id
        A UUID string; a new version-4 UUID by default.
    created, modified
        Timezone-aware timestamps; ``modified`` defaults to ``created``.
    author
        Who drew it (a user name or initials, never patient data); optional.

    Raises
    ------
    AnnotationError
        Naming the first invalid field.
    """

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    row0: float
    col0: float
    row1: float
    col1: float
    kind: RoiKind = RoiKind.TUMOUR
    frame_number: Optional[int] = None
    id: str = field(default_factory=new_roi_id)
    created: datetime = field(default_factory=utc_now)
    modified: Optional[datetime] = None
    author: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("study_instance_uid", "series_instance_uid", "sop_instance_uid"):
            _check_uid(name, getattr(self, name))
        for name in ("row0", "col0", "row1", "col1"):
            _set(self, name, _check_coordinate(name, getattr(self, name)))
        if not self.row1 > self.row0:
            raise AnnotationError("row1", f"must be greater than row0 ({self.row1} <= {self.row0})")
        if not self.col1 > self.col0:
            raise AnnotationError("col1", f"must be greater than col0 ({self.col1} <= {self.col0})")
        _set(self, "kind", _check_enum("kind", RoiKind, self.kind))
        frame = self.frame_number
        if frame is not None:
            if isinstance(frame, bool) or not isinstance(frame, numbers.Integral) or frame < 1:
                raise AnnotationError("frame_number", f"must be None or an integer >= 1, got {frame!r}")
            _set(self, "frame_number", int(frame))
        _set(self, "id", _check_id(self.id))
        _set(self, "created", _check_time("created", self.created))
        _set(self, "modified", _check_time("modified", self.modified or self.created))
        _check_text("author", self.author, _MAX_NAME, optional=True)

    # -- geometry ---------------------------------------------------------------------------------

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``(row0, col0, row1, col1)`` in pixels."""
        return (self.row0, self.col0, self.row1, self.col1)

    @property
    def height(self) -> float:
        """Height in pixels (``row1 - row0``)."""
        return self.row1 - self.row0

    @property
    def width(self) -> float:
        """Width in pixels (``col1 - col0``)."""
        return self.col1 - self.col0

    @property
    def centre(self) -> tuple[float, float]:
        """``(row, column)`` of the centre in pixels."""
        return ((self.row0 + self.row1) / 2.0, (self.col0 + self.col1) / 2.0)

    def size_mm(self, *, row_spacing: float, col_spacing: float) -> tuple[float, float]:
        """Height and width in millimetres.

        Parameters
        ----------
        row_spacing, col_spacing
            Distance between row centres and between column centres in mm: DICOM
            PixelSpacing ``[0]`` and ``[1]``, or ``Volume.spacing[1]`` and ``[0]``.

        Returns
        -------
        tuple of float
            ``(height_mm, width_mm)``.
        """
        if not (row_spacing > 0 and col_spacing > 0):
            raise ValueError(f"pixel spacing must be positive, got {row_spacing}, {col_spacing}")
        return (self.height * row_spacing, self.width * col_spacing)

    def is_on(self, sop_instance_uid: str, frame_number: Optional[int] = None) -> bool:
        """Whether the ROI is drawn on that image (and frame)."""
        return self.sop_instance_uid == sop_instance_uid and self.frame_number == frame_number

    # -- derived copies (each stamps ``modified``) -------------------------------------------------

    def with_box(
        self, row0: float, col0: float, row1: float, col1: float, *, when: Optional[datetime] = None
    ) -> "RectRoi":
        """A copy with new edges and ``modified`` set to ``when`` (default now)."""
        return replace(self, row0=row0, col0=col0, row1=row1, col1=col1, modified=when or utc_now())

    def moved(self, d_row: float, d_col: float, *, when: Optional[datetime] = None) -> "RectRoi":
        """A copy shifted by ``d_row`` rows and ``d_col`` columns."""
        return self.with_box(
            self.row0 + d_row, self.col0 + d_col, self.row1 + d_row, self.col1 + d_col, when=when
        )

    def with_kind(self, kind: Union[RoiKind, str], *, when: Optional[datetime] = None) -> "RectRoi":
        """A copy with another kind."""
        return replace(self, kind=kind, modified=when or utc_now())

    # -- serialisation ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (UIDs, geometry, kind, timestamps, author)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "study_instance_uid": self.study_instance_uid,
            "series_instance_uid": self.series_instance_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "frame_number": self.frame_number,
            "row0": self.row0,
            "col0": self.col0,
            "row1": self.row1,
            "col1": self.col1,
            "created": _format_time(self.created),
            "modified": _format_time(self.modified),  # type: ignore[arg-type]
            "author": self.author,
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "roi") -> "RectRoi":
        """Rebuild a ROI from :meth:`to_dict` output, strictly.

        Parameters
        ----------
        data
            A mapping with exactly the keys :meth:`to_dict` writes.
        where
            Path of ``data`` in the enclosing document, used in error messages.

        Raises
        ------
        AnnotationError
            Naming the missing, unknown or invalid field.
        """
        fields = _exact_keys(data, _ROI_KEYS, where)
        try:
            return cls(
                id=fields["id"],
                kind=fields["kind"],
                study_instance_uid=fields["study_instance_uid"],
                series_instance_uid=fields["series_instance_uid"],
                sop_instance_uid=fields["sop_instance_uid"],
                frame_number=fields["frame_number"],
                row0=fields["row0"],
                col0=fields["col0"],
                row1=fields["row1"],
                col1=fields["col1"],
                created=_parse_time("created", fields["created"]),
                modified=_parse_time("modified", fields["modified"]),
                author=fields["author"],
            )
        except AnnotationError as exc:
            raise exc.within(where) from None


_ROI_KEYS = frozenset(
    ("id", "kind", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "frame_number",
     "row0", "col0", "row1", "col1", "created", "modified", "author")
)
