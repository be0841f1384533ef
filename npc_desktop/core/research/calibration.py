"""Fitting the ensemble on validation patients: temperatures, vote weights, patient threshold.

Everything here sees only the validation patients, who never train a member (see
:func:`.member_training._prepare_data`); the test patients are never touched.

- :func:`fit_temperature`: one temperature per member, minimising the negative log-likelihood
  of ``softmax(logits / T)`` (Guo et al. 2017) by a bounded 1-D search on ``log T``.
- :func:`fit_vote_weights`: non-negative weights summing to 1 that minimise the validation
  log-loss of the weighted soft vote (the mixture's maximum-likelihood weights, found by EM,
  which keeps them on the simplex and never increases the loss).
- :func:`choose_vote_weights`: ``equal`` (the paper's eq. 1), ``validation`` or ``auto``; auto
  compares the two by log-loss cross-validated over validation patients, so the weights are
  never judged on the patches that fitted them.
- :func:`fit_patient_threshold`: the two-class patient-level threshold with the best balanced
  accuracy on validation patients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from npc_desktop.core.models.voting import calibrated_probabilities, soft_vote

__all__ = [
    "TEMPERATURE_BOUNDS",
    "VOTE_WEIGHT_METHODS",
    "VoteChoice",
    "choose_vote_weights",
    "fit_patient_threshold",
    "fit_temperature",
    "fit_vote_weights",
    "log_loss",
]

TEMPERATURE_BOUNDS = (0.05, 50.0)
"""Search range of a temperature."""
VOTE_WEIGHT_METHODS = ("auto", "equal", "validation")
_EPS = 1e-12


def log_loss(probabilities: np.ndarray, labels: Sequence[int]) -> float:
    """Mean negative log-likelihood of the true classes (natural log; clipped at 1e-12)."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if p.ndim != 2 or p.shape[0] != y.size or y.size == 0:
        raise ValueError(f"need (n, k) probabilities for n labels, got {p.shape} for {y.size}")
    return float(-np.mean(np.log(np.clip(p[np.arange(y.size), y], _EPS, 1.0))))


