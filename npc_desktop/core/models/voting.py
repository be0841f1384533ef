"""Soft voting exactly as the paper's equations (1) and (2), plus agreement and patient aggregation.

Equation (1): ``p = (1/m) sum_i p_i`` (here optionally weighted: ``sum_i w_i p_i / sum_i w_i``, which is
(1) for equal weights and what sklearn's ``VotingClassifier(voting="soft", weights=w)`` computes).
Equation (2): ``c = argmax p`` (ties go to the first class, as numpy and sklearn do).
Pure NumPy.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

__all__ = [
    "calibrated_probabilities",
    "soft_vote", "vote_class", "member_votes", "agreement", "aggregate_patient", "normalised_weights"]


def normalised_weights(count: int, weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """Member weights summing to 1 (equal when None).

    Raises
    ------
    ValueError
        Wrong length, a negative or non-finite weight, or all zero.
    """
    if weights is None:
        return np.full(count, 1.0 / count)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (count,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {count} finite non-negative numbers, not all 0; got {list(w)}")
    return w / w.sum()


def calibrated_probabilities(member_logits: np.ndarray, temperatures: Optional[Sequence[float]] = None) -> np.ndarray:
    """Each member's softmax of its temperature-scaled logits: ``softmax(logits / T)``.

    Parameters
    ----------
    member_logits
        ``(m, n, k)`` pre-softmax class scores.
    temperatures
        One positive temperature per member; 1 (plain softmax) when None.

    Returns
    -------
    numpy.ndarray
        ``(m, n, k)`` float64 probabilities.
    """
    z = np.asarray(member_logits, dtype=np.float64)
    t = np.ones(z.shape[0]) if temperatures is None else np.asarray(temperatures, dtype=np.float64)
    if t.shape != (z.shape[0],) or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"temperatures must be {z.shape[0]} positive numbers, got {list(np.ravel(t))}")
    z = z / t.reshape((-1,) + (1,) * (z.ndim - 1))
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def soft_vote(member_probabilities: np.ndarray, weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """Equation (1): the (weighted) mean of the members' class-probability vectors.

    Parameters
    ----------
    member_probabilities
        ``(m, n, k)``: m members, n patches, k classes (or ``(m, k)`` for one patch).
    weights
        Optional member weights (length m).

    Returns
    -------
    numpy.ndarray
        ``(n, k)`` (or ``(k,)``) float64.
    """
    p = np.asarray(member_probabilities, dtype=np.float64)
    if p.ndim not in (2, 3) or p.shape[0] == 0:
        raise ValueError(f"member probabilities must be (members, [patches,] classes), got {p.shape}")
    w = normalised_weights(p.shape[0], weights)
    return np.tensordot(w, p, axes=(0, 0))


def vote_class(probabilities: np.ndarray) -> np.ndarray:
    """Equation (2): index of the largest probability along the last axis."""
    return np.argmax(np.asarray(probabilities), axis=-1)


def member_votes(member_probabilities: np.ndarray) -> np.ndarray:
    """Each member's own class: ``(m, n)`` (or ``(m,)``) indices."""
    return vote_class(member_probabilities)


def agreement(
    member_probabilities: np.ndarray, classes: np.ndarray, weights: Optional[Sequence[float]] = None
) -> np.ndarray:
    """Share of the (weighted) members whose own vote is the ensemble's class.

    Parameters
    ----------
    member_probabilities
        ``(m, n, k)`` or ``(m, k)``.
    classes
        The ensemble classes, ``(n,)`` or a scalar.
    weights
        Member weights (equal when None).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` (or scalar) in 0..1; 1 means unanimous.
    """
    votes = member_votes(member_probabilities)
    w = normalised_weights(votes.shape[0], weights)
    agree = (votes == np.asarray(classes)[None, ...]).astype(np.float64)
    return np.tensordot(w, agree, axes=(0, 0))


def aggregate_patient(
    patch_probabilities: np.ndarray, method: str = "mean", patch_weights: Optional[Sequence[float]] = None
) -> np.ndarray:
    """Combine per-patch ensemble probabilities into one patient-level vector.

    Parameters
    ----------
    patch_probabilities
        ``(n, k)``.
    method
        ``"mean"`` (default: equation (1) over patches), ``"median"`` (per class, renormalised to
        sum 1) or ``"vote"`` (fraction of patches whose class is each class).
    patch_weights
        Optional weights for ``"mean"`` and ``"vote"`` (for example to weight tumour over nodes).

    Returns
    -------
    numpy.ndarray
        ``(k,)`` summing to 1.
    """
    p = np.asarray(patch_probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"patch probabilities must be (patches, classes) with patches >= 1, got {p.shape}")
    w = normalised_weights(p.shape[0], patch_weights)
    if method == "mean":
        return w @ p
    if method == "median":
        median = np.median(p, axis=0)
        return median / median.sum() if median.sum() > 0 else np.full(p.shape[1], 1.0 / p.shape[1])
    if method == "vote":
        onehot = np.eye(p.shape[1])[vote_class(p)]
        return w @ onehot
    raise ValueError(f"patient aggregation must be 'mean', 'median' or 'vote', got {method!r}")
