"""Temperatures, vote weights, patient threshold, ECE and Brier: checked against direct references and sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sklearn_log_loss

from npc_desktop.core.models.voting import calibrated_probabilities, calibrated_vote, soft_vote
from npc_desktop.core.research.calibration import (
    choose_vote_weights,
    fit_patient_threshold,
    fit_temperature,
    fit_vote_weights,
    log_loss,
)
from npc_desktop.core.research.metrics import brier_score, classification_metrics, expected_calibration_error


def _miscalibrated(n: int = 600, k: int = 2, scale: float = 4.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z), logits reported as scale * z: an overconfident model."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, k))
    p = softmax(z, axis=1)
    y = np.array([rng.choice(k, p=row) for row in p])
    return scale * z, y


def test_calibrated_probabilities_is_softmax_of_scaled_logits() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 5, size=(3, 7, 4))
    temperatures = [0.5, 1.0, 3.0]
    expected = np.stack([softmax(z / t, axis=-1) for z, t in zip(logits, temperatures)])
    np.testing.assert_allclose(calibrated_probabilities(logits, temperatures), expected, rtol=1e-12)
    np.testing.assert_allclose(calibrated_probabilities(logits), softmax(logits, axis=-1), rtol=1e-12)
    with pytest.raises(ValueError, match="temperatures"):
        calibrated_probabilities(logits, [1.0, 0.0, 1.0])


def test_calibrated_vote_sharpens_or_softens_without_changing_the_class() -> None:
    p = softmax(np.random.default_rng(4).normal(0, 1, size=(20, 3)), axis=1)
    for t in (0.5, 2.0):
        expected = p ** (1 / t) / np.sum(p ** (1 / t), axis=1, keepdims=True)
        np.testing.assert_allclose(calibrated_vote(p, t), expected, rtol=1e-10)
        np.testing.assert_array_equal(calibrated_vote(p, t).argmax(1), p.argmax(1))
    np.testing.assert_array_equal(calibrated_vote(p, 1.0), p)
    with pytest.raises(ValueError, match="temperature"):
        calibrated_vote(p, -1.0)


def test_temperature_scaling_lowers_nll_on_a_miscalibrated_set() -> None:
    logits, y = _miscalibrated()
    before = log_loss(calibrated_probabilities(logits[None])[0], y)
    t = fit_temperature(logits, y)
    after = log_loss(calibrated_probabilities(logits[None], [t])[0], y)
    assert 2.5 < t < 6.0, t  # the true scale is 4
    assert after < before - 0.05, (before, after)
    assert after == pytest.approx(sklearn_log_loss(y, softmax(logits / t, axis=1)), rel=1e-9)
    # it changes confidence, never the predicted class
    np.testing.assert_array_equal(softmax(logits / t, axis=1).argmax(1), logits.argmax(1))


def test_vote_weights_are_non_negative_sum_to_one_and_lower_the_log_loss() -> None:
    rng = np.random.default_rng(1)
    logits, y = _miscalibrated(n=400, seed=2)
    good = softmax(logits / 4.0, axis=1)
    noise = softmax(rng.normal(0, 3, size=good.shape), axis=1)  # a member that knows nothing
    members = np.stack([good, noise, 0.5 * good + 0.5 * noise])
    weights = fit_vote_weights(members, y)
    assert weights.shape == (3,) and np.all(weights >= 0) and weights.sum() == pytest.approx(1.0)
    assert weights[0] > 0.8
    assert log_loss(soft_vote(members, weights), y) < log_loss(soft_vote(members), y)
    patients = [f"P{i // 8}" for i in range(len(y))]
    choice = choose_vote_weights(members, y, patients, "auto")
    assert choice.method == "validation" and "log-loss" in choice.reason
    assert choice.log_loss["validation"] < choice.log_loss["equal"]
    equal = choose_vote_weights(members, y, patients, "equal")
    np.testing.assert_allclose(equal.weights, [1 / 3] * 3)
    with pytest.raises(ValueError, match="vote weights"):
        choose_vote_weights(members, y, patients, "best")


def test_auto_keeps_equal_weights_when_fitting_does_not_help() -> None:
    logits, y = _miscalibrated(n=300, seed=5)
    same = softmax(logits / 4.0, axis=1)
    members = np.stack([same, same])
    choice = choose_vote_weights(members, y, [f"P{i // 6}" for i in range(len(y))], "auto")
    assert choice.method == "equal"
    np.testing.assert_allclose(choice.weights, [0.5, 0.5])


def _reference_ece(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Guo et al. (2017), written out loop by loop."""
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = (confidence > low) & (confidence <= high) if b else (confidence >= 0) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return total


@pytest.mark.parametrize("k", [2, 4])
def test_ece_equals_a_direct_reference_and_brier_equals_sklearn(k: int) -> None:
    logits, y = _miscalibrated(n=500, k=k, seed=k)
    p = softmax(logits, axis=1)
    assert expected_calibration_error(y, p) == pytest.approx(_reference_ece(y, p), abs=1e-12)
    if k == 2:
        assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p[:, 1]), abs=1e-12)
    else:
        assert brier_score(y, p) == pytest.approx(np.mean(np.sum((p - np.eye(k)[y]) ** 2, axis=1)), abs=1e-12)
    metrics = classification_metrics(y, p, [f"c{i}" for i in range(k)]).to_dict()
    assert metrics["ece"] == pytest.approx(_reference_ece(y, p), abs=1e-6)
    assert metrics["brier"] == pytest.approx(brier_score(y, p), abs=1e-6)
    # a perfectly confident, always right model is perfectly calibrated
    assert expected_calibration_error(y, np.eye(k)[y]) == 0.0 and brier_score(y, np.eye(k)[y]) == 0.0


def test_patient_threshold_moves_only_when_validation_asks() -> None:
    separable = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.2, 0.8], [0.1, 0.9]])
    assert fit_patient_threshold(separable, [0, 0, 0, 1, 1]) == 0.5
    shifted = np.array([[0.9, 0.1], [0.8, 0.2], [0.65, 0.35], [0.6, 0.4], [0.55, 0.45]])
    threshold = fit_patient_threshold(shifted, [0, 0, 1, 1, 1])
    assert 0.2 < threshold <= 0.35
    with pytest.raises(ValueError, match="both classes"):
        fit_patient_threshold(shifted, [0, 0, 0, 0, 0])
