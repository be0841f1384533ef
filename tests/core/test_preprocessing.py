"""Windowing, percentile scaling and CLAHE of the shared preprocessing module."""

from __future__ import annotations

import numpy as np
import pytest

from npc_desktop.core.preprocessing import (
    MR_PRESETS,
    apply_clahe,
    foreground_window,
    percentile_to_uint8,
    percentile_window,
    window_to_uint8,
)


def _tile_std(image: np.ndarray, tiles: int = 8) -> np.ndarray:
    rows, cols = image.shape
    h, w = rows // tiles, cols // tiles
    return np.array(
        [image[r * h:(r + 1) * h, c * w:(c + 1) * w].astype(float).std()
         for r in range(tiles) for c in range(tiles)]
    )


def _low_contrast_texture(seed: int = 3) -> np.ndarray:
    """A dim, low-contrast textured image with a brightness gradient (like a coil bias)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:256]
    texture = 6.0 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 2.0, (256, 256))
    gradient = 40.0 + 120.0 * xx / 255.0
    return np.clip(gradient + texture, 0, 255).astype(np.uint8)


def test_window_maps_ends_and_middle() -> None:
    image = np.array([[0, 50, 100, 150, 200]], dtype=np.uint16)
    out = window_to_uint8(image, centre=100, width=100)
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 128, 255, 255]]


def test_window_handles_negative_float_and_nan() -> None:
    image = np.array([-1000.0, 40.0, np.nan, 1e9], dtype=np.float32)
    out = window_to_uint8(image, centre=40, width=400)
    assert out.tolist() == [0, 128, 0, 255]


@pytest.mark.parametrize("width", [0, -5, float("nan"), float("inf")])
def test_window_rejects_bad_width(width: float) -> None:
    with pytest.raises(ValueError, match="width"):
        window_to_uint8(np.zeros((4, 4)), 10, width)


def test_percentile_to_uint8_spreads_the_range() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(1000, 50, (128, 128)).astype(np.float32)
    out = percentile_to_uint8(image)
    assert out.min() == 0 and out.max() == 255
    assert abs(float(np.mean(out == 0)) - 0.01) < 0.005
    assert abs(float(np.mean(out == 255)) - 0.01) < 0.005


def test_percentile_to_uint8_flat_image_is_valid() -> None:
    out = percentile_to_uint8(np.full((8, 8), 7, dtype=np.int16))
    assert out.dtype == np.uint8 and out.shape == (8, 8)
    assert np.unique(out).size == 1


@pytest.mark.parametrize("low, high", [(50, 50), (-1, 99), (1, 101), (90, 10)])
def test_percentiles_are_validated(low: float, high: float) -> None:
    with pytest.raises(ValueError, match="percentiles"):
        percentile_to_uint8(np.zeros((4, 4)), low, high)


def test_percentile_window_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile_window(np.zeros((0, 4)))


def test_foreground_window_ignores_air() -> None:
    rng = np.random.default_rng(1)
    image = rng.normal(5, 2, (200, 200))  # air noise
    image[50:150, 50:150] = rng.normal(800, 100, (100, 100))  # tissue: a quarter of the image
    centre, width = foreground_window(image, 1, 99)
    assert 500 < centre - width / 2 < 700
    assert 900 < centre + width / 2 < 1100
    whole = percentile_window(image, 1, 99)
    assert whole[0] - whole[1] / 2 < 20  # the plain percentile window starts in the air


def test_mr_presets_are_valid_percentiles() -> None:
    for low, high in MR_PRESETS.values():
        assert 0 <= low < high <= 100


def test_clahe_raises_local_contrast() -> None:
    image = _low_contrast_texture()
    out = apply_clahe(image, clip_limit=2.0, tile_grid=(8, 8))
    assert out.dtype == np.uint8 and out.shape == image.shape
    before, after = _tile_std(image), _tile_std(out)
    assert np.median(after / before) > 1.5
    assert np.all(after >= before * 0.9)


def test_clahe_clip_limit_orders_the_enhancement() -> None:
    image = _low_contrast_texture()
    gentle = _tile_std(apply_clahe(image, clip_limit=1.0)).mean()
    strong = _tile_std(apply_clahe(image, clip_limit=4.0)).mean()
    assert strong > gentle


def test_clahe_is_identity_ish_on_a_flat_image() -> None:
    image = np.full((64, 64), 100, dtype=np.uint8)
    out = apply_clahe(image)
    assert np.unique(out).size == 1
    assert abs(int(out[0, 0]) - 100) <= 30
    assert _tile_std(out, 4).max() == 0


def test_clahe_tile_grid_is_rows_then_columns() -> None:
    image = _low_contrast_texture()[:, :128]
    out = apply_clahe(image, tile_grid=(16, 2))
    assert out.shape == (256, 128)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"clip_limit": 0}, "clip_limit"),
        ({"clip_limit": -1.0}, "clip_limit"),
        ({"clip_limit": float("nan")}, "clip_limit"),
        ({"clip_limit": "high"}, "clip_limit"),
        ({"tile_grid": (0, 8)}, "tile_grid"),
        ({"tile_grid": (8,)}, "tile_grid"),
        ({"tile_grid": (2.5, 8)}, "tile_grid"),
        ({"tile_grid": (100, 8)}, "more tiles"),
    ],
)
def test_clahe_validates_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_clahe(np.zeros((64, 64), dtype=np.uint8), **kwargs)


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((16, 16), dtype=np.uint16), "uint8"),
        (np.zeros((4, 16, 16), dtype=np.uint8), "2-D"),
        (np.zeros((0, 16), dtype=np.uint8), "2-D"),
    ],
)
def test_clahe_validates_the_image(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_clahe(image)
