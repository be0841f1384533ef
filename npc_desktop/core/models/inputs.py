"""The one patch-to-model-input function, shared by the ensemble, training and the dataset export.

Public API
----------
``to_model_input(image, input_size, *, preprocessing=None) -> (rows, cols, 3) float32 in 0..255``
``batch_inputs(images, input_size, *, preprocessing=None) -> (n, rows, cols, 3) float32``

Accepted images:

* uint8, 2-D: the 8-bit (CLAHE) patch of :func:`npc_desktop.core.models.patch_preprocessing.prepare_patch`, used as is.
* uint16, 2-D: a 16-bit PNG. With ``preprocessing=None`` it is taken as a full-range 16-bit image
  and divided by 257 (so a PNG written from 8-bit values, ``v * 257``, gives back ``v`` exactly).
  With a :class:`~npc_desktop.core.models.patch_preprocessing.PatchPreprocessing` it is a raw crop: normalised to 8 bits
  and CLAHE-enhanced on its own (the patch scope) first.
* float, 2-D: grey values already in 0..255 (for example an augmented patch); clipped to 0..255.
* ``(rows, cols, 1)`` or ``(rows, cols, 3)``: a PNG read with a channel axis; a 3-channel image
  must be grey (all channels equal) and its first channel is used.

The image is resized to ``input_size`` (``cv2.INTER_AREA`` when shrinking, bilinear when enlarging
either axis; the aspect ratio is not kept, as in the paper) in float32 and the grey channel is
repeated three times. Each member's ``preprocess_input`` happens inside the member (see
:mod:`.architectures`), so this is the only input convention.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence, Union

import cv2
import numpy as np

from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing

__all__ = ["InputError", "to_model_input", "batch_inputs", "to_grey_uint8_range"]

SizeLike = Union[int, Sequence[int]]


class InputError(ValueError):
    """An image cannot be turned into a model input (wrong shape, type or size)."""


def _size(input_size: SizeLike) -> tuple[int, int]:
    if isinstance(input_size, (int, np.integer)) and not isinstance(input_size, bool):
        rows = cols = int(input_size)
    else:
        try:
            rows, cols = (int(v) for v in input_size)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise InputError(f"input size {input_size!r} is not (rows, columns)") from None
    if rows < 1 or cols < 1:
        raise InputError(f"input size {input_size!r} must be positive")
    return rows, cols


def to_grey_uint8_range(
    image: np.ndarray, *, preprocessing: Optional[PatchPreprocessing] = None
) -> np.ndarray:
    """The 2-D float32 grey image in 0..255 that :func:`to_model_input` resizes.

    Parameters
    ----------
    image
        See the module docstring for the accepted types and shapes.
    preprocessing
        Normalisation and CLAHE for a raw 16-bit crop; ignored for uint8 and float images.

    Raises
    ------
    InputError
        For an empty image, an unsupported dtype or shape, or a colour image.
    """
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] in (1, 3):
        if array.shape[2] == 3 and not (
            np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2])
        ):
            raise InputError("a 3-channel image must be grey (all channels equal)")
        array = array[..., 0]
    if array.ndim != 2:
        raise InputError(f"a patch must be 2-D (rows, columns), got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"a patch must not be empty, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32)
    if array.dtype == np.uint16:
        if preprocessing is not None:
            return replace(preprocessing, scope="patch")(array).astype(np.float32)
        return array.astype(np.float32) / np.float32(257.0)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise InputError("a float patch must not contain NaN or infinity")
        return np.clip(array, 0.0, 255.0).astype(np.float32)
    raise InputError(f"unsupported patch type {array.dtype}: expected uint8, uint16 or float")


def to_model_input(
    image: np.ndarray,
    input_size: SizeLike,
    *,
    preprocessing: Optional[PatchPreprocessing] = None,
) -> np.ndarray:
    """Turn one patch into a member input: resized, 3 channels, float32 0..255.

    Parameters
    ----------
    image
        The patch (see the module docstring).
    input_size
        ``(rows, columns)`` of the member's input, or a square side.
    preprocessing
        For raw 16-bit crops only: normalisation and CLAHE applied before resizing.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns, 3)`` float32, C-contiguous.

    Raises
    ------
    InputError
        For an unusable image or size.
    """
    rows, cols = _size(input_size)
    grey = to_grey_uint8_range(image, preprocessing=preprocessing)
    if grey.shape != (rows, cols):
        shrinking = grey.shape[0] >= rows and grey.shape[1] >= cols
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        grey = cv2.resize(grey, (cols, rows), interpolation=interpolation)
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2), dtype=np.float32)


def batch_inputs(
    images: Sequence[np.ndarray],
    input_size: SizeLike,
    *,
    preprocessing: Optional[PatchPreprocessing] = None,
) -> np.ndarray:
    """:func:`to_model_input` for many patches, stacked to ``(n, rows, columns, 3)`` float32.

    Raises
    ------
    InputError
        For the first unusable image (the message gives its position).
    """
    rows, cols = _size(input_size)
    out = np.empty((len(images), rows, cols, 3), dtype=np.float32)
    for index, image in enumerate(images):
        try:
            out[index] = to_model_input(image, (rows, cols), preprocessing=preprocessing)
        except InputError as exc:
            raise InputError(f"patch {index}: {exc}") from None
    return out
