"""Classification metrics in numpy: confusion matrix, per-class precision / sensitivity / F1, ROC, AUC.

Conventions follow scikit-learn so the tests can use it as the oracle: the confusion matrix has
true classes in rows and predictions in columns; a precision or F1 with a zero denominator is 0
(sklearn's ``zero_division=0``); ROC thresholds are the distinct scores in decreasing order
preceded by ``inf`` (``roc_curve(..., drop_intermediate=False)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

__all__ = [
    "ClassificationMetrics",
    "confusion_matrix",
    "roc_curve",
    "auc",
    "classification_metrics",
    "aggregate_by_patient",
    "expected_calibration_error",
    "brier_score",
    "reliability_bins",
    "ECE_BINS",
]

ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error."""


def _labels(values: Any, n_classes: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices, got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(f"{name} holds class indices outside 0..{n_classes - 1}")
    return array.astype(np.int64)


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j``."""
    truth = _labels(y_true, n_classes, "y_true")
    pred = _labels(y_pred, n_classes, "y_pred")
    if truth.shape != pred.shape:
        raise ValueError(f"y_true and y_pred differ in length ({truth.size} and {pred.size})")
    return np.bincount(truth * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def roc_curve(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct score threshold.

    Parameters
    ----------
    y_true
        1-D booleans (or 0/1): the positive class.
    scores
        1-D scores, higher meaning more likely positive.

    Returns
    -------
    fpr, tpr, thresholds
        Starting at ``(0, 0)`` with threshold ``inf``; a sample is positive when its score is
        ``>=`` the threshold. Rates are NaN when a class has no samples.
    """
    truth = np.asarray(y_true).astype(bool)
    score = np.asarray(scores, dtype=np.float64)
    if truth.shape != score.shape or truth.ndim != 1:
        raise ValueError("y_true and scores must be 1-D and of equal length")
    order = np.argsort(-score, kind="mergesort")
    score, truth = score[order], truth[order]
    last_of_value = np.r_[np.flatnonzero(np.diff(score)), score.size - 1] if score.size else np.array([], int)
    tps = np.cumsum(truth)[last_of_value]
    fps = (last_of_value + 1) - tps
    positives, negatives = truth.sum(), (~truth).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0.0, tps / positives] if positives else np.full(tps.size + 1, np.nan)
        fpr = np.r_[0.0, fps / negatives] if negatives else np.full(fps.size + 1, np.nan)
    return fpr, tpr, np.r_[np.inf, score[last_of_value]]


