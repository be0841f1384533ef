"""The one patch-to-model-input function."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from npc_desktop.core.models.inputs import InputError, batch_inputs, to_model_input
from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing


def test_uint8_patch_resized_to_three_equal_channels() -> None:
    rng = np.random.default_rng(0)
    patch = rng.integers(0, 256, (90, 60), dtype=np.uint8)
    x = to_model_input(patch, (48, 40))
    assert x.shape == (48, 40, 3) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    expected = cv2.resize(patch.astype(np.float32), (40, 48), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(x[..., 1], expected, atol=1e-4)
    assert 0.0 <= x.min() and x.max() <= 255.0


def test_same_size_is_unchanged_and_enlarging_is_bilinear() -> None:
    patch = np.arange(64, dtype=np.uint8).reshape(8, 8)
    np.testing.assert_array_equal(to_model_input(patch, 8)[..., 0], patch.astype(np.float32))
    up = to_model_input(patch, (16, 16))[..., 0]
    np.testing.assert_allclose(up, cv2.resize(patch.astype(np.float32), (16, 16), interpolation=cv2.INTER_LINEAR))


def test_uint16_png_levels_divide_by_257() -> None:
    levels = np.array([[0, 1, 128, 255]], dtype=np.uint8)
    x = to_model_input(levels.astype(np.uint16) * 257, (1, 4))
    np.testing.assert_array_equal(x[..., 0], levels.astype(np.float32))


def test_uint16_raw_crop_with_preprocessing_uses_patch_scope() -> None:
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 4096, (40, 40)).astype(np.uint16)
    pre = PatchPreprocessing()
    x = to_model_input(raw, 40, preprocessing=pre)
    expected = PatchPreprocessing(scope="patch")(raw)
    np.testing.assert_array_equal(x[..., 0], expected.astype(np.float32))


def test_channel_axes_and_bad_inputs() -> None:
    grey = np.full((10, 12), 7, np.uint8)
    np.testing.assert_array_equal(to_model_input(grey[..., None], 10), to_model_input(grey, 10))
    np.testing.assert_array_equal(to_model_input(np.stack([grey] * 3, -1), 10), to_model_input(grey, 10))
    colour = np.stack([grey, grey, grey + 1], -1)
    with pytest.raises(InputError, match="grey"):
        to_model_input(colour, 10)
    with pytest.raises(InputError, match="2-D"):
        to_model_input(np.zeros((2, 3, 4, 5), np.uint8), 10)
    with pytest.raises(InputError, match="empty"):
        to_model_input(np.zeros((0, 5), np.uint8), 10)
    with pytest.raises(InputError, match="int32"):
        to_model_input(np.zeros((5, 5), np.int32), 10)
    with pytest.raises(InputError, match="NaN"):
        to_model_input(np.full((5, 5), np.nan, np.float32), 10)
    np.testing.assert_array_equal(to_model_input(np.full((2, 2), 300.0), 2)[..., 0], np.full((2, 2), 255.0))


def test_batch_inputs_stacks_and_names_the_bad_patch() -> None:
    patches = [np.zeros((10, 10), np.uint8), np.full((20, 30), 255, np.uint8)]
    batch = batch_inputs(patches, (16, 16))
    assert batch.shape == (2, 16, 16, 3)
    assert batch[0].max() == 0 and batch[1].min() == 255
    with pytest.raises(InputError, match="patch 1"):
        batch_inputs([patches[0], np.zeros((3, 3), np.int64)], 16)
