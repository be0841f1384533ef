"""Patch cropping: a ROI plus surrounding tissue, clipped at the image edge.

The paper crops each tumour or lymph node with the tissue around it (patches of 50 to 300 pixels,
section 3.1). :func:`crop_patch` gives the raw stored values and the geometry;
:mod:`npc_desktop.core.models.patch_preprocessing` turns them into model input.

Boxes use the pixel-edge convention of :mod:`npc_desktop.core.annotation.rois`: an integer box
``(row0, col0, row1, col1)`` is ``pixels[row0:row1, col0:col1]``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.dicom.volume import Volume

__all__ = [
    "PatchError",
    "ContextMargin",
    "PatchBox",
    "PatchGeometry",
    "Patch",
    "patch_geometry",
    "find_slice",
    "pixel_spacing",
    "crop_patch",
]

_EPS = 1e-6  # absorbs float noise so that 10.000000001 does not grow a box by one pixel


class PatchError(ValueError):
    """A patch cannot be cropped (ROI outside the image, not in the volume, blank slice)."""


@dataclass(frozen=True, kw_only=True)
class ContextMargin:
    """How much tissue around a ROI a patch keeps, per side.

    Parameters
    ----------
    fraction
        Margin as a fraction of the ROI's height (above and below) and width (left and right).
    mm
        Additional absolute margin in millimetres on every side.
    """

    fraction: float = 0.2
    mm: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fraction", "mm"):
            value = getattr(self, name)
            valid = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not valid or not math.isfinite(value) or value < 0:
                raise ValueError(f"ContextMargin.{name} must be a finite number >= 0, got {value!r}")

    def pixels(
        self, height: float, width: float, *, row_spacing: float, col_spacing: float
    ) -> tuple[float, float]:
        """``(row_margin, col_margin)`` in pixels for a ROI of ``height`` x ``width`` pixels."""
        return (
            self.fraction * height + self.mm / row_spacing,
            self.fraction * width + self.mm / col_spacing,
        )

    def to_dict(self) -> dict[str, float]:
        """The JSON-ready form (for manifests)."""
        return {"fraction": float(self.fraction), "mm": float(self.mm)}


@dataclass(frozen=True)
class PatchBox:
    """An integer pixel box, end-exclusive: ``pixels[row0:row1, col0:col1]``."""

    row0: int
    col0: int
    row1: int
    col1: int

    @property
    def height(self) -> int:
        """Rows in the box."""
        return self.row1 - self.row0

    @property
    def width(self) -> int:
        """Columns in the box."""
        return self.col1 - self.col0

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(row slice, column slice)`` for indexing a 2-D array."""
        return (slice(self.row0, self.row1), slice(self.col0, self.col1))

    def to_mm(self, *, row_spacing: float, col_spacing: float) -> tuple[float, float, float, float]:
        """``(top, left, bottom, right)`` in mm from the top-left corner of the image."""
        return (
            self.row0 * row_spacing, self.col0 * col_spacing, self.row1 * row_spacing, self.col1 * col_spacing
        )


@dataclass(frozen=True)
class PatchGeometry:
    """Where a patch lies on its image.

    Attributes
    ----------
    box
        The patch, clipped to the image.
    requested
        The patch before clipping (may extend past the image).
    clipped_sides
        Subset of ``{"top", "bottom", "left", "right"}`` where the image edge cut the patch.
    roi_clipped
        Whether the ROI itself (not only its margin) extends past the image.
    """

    box: PatchBox
    requested: PatchBox
    clipped_sides: frozenset[str]
    roi_clipped: bool

    @property
    def clipped(self) -> bool:
        """Whether the image edge cut the patch at all."""
        return bool(self.clipped_sides)


def patch_geometry(
    roi_box: Sequence[float],
    image_shape: Sequence[int],
    margin: ContextMargin = ContextMargin(),
    *,
    row_spacing: float = 1.0,
    col_spacing: float = 1.0,
) -> PatchGeometry:
    """The patch box of a ROI: ROI plus margin, grown to whole pixels, clipped to the image.

    Parameters
    ----------
    roi_box
        ``(row0, col0, row1, col1)`` of the ROI in (sub-)pixel edge coordinates.
    image_shape
        ``(rows, columns)`` of the image.
    margin
        Context margin per side.
    row_spacing, col_spacing
        Pixel spacing in mm, needed for ``margin.mm``.

    Returns
    -------
    PatchGeometry

    Raises
    ------
    PatchError
        If the ROI lies entirely outside the image.
    """
    row0, col0, row1, col1 = (float(v) for v in roi_box)
    rows, cols = int(image_shape[0]), int(image_shape[1])
    if not (row_spacing > 0 and col_spacing > 0):
        raise ValueError(f"pixel spacing must be positive, got {row_spacing}, {col_spacing}")
    d_row, d_col = margin.pixels(row1 - row0, col1 - col0, row_spacing=row_spacing, col_spacing=col_spacing)
    requested = PatchBox(
        math.floor(row0 - d_row + _EPS),
        math.floor(col0 - d_col + _EPS),
        math.ceil(row1 + d_row - _EPS),
        math.ceil(col1 + d_col - _EPS),
    )
    box = PatchBox(
        max(requested.row0, 0), max(requested.col0, 0), min(requested.row1, rows), min(requested.col1, cols)
    )
    roi_inside = row1 > _EPS and col1 > _EPS and row0 < rows - _EPS and col0 < cols - _EPS
    if not roi_inside or box.height <= 0 or box.width <= 0:
        raise PatchError(
            f"the ROI ({row0:g}, {col0:g})-({row1:g}, {col1:g}) lies outside the {rows}x{cols} image"
        )
    sides = frozenset(
        side
        for side, cut in (
            ("top", requested.row0 < 0),
            ("left", requested.col0 < 0),
            ("bottom", requested.row1 > rows),
            ("right", requested.col1 > cols),
        )
        if cut
    )
    roi_clipped = row0 < -_EPS or col0 < -_EPS or row1 > rows + _EPS or col1 > cols + _EPS
    return PatchGeometry(box, requested, sides, roi_clipped)


