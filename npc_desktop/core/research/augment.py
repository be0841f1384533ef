"""Data augmentation of model inputs: rotation, shift, shear, zoom and flip (the paper's section 3.3).

One random affine transform per image, drawn from a generator seeded by
``(seed, copy, image key)``, so an augmented copy is the same whatever the batch order or
process: the feature cache can key on it, and a resumed training run sees the same data.
Works on grey float images (the model input before its three channels are repeated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

__all__ = ["Augmentation", "rng_for", "augment_inputs"]


@dataclass(frozen=True, kw_only=True)
class Augmentation:
    """Ranges of the random transforms (as in Keras' ImageDataGenerator).

    Parameters
    ----------
    rotation_deg
        Rotation drawn from ``[-rotation_deg, rotation_deg]``.
    shift
        Translation drawn from ``[-shift, shift]`` times the image height / width.
    shear_deg
        Shear angle drawn from ``[-shear_deg, shear_deg]``.
    zoom
        Scale drawn from ``[1 - zoom, 1 + zoom]`` per axis.
    horizontal_flip, vertical_flip
        Flip with probability 1/2.
    """

    rotation_deg: float = 15.0
    shift: float = 0.1
    shear_deg: float = 8.0
    zoom: float = 0.1
    horizontal_flip: bool = True
    vertical_flip: bool = False

    def __post_init__(self) -> None:
        for name in ("rotation_deg", "shift", "shear_deg", "zoom"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"Augmentation.{name} must be a finite number >= 0, got {value!r}")
        if self.zoom >= 1 or self.shift >= 1:
            raise ValueError("Augmentation.zoom and Augmentation.shift must be below 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for cache keys and bundle provenance)."""
        return {
            "rotation_deg": float(self.rotation_deg), "shift": float(self.shift),
            "shear_deg": float(self.shear_deg), "zoom": float(self.zoom),
            "horizontal_flip": bool(self.horizontal_flip), "vertical_flip": bool(self.vertical_flip),
        }

    def matrix(self, rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
        """A random 2x3 affine matrix (output -> input pixel mapping) about the image centre."""
        angle = math.radians(rng.uniform(-self.rotation_deg, self.rotation_deg))
        shear = math.radians(rng.uniform(-self.shear_deg, self.shear_deg))
        zoom_y, zoom_x = rng.uniform(1 - self.zoom, 1 + self.zoom, size=2)
        shift_y = rng.uniform(-self.shift, self.shift) * rows
        shift_x = rng.uniform(-self.shift, self.shift) * cols
        flip_x = -1.0 if self.horizontal_flip and rng.random() < 0.5 else 1.0
        flip_y = -1.0 if self.vertical_flip and rng.random() < 0.5 else 1.0
        cos, sin = math.cos(angle), math.sin(angle)
        rotation = np.array([[cos, -sin], [sin, cos]])
        shearing = np.array([[1.0, -math.sin(shear)], [0.0, math.cos(shear)]])
        scaling = np.diag([flip_x / zoom_x, flip_y / zoom_y])
        linear = rotation @ shearing @ scaling  # acts on (x, y) of the output image
        centre = np.array([(cols - 1) / 2.0, (rows - 1) / 2.0])
        offset = centre - linear @ centre + np.array([shift_x, shift_y])
        return np.hstack([linear, offset[:, None]])

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One augmented copy of a 2-D float image (same shape, reflected at the borders)."""
        rows, cols = image.shape
        matrix = self.matrix(rng, rows, cols)
        return cv2.warpAffine(
            np.ascontiguousarray(image, dtype=np.float32), matrix, (cols, rows),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT_101,
        )


def rng_for(seed: int, copy: int, key: str) -> np.random.Generator:
    """The generator of augmented copy ``copy`` of the image with content key ``key`` (hex)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(copy), int(key[:16], 16)])


def augment_inputs(
    grey: np.ndarray, keys: Sequence[str], *, augmentation: Augmentation, seed: int, copy: int
) -> np.ndarray:
    """Augmented copies of grey model inputs ``(n, rows, cols)`` float32 in 0..255.

    Copy 0 is the unchanged input; copy ``c > 0`` of the image with content key ``k`` is
    transformed with the generator :func:`rng_for` ``(seed, c, k)``.
    """
    if copy == 0:
        return grey
    out = np.empty_like(grey)
    for index, key in enumerate(keys):
        out[index] = np.clip(augmentation(grey[index], rng_for(seed, copy, key)), 0.0, 255.0)
    return out