def auc(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a curve by the trapezoidal rule (``x`` monotonic)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


@dataclass(frozen=True)
class ClassificationMetrics:
    """Metrics of one method on one set of samples.

    Attributes
    ----------
    class_names
        Class order of every per-class array.
    accuracy
        Share of samples predicted correctly.
    precision, sensitivity, f1, specificity, support
        Per class, one-vs-rest (sensitivity is recall).
    auc
        Per class, one-vs-rest ROC AUC of that class's probability (NaN when the class is
        absent or alone); for two classes both entries are equal.
    confusion
        True classes in rows, predictions in columns.
    ece, brier
        Expected calibration error (15 bins) and Brier score of the probabilities
        (:func:`expected_calibration_error`, :func:`brier_score`).
    """

    class_names: tuple[str, ...]
    accuracy: float
    precision: np.ndarray
    sensitivity: np.ndarray
    f1: np.ndarray
    specificity: np.ndarray
    support: np.ndarray
    auc: np.ndarray
    confusion: np.ndarray
    ece: float = float("nan")
    brier: float = float("nan")

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.confusion.sum())

    @property
    def macro_auc(self) -> float:
        """Mean of the per-class AUCs that are defined (for two classes: the AUC)."""
        defined = self.auc[~np.isnan(self.auc)]
        return float(defined.mean()) if defined.size else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN becomes None)."""

        def clean(values: np.ndarray) -> list[Optional[float]]:
            return [None if np.isnan(v) else round(float(v), 6) for v in values]

        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 6),
            "ece": None if math.isnan(self.ece) else round(self.ece, 6),
            "brier": None if math.isnan(self.brier) else round(self.brier, 6),
            "auc": None if np.isnan(self.macro_auc) else round(self.macro_auc, 6),
            "per_class": {
                name: {
                    "precision": clean(self.precision)[i], "sensitivity": clean(self.sensitivity)[i],
                    "f1": clean(self.f1)[i], "specificity": clean(self.specificity)[i],
                    "support": int(self.support[i]), "auc": clean(self.auc)[i],
                }
                for i, name in enumerate(self.class_names)
            },
            "confusion": self.confusion.tolist(),
        }


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def classification_metrics(
    y_true: Any, probabilities: Any, class_names: Sequence[str], *, predictions: Any = None
) -> ClassificationMetrics:
    """All metrics of one method from its class probabilities.

    Parameters
    ----------
    y_true
        1-D true class indices.
    probabilities
        ``(n, k)`` class probabilities; the prediction is their argmax (the paper's eq. 2).
    class_names
        The ``k`` class names.
    predictions
        Class indices when the decision is not the argmax (a tuned patient threshold); the
        calibration figures always describe the probabilities.
    """
    names = tuple(class_names)
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(names):
        raise ValueError(f"probabilities must be (n, {len(names)}), got {probs.shape}")
    truth = _labels(y_true, len(names), "y_true")
    if truth.size != probs.shape[0]:
        raise ValueError(f"{truth.size} labels for {probs.shape[0]} probability rows")
    pred = probs.argmax(axis=1) if predictions is None else _labels(predictions, len(names), "predictions")
    cm = confusion_matrix(truth, pred, len(names))
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    actual = cm.sum(axis=1).astype(np.float64)
    total = float(cm.sum())
    precision = _safe_divide(tp, predicted)
    sensitivity = _safe_divide(tp, actual)
    f1 = _safe_divide(2 * tp, predicted + actual)
    negatives = total - actual
    specificity = _safe_divide(total - predicted - actual + tp, negatives)
    aucs = np.full(len(names), np.nan)
    for k in range(len(names)):
        positive = truth == k
        if positive.any() and (~positive).any():
            fpr, tpr, _ = roc_curve(positive, probs[:, k])
            aucs[k] = auc(fpr, tpr)
    accuracy = float(tp.sum() / total) if total else float("nan")
    return ClassificationMetrics(names, accuracy, precision, sensitivity, f1, specificity,
                                 actual.astype(np.int64), aucs, cm, expected_calibration_error(truth, probs),
                                 brier_score(truth, probs))


def aggregate_by_patient(
    patients: Sequence[str], probabilities: Any, y_true: Any, *, how: str = "mean"
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Patient-level probabilities and labels from patch-level ones.

    Parameters
    ----------
    patients
        Patient of each patch.
    probabilities
        ``(n, k)`` patch probabilities.
    y_true
        True class index of each patch; a patient's label is its most frequent one.
    how
        ``"mean"`` of the patch probabilities (the app's default), ``"median"`` or ``"vote"``,
        exactly as the staging engine combines patches
        (:func:`npc_desktop.core.models.voting.aggregate_patient`).

    Returns
    -------
    patient_ids, patient_probabilities, patient_labels
        Sorted by patient.
    """
    from npc_desktop.core.models.voting import aggregate_patient

    probs = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(y_true, dtype=np.int64)
    ids = sorted(set(patients))
    where = {p: i for i, p in enumerate(ids)}
    groups: list[list[int]] = [[] for _ in ids]
    for row, patient in enumerate(patients):
        groups[where[patient]].append(row)
    out = (np.stack([aggregate_patient(probs[rows], how) for rows in groups]) if ids
           else np.zeros((0, probs.shape[1] if probs.ndim == 2 else 0)))
    labels = np.array([np.bincount(truth[rows]).argmax() for rows in groups], dtype=np.int64)
    return ids, out, labels


def _checked(y_true: Any, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"probabilities must be (n, k) with k >= 2, got {probs.shape}")
    truth = _labels(y_true, probs.shape[1], "y_true")
    if truth.size != probs.shape[0]:
        raise ValueError(f"{truth.size} labels for {probs.shape[0]} probability rows")
    return truth, probs


def reliability_bins(
    y_true: Any, probabilities: Any, bins: int = ECE_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Confidence (the predicted class's probability) binned into ``bins`` equal-width bins of [0, 1].

    Bin ``b`` holds confidences in ``(b/B, (b+1)/B]`` (the first also holds 0).

    Returns
    -------
    edges, counts, mean_confidence, accuracy
        ``edges`` has ``bins + 1`` values; the per-bin arrays are NaN where a bin is empty.
    """
    truth, probs = _checked(y_true, probabilities)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == truth).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / counts
        accuracy = np.bincount(index, correct, minlength=bins) / counts
    return edges, counts.astype(np.int64), mean_confidence, accuracy


def expected_calibration_error(y_true: Any, probabilities: Any, bins: int = ECE_BINS) -> float:
    """ECE (Guo et al. 2017): ``sum_b |B_b|/n * |accuracy(B_b) - confidence(B_b)|`` over equal-width bins.

    Confidence is the probability of the predicted (argmax) class; NaN for no samples.
    """
    _, counts, confidence, accuracy = reliability_bins(y_true, probabilities, bins)
    total = counts.sum()
    if total == 0:
        return float("nan")
    filled = counts > 0
    return float(np.sum(counts[filled] / total * np.abs(accuracy[filled] - confidence[filled])))


def brier_score(y_true: Any, probabilities: Any) -> float:
    """Brier score; NaN for no samples.

    Two classes: ``mean((p_1 - y)^2)`` with ``p_1`` the second class's probability and ``y`` 1 for
    that class (sklearn's ``brier_score_loss``). More classes: the multi-class form
    ``mean(sum_k (p_k - y_k)^2)`` over one-hot ``y`` (Brier 1950), which is twice the binary one for k = 2.
    """
    truth, probs = _checked(y_true, probabilities)
    if truth.size == 0:
        return float("nan")
    if probs.shape[1] == 2:
        return float(np.mean((probs[:, 1] - (truth == 1)) ** 2))
    onehot = np.eye(probs.shape[1])[truth]
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))
