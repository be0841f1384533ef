"""The loaded image volume: voxels plus patient geometry and per-slice identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from npc_desktop.core.preprocessing import percentile_window


@dataclass(frozen=True)
class SeriesMeta:
    """Identity and description of the series a volume came from."""

    key: str
    series_instance_uid: str
    study_instance_uid: str
    frame_of_reference_uid: str
    modality: str
    series_description: str
    series_number: Optional[int]
    patient_name: str
    patient_id: str
    patient_birth_date: str
    patient_sex: str
    study_date: str
    study_description: str


@dataclass(frozen=True)
class SliceRef:
    """Which stored image a slice of the volume is: the SOP instance and, for multi-frame, the frame."""

    sop_instance_uid: str
    frame_number: Optional[int] = None
    """1-based frame number inside a multi-frame instance, None for single-frame files."""
    decoded: bool = True
    """False when the slice's pixel data could not be decoded and the slice is blank."""


@dataclass(eq=False)
class Volume:
    """A series loaded as a 3-D array with its geometry.

    Attributes
    ----------
    voxels
        Array of shape (slices, rows, columns) in stored values after Rescale Slope and
        Intercept: the stored integer type when the rescale is the identity, else float32.
    spacing
        (column spacing, row spacing, slice spacing) in mm: SimpleITK's (x, y, z) order.
    origin
        Patient position (mm) of the centre of the first voxel of the first slice.
    direction
        3x3 matrix whose columns are the patient-space directions of the column, row and
        slice index axes (SimpleITK's convention, flattened row-major by ``GetDirection``).
    slices
        The stored image behind each slice, in slice order.
    window
        (centre, width) from the header, or None.
    skipped
        (file, problem) for each file whose pixel data could not be decoded.
    decoders
        Files decoded per decoder, e.g. ``{"pylibjpeg": 119, "pydicom": 1}``.
    """

    voxels: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    slices: list[SliceRef]
    meta: SeriesMeta
    window: Optional[tuple[float, float]] = None
    invert: bool = False
    warnings: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    decoders: dict[str, int] = field(default_factory=dict)
    """How many of the series' files each decoder decoded (``"native"`` for uncompressed data)."""

    def __post_init__(self) -> None:
        if self.voxels.ndim != 3:
            raise ValueError(f"voxels must be 3-D (slices, rows, columns), got {self.voxels.shape}")
        if len(self.slices) != self.voxels.shape[0]:
            raise ValueError("one SliceRef is needed per slice")
        self.direction = np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(slices, rows, columns)."""
        return tuple(self.voxels.shape)  # type: ignore[return-value]

    @property
    def slice_positions(self) -> np.ndarray:
        """Distance (mm) of each slice along the slice normal."""
        normal = self.direction[:, 2]
        start = float(np.dot(self.origin, normal))
        return start + np.arange(self.shape[0]) * self.spacing[2]

    def index_to_patient(self, slice_index: float, row: float, column: float) -> np.ndarray:
        """Patient coordinates (mm) of a voxel index (fractional indices allowed)."""
        ijk = np.array([column, row, slice_index], dtype=float) * np.asarray(self.spacing)
        return np.asarray(self.origin) + self.direction @ ijk

    def patient_to_index(self, point: Any) -> np.ndarray:
        """Fractional (slice, row, column) index of a patient point (mm)."""
        offset = np.asarray(point, dtype=float) - np.asarray(self.origin)
        ijk = np.linalg.solve(self.direction, offset) / np.asarray(self.spacing)
        return np.array([ijk[2], ijk[1], ijk[0]])

    def nearest_slice(self, point: Any) -> int:
        """The slice index nearest to a patient point, clipped to the volume."""
        index = self.patient_to_index(point)[0]
        return int(np.clip(np.rint(index), 0, self.shape[0] - 1))

    def auto_window(self, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
        """(centre, width) spanning the ``low``-``high`` percentiles of a voxel sample."""
        sample = self.voxels[:: max(1, self.shape[0] // 16), ::4, ::4]
        return percentile_window(sample, low, high)

    def to_sitk(self) -> Any:
        """The volume as a SimpleITK image with the same geometry."""
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(self.voxels)
        image.SetSpacing(tuple(float(s) for s in self.spacing))
        image.SetOrigin(tuple(float(o) for o in self.origin))
        image.SetDirection(tuple(float(d) for d in self.direction.flatten()))
        return image
