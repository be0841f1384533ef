"""Intensity preprocessing shared by the viewer, the patch pipeline and dataset export.

Every function here takes and returns numpy arrays and never imports Qt, so the viewer's CLAHE
preview and the patches fed to the ensemble go through exactly the same code.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = [
    "MR_PRESETS",
    "window_to_uint8",
    "percentile_window",
    "percentile_to_uint8",
    "foreground_window",
    "apply_clahe",
]

MR_PRESETS: dict[str, tuple[float, float]] = {
    "mr_t1c": (3.0, 99.7),
    "mr_t2": (1.0, 97.0),
}
"""Foreground percentiles ``(low, high)`` of the MR window presets.

MR intensities have no absolute scale, so the presets are defined on the distribution of the
tissue signal (see :func:`foreground_window`). Contrast T1 keeps the brightest enhancing tissue
(mucosa, tumour, vessels) just below white; T2 clips the fluid (CSF, necrosis) so that the
tumour-muscle contrast is not squeezed into the dark half of the grey scale.
"""


def _check_window(centre: float, width: float) -> None:
    if not (math.isfinite(centre) and math.isfinite(width)):
        raise ValueError(f"window centre and width must be finite, got {centre}, {width}")
    if width <= 0:
        raise ValueError(f"window width must be positive, got {width}")


def window_to_uint8(image: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Map intensities to 0-255 with a linear window.

    Values at or below ``centre - width / 2`` become 0, values at or above
    ``centre + width / 2`` become 255; NaN becomes 0. This is the mapping the viewer applies with
    its display levels, so a windowed array looks like the slice on screen.

    Parameters
    ----------
    image
        Array of any shape and numeric dtype.
    centre, width
        Window centre and width in the image's units; ``width`` must be positive.

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape.

    Raises
    ------
    ValueError
        If the window is not finite or the width is not positive.
    """
    centre, width = float(centre), float(width)
    _check_window(centre, width)
    low = centre - width / 2.0
    scaled = (np.asarray(image, dtype=np.float32) - np.float32(low)) * np.float32(255.0 / width)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    np.clip(scaled, 0.0, 255.0, out=scaled)
    return np.rint(scaled, out=scaled).astype(np.uint8)


def _check_percentiles(low: float, high: float) -> None:
    if not (0.0 <= low < high <= 100.0):
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {low}, {high}")


def percentile_window(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """The (centre, width) window spanning the ``low``-``high`` percentiles of ``image``.

    Parameters
    ----------
    image
        Array of any shape; NaN values are ignored.
    low, high
        Percentiles, ``0 <= low < high <= 100``.

    Returns
    -------
    tuple of float
        ``(centre, width)``; the width is at least 1 so a flat image still has a valid window.

    Raises
    ------
    ValueError
        If the percentiles are out of order or the image is empty.
    """
    _check_percentiles(low, high)
    values = np.asarray(image)
    if values.size == 0:
        raise ValueError("cannot compute a window of an empty image")
    lo, hi = np.nanpercentile(values, [low, high])
    width = max(float(hi - lo), 1.0)
    return float(lo) + width / 2.0, width


def percentile_to_uint8(image: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Window ``image`` between its ``low`` and ``high`` percentiles and map to 0-255.

    Parameters
    ----------
    image
        Array of any shape and numeric dtype.
    low, high
        Percentiles, ``0 <= low < high <= 100``.

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape.

    Raises
    ------
    ValueError
        If the percentiles are out of order or the image is empty.
    """
    centre, width = percentile_window(image, low, high)
    return window_to_uint8(image, centre, width)


def foreground_window(
    image: np.ndarray, low: float, high: float, *, threshold_fraction: float = 0.08
) -> tuple[float, float]:
    """A window from percentiles of the tissue signal, ignoring the air around the patient.

    On MR, air is most of the field of view, so percentiles of the whole image are dominated by
    noise. Voxels above ``threshold_fraction`` times the 99.5th percentile count as tissue.

    Parameters
    ----------
    image
        Array of any shape (a slice, a volume or a sample of it).
    low, high
        Percentiles of the tissue voxels, ``0 <= low < high <= 100``.
    threshold_fraction
        Fraction of the 99.5th percentile above which a voxel is tissue, in (0, 1).

    Returns
    -------
    tuple of float
        ``(centre, width)`` with a width of at least 1.

    Raises
    ------
    ValueError
        If an argument is out of range or the image is empty.
    """
    _check_percentiles(low, high)
    if not 0.0 < threshold_fraction < 1.0:
        raise ValueError(f"threshold_fraction must be in (0, 1), got {threshold_fraction}")
    values = np.asarray(image, dtype=np.float32).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("cannot compute a window of an empty image")
    top = float(np.percentile(values, 99.5))
    tissue = values[values > threshold_fraction * top] if top > 0 else values
    if tissue.size < 16:
        tissue = values
    return percentile_window(tissue, low, high)


def _check_tile_grid(tile_grid: Sequence[int], shape: tuple[int, ...]) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in tile_grid)
        exact = all(float(v) == int(v) for v in tile_grid)
    except (TypeError, ValueError):
        raise ValueError(f"tile_grid must be two positive integers, got {tile_grid!r}") from None
    if not exact or rows < 1 or cols < 1:
        raise ValueError(f"tile_grid must be two positive integers, got {tile_grid!r}")
    if rows > shape[0] or cols > shape[1]:
        raise ValueError(
            f"tile_grid {rows}x{cols} has more tiles than the image has pixels ({shape[0]}x{shape[1]})"
        )
    return rows, cols


def apply_clahe(
    image_uint8: np.ndarray, clip_limit: float = 2.0, tile_grid: Sequence[int] = (8, 8)
) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (OpenCV's CLAHE) of an 8-bit image.

    Parameters
    ----------
    image_uint8
        2-D uint8 array (rows, columns), for example from :func:`window_to_uint8`.
    clip_limit
        Contrast limit relative to a flat histogram; positive and finite. 1 leaves contrast
        almost unchanged, larger values enhance more (and amplify noise).
    tile_grid
        Number of tiles as ``(rows, columns)``; each at least 1 and at most the image size.

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape.

    Raises
    ------
    ValueError
        If the image is not a non-empty 2-D uint8 array or an argument is out of range.
    """
    import cv2  # imported here: OpenCV's import cost is only paid by callers of CLAHE

    image = np.asarray(image_uint8)
    if image.dtype != np.uint8:
        raise ValueError(f"apply_clahe needs a uint8 image, got {image.dtype}; window it first")
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"apply_clahe needs a non-empty 2-D image, got shape {image.shape}")
    try:
        clip = float(clip_limit)
    except (TypeError, ValueError):
        raise ValueError(f"clip_limit must be a positive number, got {clip_limit!r}") from None
    if not math.isfinite(clip) or clip <= 0:
        raise ValueError(f"clip_limit must be a positive number, got {clip_limit!r}")
    rows, cols = _check_tile_grid(tile_grid, image.shape)
    # OpenCV's tileGridSize is (width, height), i.e. (columns, rows).
    clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(cols, rows))
    return clahe.apply(np.ascontiguousarray(image))