@dataclass(frozen=True, eq=False)
class Patch:
    """A cropped patch in stored values, with where it came from.

    Attributes
    ----------
    pixels
        2-D array (rows, columns), a copy of the volume's stored values (after rescale).
    geometry
        Box, requested box and clipping report.
    slice_index
        Index of the slice in the volume.
    sop_instance_uid, frame_number
        The stored image of that slice.
    roi
        The ROI the patch was cropped for.
    row_spacing, col_spacing
        Pixel spacing in mm.
    """

    pixels: np.ndarray
    geometry: PatchGeometry
    slice_index: int
    sop_instance_uid: str
    frame_number: Optional[int]
    roi: RectRoi
    row_spacing: float
    col_spacing: float

    @property
    def box(self) -> PatchBox:
        """The (clipped) patch box in pixels."""
        return self.geometry.box

    @property
    def box_mm(self) -> tuple[float, float, float, float]:
        """``(top, left, bottom, right)`` in mm from the top-left corner of the image."""
        return self.box.to_mm(row_spacing=self.row_spacing, col_spacing=self.col_spacing)

    @property
    def size_mm(self) -> tuple[float, float]:
        """``(height_mm, width_mm)`` of the patch."""
        return (self.box.height * self.row_spacing, self.box.width * self.col_spacing)

    @property
    def clipped(self) -> bool:
        """Whether the image edge cut the patch."""
        return self.geometry.clipped

    @property
    def kind(self) -> RoiKind:
        """The ROI's kind."""
        return self.roi.kind

    @property
    def roi_in_patch(self) -> tuple[float, float, float, float]:
        """The ROI's box relative to the patch's top-left corner (for drawing on the patch)."""
        return (
            self.roi.row0 - self.box.row0,
            self.roi.col0 - self.box.col0,
            self.roi.row1 - self.box.row0,
            self.roi.col1 - self.box.col0,
        )


def find_slice(volume: Volume, sop_instance_uid: str, frame_number: Optional[int] = None) -> int:
    """The index of the slice of ``volume`` that is that stored image (and frame).

    Raises
    ------
    PatchError
        If the volume has no such slice.
    """
    for index, ref in enumerate(volume.slices):
        if ref.sop_instance_uid == sop_instance_uid and ref.frame_number == frame_number:
            return index
    frame = f" frame {frame_number}" if frame_number is not None else ""
    name = volume.meta.series_description or volume.meta.series_instance_uid
    raise PatchError(f"image {sop_instance_uid}{frame} is not a slice of series '{name}'")


def pixel_spacing(volume: Volume) -> tuple[float, float]:
    """``(row_spacing, col_spacing)`` in mm of a volume's slices (``Volume.spacing`` is x, y, z)."""
    return float(volume.spacing[1]), float(volume.spacing[0])


def crop_patch(volume: Volume, roi: RectRoi, margin: ContextMargin = ContextMargin()) -> Patch:
    """Crop the ROI plus context margin from its slice, in stored values.

    Parameters
    ----------
    volume
        The loaded series the ROI was drawn on.
    roi
        The ROI.
    margin
        Context margin per side.

    Returns
    -------
    Patch
        Clipped at the image edge; ``patch.geometry`` says where and whether the ROI itself
        was cut.

    Raises
    ------
    PatchError
        If the ROI's image is not in the volume, could not be decoded, or the ROI lies
        entirely outside the image.
    """
    index = find_slice(volume, roi.sop_instance_uid, roi.frame_number)
    if not volume.slices[index].decoded:
        raise PatchError(f"slice {index} (image {roi.sop_instance_uid}) could not be decoded; it is blank")
    row_spacing, col_spacing = pixel_spacing(volume)
    geometry = patch_geometry(
        roi.box, volume.shape[1:], margin, row_spacing=row_spacing, col_spacing=col_spacing
    )
    pixels = np.array(volume.voxels[index][geometry.box.slices], copy=True)
    return Patch(
        pixels, geometry, index, roi.sop_instance_uid, roi.frame_number, roi, row_spacing, col_spacing
    )
