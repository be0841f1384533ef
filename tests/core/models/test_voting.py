"""Soft voting against sklearn's VotingClassifier(voting="soft") on the same probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import VotingClassifier

from npc_desktop.core.models.voting import (
    aggregate_patient,
    agreement,
    member_votes,
    soft_vote,
    vote_class,
)


class FixedProbabilities(ClassifierMixin, BaseEstimator):
    """A 'classifier' whose predict_proba(X) returns stored rows indexed by X[:, 0]."""

    def __init__(self, probabilities: np.ndarray | None = None) -> None:
        self.probabilities = probabilities

    def fit(self, X: np.ndarray, y: np.ndarray) -> "FixedProbabilities":
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.probabilities[X[:, 0].astype(int)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _random_member_probs(rng: np.random.Generator, members: int, patches: int, classes: int) -> np.ndarray:
    raw = rng.random((members, patches, classes)) ** 3
    return raw / raw.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("weights", [None, [1.0, 2.0, 0.5, 1.0, 3.0]])
def test_soft_vote_equals_sklearn(weights: list[float] | None) -> None:
    rng = np.random.default_rng(7)
    probs = _random_member_probs(rng, 5, 200, 2)
    X = np.arange(200)[:, None]
    y = np.arange(200) % 2
    voting = VotingClassifier(
        [(f"m{i}", FixedProbabilities(probs[i])) for i in range(5)], voting="soft", weights=weights
    ).fit(X, y)
    ours = soft_vote(probs, weights)
    np.testing.assert_allclose(ours, voting.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(vote_class(ours), voting.predict(X))


def test_soft_vote_is_equation_one_mean() -> None:
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    np.testing.assert_allclose(soft_vote(probs), [1.6 / 3, 1.4 / 3])
    assert vote_class(soft_vote(probs)) == 0  # two of three members say class 1, the mean says 0


def test_agreement_and_votes() -> None:
    probs = np.array([[[0.9, 0.1]], [[0.4, 0.6]], [[0.3, 0.7]]])
    classes = vote_class(soft_vote(probs))
    np.testing.assert_array_equal(member_votes(probs)[:, 0], [0, 1, 1])
    np.testing.assert_allclose(agreement(probs, classes), [1 / 3])
    np.testing.assert_allclose(agreement(probs, classes, [3, 1, 1]), [0.6])


def test_patient_aggregation() -> None:
    patches = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    np.testing.assert_allclose(aggregate_patient(patches), patches.mean(axis=0))
    np.testing.assert_allclose(aggregate_patient(patches, "vote"), [1 / 3, 2 / 3])
    median = aggregate_patient(patches, "median")
    np.testing.assert_allclose(median, np.array([0.4, 0.6]) / 1.0)
    with pytest.raises(ValueError, match="aggregation"):
        aggregate_patient(patches, "max")


def test_bad_weights_refused() -> None:
    probs = np.full((2, 1, 2), 0.5)
    with pytest.raises(ValueError, match="weights"):
        soft_vote(probs, [1.0])
    with pytest.raises(ValueError, match="weights"):
        soft_vote(probs, [0.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        soft_vote(probs, [-1.0, 2.0])
