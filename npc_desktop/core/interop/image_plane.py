"""The plane of one stored image from its header: pixel points to patient coordinates and back.

Classic images carry ImagePositionPatient, ImageOrientationPatient and PixelSpacing; enhanced
multi-frame images carry them per frame in the functional groups (PS3.3 C.7.6.16). Pixel points
are ``(row, col)`` in the sub-pixel convention of the annotations (the centre of pixel ``(r, c)``
is ``(r + 0.5, c + 0.5)``), and the first half of ImageOrientationPatient is the direction of
increasing column index (PS3.3 C.7.6.2.1.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from pydicom.dataset import Dataset

from npc_desktop.core.interop.sr_common import SrError

__all__ = ["ImagePlane", "image_plane"]


@dataclass(frozen=True)
class ImagePlane:
    """Origin (centre of the first pixel), unit row and column directions and spacing in mm."""

    origin: np.ndarray
    along_columns: np.ndarray
    along_rows: np.ndarray
    row_spacing: float
    col_spacing: float

    @property
    def pixel_spacing(self) -> tuple[float, float]:
        """``(row_spacing, col_spacing)``, DICOM PixelSpacing's order."""
        return (self.row_spacing, self.col_spacing)

    def to_patient(self, row: float, col: float) -> np.ndarray:
        """Patient coordinates (LPS mm) of a sub-pixel point."""
        return (self.origin + (col - 0.5) * self.col_spacing * self.along_columns
                + (row - 0.5) * self.row_spacing * self.along_rows)

    def to_pixel(self, point: Sequence[float]) -> tuple[float, float]:
        """``(row, col)`` of the projection of a patient point onto the plane."""
        offset = np.asarray(point, dtype=float) - self.origin
        col = float(offset @ self.along_columns) / self.col_spacing + 0.5
        row = float(offset @ self.along_rows) / self.row_spacing + 0.5
        return (row, col)


def _first(item: Any, sequence: str, keyword: str) -> Optional[Any]:
    items = getattr(item, sequence, None)
    if not items:
        return None
    return getattr(items[0], keyword, None)


def image_plane(header: Dataset, frame_number: Optional[int] = None) -> ImagePlane:
    """The plane of an image (or of one frame of a multi-frame image) from its header.

    Raises
    ------
    SrError
        Naming the image and the missing attribute.
    """
    position = getattr(header, "ImagePositionPatient", None)
    orientation = getattr(header, "ImageOrientationPatient", None)
    spacing = getattr(header, "PixelSpacing", None)
    shared = (getattr(header, "SharedFunctionalGroupsSequence", None) or [None])[0]
    per_frame = getattr(header, "PerFrameFunctionalGroupsSequence", None)
    frame = per_frame[frame_number - 1] if per_frame and frame_number and frame_number <= len(per_frame) else None
    for groups in (frame, shared):
        if groups is None:
            continue
        position = position or _first(groups, "PlanePositionSequence", "ImagePositionPatient")
        orientation = orientation or _first(groups, "PlaneOrientationSequence", "ImageOrientationPatient")
        spacing = spacing or _first(groups, "PixelMeasuresSequence", "PixelSpacing")
    name = f"image {getattr(header, 'SOPInstanceUID', '?')}"
    for keyword, value in (("ImagePositionPatient", position), ("ImageOrientationPatient", orientation),
                           ("PixelSpacing", spacing)):
        if value is None:
            raise SrError(f"{name} has no {keyword}, so a measurement on it cannot be placed in patient space")
    cosines = np.asarray([float(v) for v in orientation], dtype=float)  # type: ignore[union-attr]
    return ImagePlane(
        origin=np.asarray([float(v) for v in position], dtype=float),  # type: ignore[union-attr]
        along_columns=cosines[:3] / np.linalg.norm(cosines[:3]),
        along_rows=cosines[3:6] / np.linalg.norm(cosines[3:6]),
        row_spacing=float(spacing[0]),  # type: ignore[index]
        col_spacing=float(spacing[1]),  # type: ignore[index]
    )