def fit_temperature(logits: np.ndarray, labels: Sequence[int]) -> float:
    """The temperature minimising the NLL of ``softmax(logits / T)`` on the given patches.

    Parameters
    ----------
    logits
        ``(n, k)`` one member's pre-softmax scores on validation patches.
    labels
        ``(n,)`` true class indices.

    Returns
    -------
    float
        ``T`` in :data:`TEMPERATURE_BOUNDS` (1.0 when there are no patches).
    """
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if y.size == 0:
        return 1.0

    def loss(log_t: float) -> float:
        return log_loss(calibrated_probabilities(z[None], [math.exp(log_t)])[0], y)

    low, high = (math.log(b) for b in TEMPERATURE_BOUNDS)
    found = minimize_scalar(loss, bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    best = float(found.x)
    return float(math.exp(best)) if loss(best) <= loss(0.0) else 1.0


def fit_vote_weights(member_probabilities: np.ndarray, labels: Sequence[int], *, iterations: int = 500) -> np.ndarray:
    """Weights on the simplex minimising the log-loss of ``sum_i w_i p_i`` (EM for mixture weights).

    Parameters
    ----------
    member_probabilities
        ``(m, n, k)`` each member's (calibrated) probabilities on validation patches.
    labels
        ``(n,)`` true class indices.
    iterations
        EM steps at most (it stops earlier when the weights settle).

    Returns
    -------
    numpy.ndarray
        ``(m,)`` non-negative, summing to 1.
    """
    p = np.asarray(member_probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    m = p.shape[0]
    weights = np.full(m, 1.0 / m)
    if y.size == 0:
        return weights
    truth = np.clip(p[:, np.arange(y.size), y], _EPS, 1.0)  # (m, n): each member's p(true class)
    for _ in range(iterations):
        joint = weights[:, None] * truth
        updated = (joint / joint.sum(axis=0, keepdims=True)).mean(axis=1)
        if np.max(np.abs(updated - weights)) < 1e-9:
            weights = updated
            break
        weights = updated
    weights = np.clip(weights, 0.0, None)
    return weights / weights.sum()


@dataclass(frozen=True)
class VoteChoice:
    """The vote weights chosen, and why.

    Attributes
    ----------
    method
        ``"equal"`` or ``"validation"``.
    requested
        What was asked: ``"auto"``, ``"equal"`` or ``"validation"``.
    weights
        ``(m,)`` non-negative, summing to 1.
    reason
        One sentence for the report.
    log_loss
        Cross-validated validation log-loss of each option (None when not measurable).
    """

    method: str
    requested: str
    weights: np.ndarray
    reason: str
    log_loss: dict[str, Optional[float]]

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``calibration.vote_weights`` object."""
        return {"method": self.method, "requested": self.requested, "reason": self.reason,
                "validation_log_loss": {k: None if v is None else round(v, 6) for k, v in self.log_loss.items()}}


def _patient_folds(patients: Sequence[str], count: int) -> list[np.ndarray]:
    ids = sorted(set(patients))
    fold_of = {p: i % count for i, p in enumerate(np.random.default_rng(0).permutation(ids))}
    index = np.array([fold_of[p] for p in patients])
    return [np.flatnonzero(index == f) for f in range(count)]


def cross_validated_losses(
    member_probabilities: np.ndarray, labels: Sequence[int], patients: Sequence[str], *, folds: int = 5
) -> tuple[float, float]:
    """Validation log-loss of equal and of fitted weights, each patient scored by weights fitted without it."""
    p = np.asarray(member_probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    count = min(folds, len(set(patients)))
    equal_vote = soft_vote(p)
    fitted_vote = np.empty_like(equal_vote)
    for held in _patient_folds(patients, count):
        rest = np.setdiff1d(np.arange(y.size), held)
        fitted_vote[held] = soft_vote(p[:, held], fit_vote_weights(p[:, rest], y[rest]))
    return log_loss(equal_vote, y), log_loss(fitted_vote, y)


def choose_vote_weights(
    member_probabilities: np.ndarray, labels: Sequence[int], patients: Sequence[str], requested: str = "auto"
) -> VoteChoice:
    """Equal or validation-fitted weights, as requested; ``auto`` picks the lower cross-validated log-loss.

    Parameters
    ----------
    member_probabilities
        ``(m, n, k)`` the voting members' calibrated probabilities on validation patches.
    labels, patients
        True class and patient of each validation patch.
    requested
        ``"auto"``, ``"equal"`` or ``"validation"``.

    Raises
    ------
    ValueError
        For another ``requested`` value, or ``"validation"`` without validation patches.
    """
    if requested not in VOTE_WEIGHT_METHODS:
        raise ValueError(f"vote weights must be one of {', '.join(VOTE_WEIGHT_METHODS)}, got {requested!r}")
    p = np.asarray(member_probabilities, dtype=np.float64)
    m = p.shape[0]
    equal = np.full(m, 1.0 / m)
    if len(labels) == 0 or len(set(patients)) < 2 or m < 2:
        if requested == "validation" and m >= 2:
            raise ValueError("validation vote weights need validation patches of at least two patients")
        return VoteChoice("equal", requested, equal, "equal weights: no validation patients to fit weights on"
                          if m >= 2 else "one voting member", {"equal": None, "validation": None})
    loss_equal, loss_fitted = cross_validated_losses(p, labels, patients)
    losses: dict[str, Optional[float]] = {"equal": loss_equal, "validation": loss_fitted}
    figures = (f"validation log-loss {loss_fitted:.4f} with fitted weights vs {loss_equal:.4f} with equal "
               f"weights (each validation patient scored by weights fitted without it)")
    if requested == "equal":
        return VoteChoice("equal", requested, equal, f"equal weights, as requested; {figures}", losses)
    fitted = fit_vote_weights(p, labels)
    if requested == "validation":
        return VoteChoice("validation", requested, fitted, f"validation weights, as requested; {figures}", losses)
    if loss_fitted < loss_equal:
        return VoteChoice("validation", requested, fitted, f"validation weights chosen: {figures}", losses)
    return VoteChoice("equal", requested, equal, f"equal weights chosen: {figures}", losses)


def fit_patient_threshold(patient_probabilities: np.ndarray, patient_labels: Sequence[int], positive: int = 1) -> float:
    """The threshold on the positive class's patient probability with the best balanced accuracy.

    Candidates are the midpoints between consecutive distinct probabilities; ties go to the one
    closest to 0.5 (the argmax rule), so a threshold moves only when validation patients ask for it.

    Raises
    ------
    ValueError
        Without validation patients of both classes, or for more than two classes.
    """
    p = np.asarray(patient_probabilities, dtype=np.float64)
    y = np.asarray(patient_labels, dtype=np.int64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError("a patient threshold needs exactly two classes")
    is_positive = y == positive
    if not is_positive.any() or is_positive.all():
        raise ValueError("a patient threshold needs validation patients of both classes")
    scores = np.unique(p[:, positive])
    candidates = np.unique(np.r_[0.5, (scores[1:] + scores[:-1]) / 2.0])
    candidates = candidates[(candidates > 0.0) & (candidates < 1.0)]

    def balanced(threshold: float) -> float:
        chosen = p[:, positive] >= threshold
        return 0.5 * (np.mean(chosen[is_positive]) + np.mean(~chosen[~is_positive]))

    scored = [(balanced(t), -abs(t - 0.5), float(t)) for t in candidates]
    return max(scored)[2]
