"""Grad-CAM: a model trained to see a bright square looks at it; randomised weights change the map."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from npc_desktop.core.models.cam import (
    BilinearUpsampler,
    GradCAM,
    MinMaxNormaliser,
    grad_cam_map,
    map_to_box,
    paste_into_slice,
)

SIZE = 32
SQUARE = 8


def _square_images(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise images; class 1 has a bright square at a random place. Returns images, labels, corners."""
    images = rng.normal(60.0, 15.0, (count, SIZE, SIZE)).clip(0, 255)
    labels = np.arange(count) % 2
    corners = rng.integers(0, SIZE - SQUARE + 1, (count, 2))
    for image, label, (r, c) in zip(images, labels, corners):
        if label:
            image[r : r + SQUARE, c : c + SQUARE] = 230.0
    x = np.repeat(images[..., None], 3, axis=-1).astype(np.float32)
    return x, labels, corners


@pytest.fixture(scope="module")
def square_model() -> Any:
    """A Basic CNN member trained (in a few seconds) to detect a bright square."""
    import keras

    from npc_desktop.core.models.architectures import build_member

    model = build_member("basic_cnn", input_size=SIZE, class_names=("empty", "square"), dense_units=32, seed=11)
    x, y, _ = _square_images(np.random.default_rng(11), 600)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    x_test, y_test, _ = _square_images(np.random.default_rng(12), 100)
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))
    assert accuracy >= 0.95, f"the square detector did not learn (accuracy {accuracy})"
    return model


def test_heatmap_peak_lies_inside_the_square(square_model: Any) -> None:
    x, y, corners = _square_images(np.random.default_rng(5), 40)
    positives = np.flatnonzero(y == 1)
    cams = GradCAM(square_model, "conv3")(x[positives], class_idx=1)
    assert cams.shape == (len(positives), SIZE, SIZE)
    hits = 0
    for cam, (r, c) in zip(cams, corners[positives]):
        peak = np.unravel_index(np.argmax(cam), cam.shape)
        hits += r <= peak[0] < r + SQUARE and c <= peak[1] < c + SQUARE
    assert hits == len(positives), f"peak inside the square for only {hits} of {len(positives)} images"


def test_randomised_weights_change_the_map(square_model: Any) -> None:
    from npc_desktop.core.models.architectures import build_member

    x, y, _ = _square_images(np.random.default_rng(6), 20)
    x = x[y == 1]
    trained = GradCAM(square_model, "conv3")(x, class_idx=1)
    random_model = build_member("basic_cnn", input_size=SIZE, class_names=("empty", "square"), dense_units=32, seed=99)
    randomised = GradCAM(random_model, "conv3")(x, class_idx=1)
    correlations = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(trained, randomised)
                    if a.std() > 0 and b.std() > 0]
    assert np.mean(np.abs(trained - randomised)) > 0.1
    assert not correlations or np.median(correlations) < 0.8


def test_frozen_base_still_gets_a_map(square_model: Any) -> None:
    x, y, _ = _square_images(np.random.default_rng(7), 4)
    before = GradCAM(square_model, "conv3").compute_map(x, 1)[0]
    for layer in square_model.layers[:8]:
        layer.trainable = False
    try:
        after = GradCAM(square_model, "conv3").compute_map(x, 1)[0]
    finally:
        for layer in square_model.layers:
            layer.trainable = True
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    assert after.max() > 0


def test_grad_cam_arithmetic_against_a_hand_computed_case() -> None:
    activations = np.zeros((1, 2, 2, 2), np.float32)
    activations[0, 0, 0] = [1.0, 0.0]
    activations[0, 1, 1] = [0.0, 2.0]
    gradients = np.zeros_like(activations)
    gradients[0, :, :, 0] = 0.4  # alpha_0 = 0.4
    gradients[0, :, :, 1] = -0.2  # alpha_1 = -0.2
    cam = grad_cam_map(activations, gradients)
    np.testing.assert_allclose(cam, [[[0.4, 0.0], [0.0, 0.0]]])  # relu(-0.4) = 0


def test_injected_upsampler_and_normaliser() -> None:
    coarse = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
    calls: list[tuple[int, int]] = []

    def nearest(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        calls.append(size)
        return np.kron(cam, np.ones((size[0] // 2, size[1] // 2), np.float32))

    out = map_to_box(coarse, (4, 6), upsampler=nearest, postprocessing=lambda m: m / 3.0)
    assert calls == [(4, 6)]
    np.testing.assert_allclose(out[:2, :3], 0.0)
    np.testing.assert_allclose(out[2:, 3:], 1.0)
    default = map_to_box(coarse, (4, 6))
    assert default.shape == (4, 6) and default.min() == 0.0 and default.max() == pytest.approx(1.0)
    assert np.all(MinMaxNormaliser()(BilinearUpsampler()(np.full((1, 1), 0.37, np.float32), (9, 7))) == 0.0)


def test_paste_into_slice_places_the_map_on_the_box() -> None:
    cam = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = paste_into_slice(cam, (1, 2, 3, 5), (4, 6))
    np.testing.assert_array_equal(out[1:3, 2:5], cam)
    assert np.isnan(out[0]).all() and np.isnan(out[:, :2]).all()
    with pytest.raises(ValueError, match="does not fit"):
        paste_into_slice(cam, (0, 0, 3, 3), (4, 6))
