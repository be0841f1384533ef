"""Patch preprocessing: normalisation, CLAHE and the 8-bit model input.

The paper enhances the MR with CLAHE before cropping (section 3.3). :class:`PatchPreprocessing`
and :func:`prepare_patch` turn a cropped :class:`~npc_desktop.core.annotation.patches.Patch`
into the 8-bit image the ensemble, the dataset export and the viewer's preview all use, through
:mod:`npc_desktop.core.preprocessing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Optional

import numpy as np

from npc_desktop.core.annotation.patches import ContextMargin, Patch, crop_patch
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.dicom.volume import Volume
from npc_desktop.core.preprocessing import apply_clahe, foreground_window, percentile_window, window_to_uint8

# --------------------------------------------------------------------------------------------------
# Normalisation and CLAHE


class Normalisation(str, Enum):
    """How stored values become 0-255."""

    WINDOW = "window"
    """A fixed (centre, width) window; the series' header window if none is given."""
    PERCENTILE = "percentile"
    """The ``percentiles`` of the image (slice or patch, see ``scope``)."""
    FOREGROUND = "foreground"
    """The ``percentiles`` of the tissue signal only, ignoring air (MR presets)."""


@dataclass(frozen=True, kw_only=True)
class PatchPreprocessing:
    """Normalisation to 8 bits followed by CLAHE: parameters here, work in ``__call__``.

    Parameters
    ----------
    normalisation
        :class:`Normalisation` or its value.
    window
        ``(centre, width)`` for :attr:`Normalisation.WINDOW`; None uses the series' window.
    percentiles
        ``(low, high)`` for the percentile modes.
    clahe
        Apply CLAHE after normalisation.
    clip_limit, tile_grid
        CLAHE parameters; the tile grid is reduced for images smaller than it.
    scope
        ``"slice"``: normalise and enhance the whole slice, then crop (the paper's order,
        section 3.3, and what the viewer shows). ``"patch"``: crop first, then process the
        patch on its own.
    """

    # Tissue percentiles up to 99.9: on the demo study the whole-slice 1-99 % window saturated
    # 60-88 % of a contrast-enhancing lesion's pixels, erasing the texture the models need; this
    # default keeps saturation mostly under 10 %.
    normalisation: Normalisation = Normalisation.FOREGROUND
    window: Optional[tuple[float, float]] = None
    percentiles: tuple[float, float] = (1.0, 99.9)
    clahe: bool = True
    clip_limit: float = 2.0
    tile_grid: tuple[int, int] = (8, 8)
    scope: str = "slice"

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalisation", Normalisation(self.normalisation))
        if self.scope not in ("slice", "patch"):
            raise ValueError(f"PatchPreprocessing.scope must be 'slice' or 'patch', got {self.scope!r}")
        low, high = self.percentiles
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(
                f"PatchPreprocessing.percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles}"
            )
        if self.window is not None and not (len(self.window) == 2 and self.window[1] > 0):
            raise ValueError(f"PatchPreprocessing.window must be (centre, width > 0), got {self.window!r}")

    def to_uint8(self, image: np.ndarray, *, window: Optional[tuple[float, float]] = None) -> np.ndarray:
        """Normalise ``image`` to uint8 without CLAHE.

        Parameters
        ----------
        image
            2-D array of stored values.
        window
            Fallback window for :attr:`Normalisation.WINDOW` when ``self.window`` is None.
        """
        mode = self.normalisation
        if mode is Normalisation.WINDOW:
            chosen = self.window or window
            if chosen is None:
                raise ValueError("window normalisation needs a window: set PatchPreprocessing.window")
            centre, width = chosen
        elif mode is Normalisation.PERCENTILE:
            centre, width = percentile_window(image, *self.percentiles)
        else:
            centre, width = foreground_window(image, *self.percentiles)
        return window_to_uint8(image, centre, width)

    def __call__(self, image: np.ndarray, *, window: Optional[tuple[float, float]] = None) -> np.ndarray:
        """Normalise ``image`` to uint8, then apply CLAHE if enabled.

        Returns
        -------
        numpy.ndarray
            uint8 array of the same shape.
        """
        out = self.to_uint8(image, window=window)
        if not self.clahe:
            return out
        grid = (min(self.tile_grid[0], out.shape[0]), min(self.tile_grid[1], out.shape[1]))
        return apply_clahe(out, clip_limit=self.clip_limit, tile_grid=grid)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, for dataset and model bundle manifests."""
        return {
            "normalisation": self.normalisation.value,
            "window": list(self.window) if self.window else None,
            "percentiles": list(self.percentiles),
            "clahe": self.clahe,
            "clip_limit": self.clip_limit,
            "tile_grid": list(self.tile_grid),
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PatchPreprocessing":
        """The inverse of :meth:`to_dict` (JSON lists become tuples); unknown keys raise TypeError."""
        values = dict(data)
        for key in ("window", "percentiles", "tile_grid"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass(frozen=True, eq=False)
class PreparedPatch:
    """A patch and its 8-bit preprocessed image (same shape as ``patch.pixels``)."""

    patch: Patch
    image: np.ndarray


def _series_window(volume: Volume) -> tuple[float, float]:
    return volume.window if volume.window is not None else volume.auto_window()


def _finish(image: np.ndarray, volume: Volume) -> np.ndarray:
    # MONOCHROME1 stores bright as low; the models expect bright tissue bright.
    return np.subtract(255, image, dtype=np.uint8) if volume.invert else image


def prepare_patch(
    volume: Volume,
    roi: RectRoi,
    *,
    margin: ContextMargin = ContextMargin(),
    preprocessing: PatchPreprocessing = PatchPreprocessing(),
) -> PreparedPatch:
    """Crop a patch and preprocess it the way the ensemble and the dataset export do.

    Parameters
    ----------
    volume, roi, margin
        As for :func:`crop_patch`.
    preprocessing
        Normalisation and CLAHE settings (including whether they see the slice or the patch).

    Returns
    -------
    PreparedPatch

    Raises
    ------
    PatchError
        As :func:`crop_patch`.
    """
    return prepare_patches(volume, [roi], margin=margin, preprocessing=preprocessing)[0]


def prepare_patches(
    volume: Volume,
    rois: Iterable[RectRoi],
    *,
    margin: ContextMargin = ContextMargin(),
    preprocessing: PatchPreprocessing = PatchPreprocessing(),
) -> list[PreparedPatch]:
    """:func:`prepare_patch` for many ROIs, processing each slice only once.

    Raises
    ------
    PatchError
        For the first ROI that cannot be cropped.
    """
    window = _series_window(volume) if preprocessing.normalisation is Normalisation.WINDOW else None
    processed: dict[int, np.ndarray] = {}
    out: list[PreparedPatch] = []
    for roi in rois:
        patch = crop_patch(volume, roi, margin)
        if preprocessing.scope == "slice":
            if patch.slice_index not in processed:
                processed[patch.slice_index] = preprocessing(volume.voxels[patch.slice_index], window=window)
            image = processed[patch.slice_index][patch.box.slices].copy()
        else:
            image = preprocessing(patch.pixels, window=window)
        out.append(PreparedPatch(patch, _finish(image, volume)))
    return out
