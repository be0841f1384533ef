"""Metrics against scikit-learn on the same predictions, and the written report."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest
from sklearn import metrics as sk

from npc_desktop.core.research.evaluation import MethodResult, evaluate, write_report
from npc_desktop.core.research.metrics import (
    aggregate_by_patient,
    auc,
    classification_metrics,
    confusion_matrix,
    roc_curve,
)


def _probabilities(rng: np.random.Generator, n: int, k: int, truth: np.ndarray, skill: float) -> np.ndarray:
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), truth] += skill
    logits = np.round(logits, 1)  # ties in the scores exercise the ROC's threshold handling
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(("seed", "k", "skill"), [(0, 2, 1.0), (1, 2, 0.0), (2, 2, 3.0), (3, 3, 1.0), (4, 4, 0.5)])
def test_metrics_equal_sklearn(seed: int, k: int, skill: float) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    truth = rng.integers(0, k, size=n)
    probs = _probabilities(rng, n, k, truth, skill)
    pred = probs.argmax(axis=1)
    names = [f"c{i}" for i in range(k)]
    m = classification_metrics(truth, probs, names)
    labels = list(range(k))
    np.testing.assert_array_equal(m.confusion, sk.confusion_matrix(truth, pred, labels=labels))
    np.testing.assert_array_equal(confusion_matrix(truth, pred, k), m.confusion)
    assert m.accuracy == pytest.approx(sk.accuracy_score(truth, pred))
    for ours, theirs in ((m.precision, sk.precision_score), (m.sensitivity, sk.recall_score), (m.f1, sk.f1_score)):
        np.testing.assert_allclose(ours, theirs(truth, pred, labels=labels, average=None, zero_division=0))
    np.testing.assert_array_equal(m.support, np.bincount(truth, minlength=k))
    for c in range(k):
        positive = truth == c
        np.testing.assert_allclose(m.specificity[c], sk.recall_score(~positive, pred != c))
        assert m.auc[c] == pytest.approx(sk.roc_auc_score(positive, probs[:, c]))
        fpr, tpr, thresholds = roc_curve(positive, probs[:, c])
        s_fpr, s_tpr, s_thresholds = sk.roc_curve(positive, probs[:, c], drop_intermediate=False)
        np.testing.assert_allclose(fpr, s_fpr)
        np.testing.assert_allclose(tpr, s_tpr)
        np.testing.assert_array_equal(thresholds, s_thresholds)
        assert auc(fpr, tpr) == pytest.approx(sk.auc(s_fpr, s_tpr))
    if k > 2:
        assert m.macro_auc == pytest.approx(sk.roc_auc_score(truth, probs, multi_class="ovr", average="macro"))


def test_degenerate_cases_follow_sklearn() -> None:
    truth = np.array([0, 0, 0, 0])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.7, 0.3]])
    m = classification_metrics(truth, probs, ["a", "b"])
    np.testing.assert_allclose(m.precision, sk.precision_score(truth, probs.argmax(1), labels=[0, 1], average=None, zero_division=0))
    assert np.isnan(m.auc).all() and np.isnan(m.macro_auc)
    with pytest.raises(ValueError, match="outside"):
        classification_metrics([0, 2], probs[:2], ["a", "b"])


def test_patient_level_is_the_mean_of_patch_probabilities() -> None:
    patients = ["B", "A", "B", "A", "C"]
    probs = np.array([[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    ids, patient_probs, labels = aggregate_by_patient(patients, probs, [1, 0, 1, 0, 1])
    assert ids == ["A", "B", "C"]
    np.testing.assert_allclose(patient_probs, [[0.6, 0.4], [0.4, 0.6], [0.5, 0.5]])
    np.testing.assert_array_equal(labels, [0, 1, 1])
    _, voted, _ = aggregate_by_patient(patients, probs, [1, 0, 1, 0, 1], how="vote")
    np.testing.assert_allclose(voted[0], [0.5, 0.5])


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(7)
    patients = [f"P{i % 14:02d}" for i in range(140)]
    truth = np.array([int(p[1:]) % 2 for p in patients])
    methods = []
    for name, skill in (("Basic CNN", 0.5), ("VGG16", 1.5), ("Ensemble", 2.0)):
        history = {"loss": list(np.linspace(0.7, 0.2, 6)), "accuracy": list(np.linspace(0.5, 0.9, 6)),
                   "val_loss": list(np.linspace(0.7, 0.4, 6)), "val_accuracy": list(np.linspace(0.5, 0.8, 6))}
        methods.append(MethodResult(name, _probabilities(rng, 140, 2, truth, skill), history if name != "Ensemble" else None))
    evaluation = evaluate(methods, truth, patients, ["III", "IVa"], files=[f"f{i}.png" for i in range(140)])
    out = tmp_path_factory.mktemp("report")
    files = write_report(evaluation, out, title="Synthetic", notes=["random initialisation"], provenance={"seed": 7})
    return evaluation, out, files


def test_report_files_and_tables(report) -> None:
    evaluation, out, files = report
    names = {p.name for p in files}
    assert names == {"report.md", "metrics.csv", "confusion_matrices.csv", "predictions.csv", "metrics.json",
                     "roc_patch.png", "roc_patient.png", "confusion_patch.png", "confusion_patient.png",
                     "reliability.png", "training_curves.png"}
    text = (out / "report.md").read_text()
    assert "| Class | Method | Precision | Sensitivity | F1-score | Accuracy | AUC | n |" in text
    vgg = evaluation.patch["VGG16"]
    assert "| IVa | Basic CNN |" in text and f"{vgg.precision[1]:.3f} | {vgg.sensitivity[1]:.3f} | {vgg.f1[1]:.3f}" in text
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 2 * 3 * 2
    row = next(r for r in rows if r["level"] == "patient" and r["method"] == "Ensemble" and r["class"] == "III")
    assert float(row["accuracy"]) == pytest.approx(evaluation.patient["Ensemble"].accuracy, abs=1e-6)
    assert int(row["support"]) == 7
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["patients"] == 14 and summary["provenance"] == {"seed": 7}
    confusion = [r for r in csv.DictReader(open(out / "confusion_matrices.csv")) if r["level"] == "patch" and r["method"] == "VGG16"]
    assert sum(int(r["count"]) for r in confusion) == 140
    predictions = list(csv.DictReader(open(out / "predictions.csv")))
    assert len(predictions) == 140 and float(predictions[0]["VGG16:IVa"]) == pytest.approx(
        evaluation.methods[1].probabilities[0][1], abs=1e-6)


def test_plots_are_images(report) -> None:
    _, out, _ = report
    for name in ("roc_patch.png", "confusion_patch.png", "training_curves.png"):
        image = cv2.imread(str(out / name))
        assert image is not None and image.shape[0] > 200 and image.shape[1] > 300
        assert image.std() > 10  # drawn, not blank
