"""Evaluation of members, the Basic CNN and the ensemble: tables, CSV and plots.

:func:`evaluate` computes patch-level and patient-level :class:`~.metrics.ClassificationMetrics`
for every method; :func:`write_report` writes them as

- ``report.md``: the paper's Table 4 layout (per class: precision, sensitivity, F1, accuracy,
  plus AUC) at patch and patient level, confusion matrices, and the plots;
- ``metrics.csv``, ``confusion_matrices.csv``, ``predictions.csv``, ``metrics.json``;
- ``roc_patch.png``, ``roc_patient.png``, ``confusion_patch.png``, ``confusion_patient.png``, ``reliability.png``,
  ``training_curves.png`` (when histories are given).

Plots use matplotlib's object API with the Agg canvas, never pyplot, so they can be drawn on a
worker thread of the GUI process without touching its backend.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from npc_desktop.core.research.metrics import (
    ECE_BINS,
    ClassificationMetrics,
    aggregate_by_patient,
    classification_metrics,
    roc_curve,
)
from npc_desktop.core.research.reliability import calibration_table, plot_reliability

__all__ = [
    "MethodResult",
    "Evaluation",
    "evaluate",
    "write_report",
    "METRICS_COLUMNS",
]

METRICS_COLUMNS: tuple[str, ...] = (
    "level", "method", "class", "precision", "sensitivity", "f1", "specificity", "accuracy", "auc", "support",
)
"""Columns of ``metrics.csv``."""


@dataclass(frozen=True)
class MethodResult:
    """The test-set output of one method.

    Attributes
    ----------
    name
        Display name (``"VGG16"``, ``"Basic CNN"``, ``"Ensemble"``).
    probabilities
        ``(n, k)`` class probabilities per test patch.
    history
        Training curves (``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}``), if any.
    """

    name: str
    probabilities: np.ndarray
    history: Optional[Mapping[str, Sequence[float]]] = None


@dataclass
class Evaluation:
    """Metrics of every method at patch and patient level, with the data they came from."""

    class_names: tuple[str, ...]
    methods: list[MethodResult]
    y_true: np.ndarray
    patients: list[str]
    files: list[str]
    patch: dict[str, ClassificationMetrics] = field(default_factory=dict)
    patient: dict[str, ClassificationMetrics] = field(default_factory=dict)
    patient_ids: list[str] = field(default_factory=list)
    patient_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    patient_probabilities: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary of the metrics."""
        return {
            "class_names": list(self.class_names),
            "patches": len(self.files),
            "patients": len(self.patient_ids),
            "patch_level": {name: m.to_dict() for name, m in self.patch.items()},
            "patient_level": {name: m.to_dict() for name, m in self.patient.items()},
        }


def evaluate(
    methods: Sequence[MethodResult],
    y_true: Sequence[int],
    patients: Sequence[str],
    class_names: Sequence[str],
    *,
    files: Optional[Sequence[str]] = None,
    patient_aggregation: str = "mean",
    patient_thresholds: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> Evaluation:
    """Patch- and patient-level metrics of every method on the same test patches.

    Parameters
    ----------
    methods
        Each method's probabilities for the same patches in the same order.
    y_true
        True class index per patch.
    patients
        Patient per patch (patient-level metrics average each patient's patch probabilities).
    class_names
        Class order of the probability columns.
    files
        Name of each patch (for ``predictions.csv``).
    patient_aggregation
        ``"mean"`` or ``"median"`` of the patch probabilities.
    patient_thresholds
        Method name -> patient decision rule (``calibration.patient_threshold`` of a manifest);
        argmax for the methods not named.
    """
    from npc_desktop.core.models.calibration import patient_decision

    truth = np.asarray(y_true, dtype=np.int64)
    names = tuple(class_names)
    if len(patients) != truth.size:
        raise ValueError(f"{len(patients)} patients for {truth.size} labels")
    out = Evaluation(names, list(methods), truth, list(patients),
                     list(files) if files is not None else [str(i) for i in range(truth.size)])
    for method in methods:
        probs = np.asarray(method.probabilities, dtype=np.float64)
        out.patch[method.name] = classification_metrics(truth, probs, names)
        ids, patient_probs, labels = aggregate_by_patient(patients, probs, truth, how=patient_aggregation)
        rule = (patient_thresholds or {}).get(method.name)
        decided = patient_decision(patient_probs, names, rule) if rule and len(labels) else None
        out.patient[method.name] = classification_metrics(labels, patient_probs, names, predictions=decided)
        out.patient_ids, out.patient_labels = ids, labels
        out.patient_probabilities[method.name] = patient_probs
    return out


# --------------------------------------------------------------------------------------------------
# Writing


def _f(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _table4(metrics: Mapping[str, ClassificationMetrics], class_names: Sequence[str]) -> list[str]:
    lines = ["| Class | Method | Precision | Sensitivity | F1-score | Accuracy | AUC | n |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for k, name in enumerate(class_names):
        for position, (method, m) in enumerate(metrics.items()):
            label = name if position == 0 else ""
            lines.append(
                f"| {label} | {method} | {_f(m.precision[k])} | {_f(m.sensitivity[k])} | {_f(m.f1[k])} | "
                f"{_f(m.accuracy)} | {_f(m.auc[k])} | {int(m.support[k])} |"
            )
    return lines


def _confusion_md(method: str, m: ClassificationMetrics) -> list[str]:
    header = "| " + method + " (true \\ predicted) | " + " | ".join(m.class_names) + " |"
    lines = [header, "|---|" + "---:|" * len(m.class_names)]
    for i, name in enumerate(m.class_names):
        lines.append(f"| {name} | " + " | ".join(str(int(v)) for v in m.confusion[i]) + " |")
    return lines


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _metric_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    rows = []
    for level, table in (("patch", evaluation.patch), ("patient", evaluation.patient)):
        for method, m in table.items():
            for k, name in enumerate(m.class_names):
                rows.append({
                    "level": level, "method": method, "class": name,
                    "precision": f"{m.precision[k]:.6f}", "sensitivity": f"{m.sensitivity[k]:.6f}",
                    "f1": f"{m.f1[k]:.6f}", "specificity": f"{m.specificity[k]:.6f}",
                    "accuracy": f"{m.accuracy:.6f}", "auc": "" if np.isnan(m.auc[k]) else f"{m.auc[k]:.6f}",
                    "support": int(m.support[k]),
                })
    return rows


def _canvas(figure: Any) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    _canvas(figure)
    return figure


def _plot_roc(path: Path, evaluation: Evaluation, level: str) -> None:
    names = evaluation.class_names
    classes = [1] if len(names) == 2 else list(range(len(names)))
    figure = _figure(5.0 * len(classes), 4.6)
    truth = evaluation.y_true if level == "patch" else evaluation.patient_labels
    for position, k in enumerate(classes):
        axes = figure.add_subplot(1, len(classes), position + 1)
        for method in evaluation.methods:
            probs = (np.asarray(method.probabilities) if level == "patch"
                     else evaluation.patient_probabilities[method.name])
            positive = truth == k
            if not positive.any() or positive.all():
                continue
            fpr, tpr, _ = roc_curve(positive, probs[:, k])
            score = (evaluation.patch if level == "patch" else evaluation.patient)[method.name].auc[k]
            axes.plot(fpr, tpr, label=f"{method.name} (AUC {score:.3f})", linewidth=1.6)
        axes.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1)
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.01)
        axes.set_xlabel("1 - specificity (false positive rate)")
        axes.set_ylabel("sensitivity (true positive rate)")
        axes.set_title(f"ROC, {level} level: {names[k]} vs rest" if len(names) > 2
                       else f"ROC, {level} level (positive class {names[k]})")
        axes.legend(loc="lower right", fontsize=8)
    figure.savefig(path)


def _plot_confusion(path: Path, table: Mapping[str, ClassificationMetrics], level: str) -> None:
    count = len(table)
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    figure = _figure(3.2 * columns, 3.0 * rows)
    for position, (method, m) in enumerate(table.items()):
        axes = figure.add_subplot(rows, columns, position + 1)
        axes.imshow(m.confusion, cmap="Blues", vmin=0, vmax=max(1, int(m.confusion.max())))
        k = len(m.class_names)
        axes.set_xticks(range(k), m.class_names)
        axes.set_yticks(range(k), m.class_names)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_title(f"{method} ({level})", fontsize=10)
        limit = m.confusion.max() / 2.0
        for i in range(k):
            for j in range(k):
                value = int(m.confusion[i, j])
                axes.text(j, i, str(value), ha="center", va="center",
                          color="white" if value > limit else "black", fontsize=11)
    figure.savefig(path)


def _plot_histories(path: Path, methods: Sequence[MethodResult]) -> bool:
    with_history = [m for m in methods if m.history and m.history.get("loss")]
    if not with_history:
        return False
    figure = _figure(9.0, 2.6 * len(with_history))
    for row, method in enumerate(with_history):
        history = method.history or {}
        for column, metric in enumerate(("accuracy", "loss")):
            axes = figure.add_subplot(len(with_history), 2, 2 * row + column + 1)
            for key, style, label in ((metric, "-", "training"), (f"val_{metric}", "--", "validation")):
                values = history.get(key)
                if values:
                    axes.plot(range(1, len(values) + 1), values, style, label=label)
            axes.set_title(f"{method.name}: {metric}", fontsize=10)
            axes.set_xlabel("epoch")
            axes.legend(fontsize=8)
    figure.savefig(path)
    return True


def write_report(
    evaluation: Evaluation,
    out_dir: Union[str, Path],
    *,
    title: str = "Evaluation",
    notes: Sequence[str] = (),
    provenance: Optional[Mapping[str, Any]] = None,
) -> list[Path]:
    """Write the Markdown report, CSV tables, JSON summary and PNG plots.

    Parameters
    ----------
    evaluation
        From :func:`evaluate`.
    out_dir
        Folder to write into (created).
    title
        First heading of ``report.md``.
    notes
        Lines printed under the title (data set, initialisation, what limited the score).
    provenance
        Added to ``metrics.json`` (bundle, split, settings).

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = evaluation.class_names
    written: list[Path] = []

    _write_csv(out / "metrics.csv", METRICS_COLUMNS, _metric_rows(evaluation))
    confusion_rows = [
        {"level": level, "method": method, "true": names[i], "predicted": names[j], "count": int(m.confusion[i, j])}
        for level, table in (("patch", evaluation.patch), ("patient", evaluation.patient))
        for method, m in table.items() for i in range(len(names)) for j in range(len(names))
    ]
    _write_csv(out / "confusion_matrices.csv", ("level", "method", "true", "predicted", "count"), confusion_rows)
    prob_columns = [f"{m.name}:{c}" for m in evaluation.methods for c in names]
    prediction_rows = []
    for row, file in enumerate(evaluation.files):
        entry: dict[str, Any] = {"file": file, "patient": evaluation.patients[row], "true": names[evaluation.y_true[row]]}
        for method in evaluation.methods:
            for k, c in enumerate(names):
                entry[f"{method.name}:{c}"] = f"{float(method.probabilities[row][k]):.6f}"
        prediction_rows.append(entry)
    _write_csv(out / "predictions.csv", ("file", "patient", "true", *prob_columns), prediction_rows)
    summary = {**evaluation.to_dict(), "provenance": dict(provenance or {})}
    (out / "metrics.json").write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    written += [out / n for n in ("metrics.csv", "confusion_matrices.csv", "predictions.csv", "metrics.json")]

    for level in ("patch", "patient"):
        _plot_roc(out / f"roc_{level}.png", evaluation, level)
        _plot_confusion(out / f"confusion_{level}.png", evaluation.patch if level == "patch" else evaluation.patient, level)
        written += [out / f"roc_{level}.png", out / f"confusion_{level}.png"]
    plot_reliability(out / "reliability.png", [
        ("patch level", evaluation.y_true, {m.name: np.asarray(m.probabilities) for m in evaluation.methods}),
        ("patient level", evaluation.patient_labels, evaluation.patient_probabilities),
    ])
    written.append(out / "reliability.png")
    has_curves = _plot_histories(out / "training_curves.png", evaluation.methods)
    if has_curves:
        written.append(out / "training_curves.png")

    counts = np.bincount(evaluation.y_true, minlength=len(names))
    patient_counts = np.bincount(evaluation.patient_labels, minlength=len(names))
    lines = [f"# {title}", ""]
    lines += [f"- {note}" for note in notes]
    lines += [
        f"- Test set: {len(evaluation.files)} patches of {len(evaluation.patient_ids)} patients; "
        + ", ".join(f"{n}: {int(c)} patches / {int(pc)} patients" for n, c, pc in zip(names, counts, patient_counts)),
        "- Accuracy is over all classes (the same in each class's rows); sensitivity is recall; "
        "AUC is one-vs-rest on that class's probability. Patient level: the mean of each patient's "
        "patch probabilities, then argmax.",
        "",
        "## Patch level (layout of the paper's Table 4)", "", *_table4(evaluation.patch, names), "",
        "## Calibration", "",
        f"Expected calibration error over {ECE_BINS} equal-width bins of the predicted class's probability, and "
        "Brier score" + (" (two classes: mean (p1 - y)^2 on the second class, as sklearn's brier_score_loss)."
                         if len(names) == 2 else " (mean over patches of sum_k (p_k - y_k)^2)."), "",
        *calibration_table(evaluation.patch, evaluation.patient, len(names) == 2), "",
        "![Reliability diagram](reliability.png)", "",
        "## Patient level", "", *_table4(evaluation.patient, names), "",
        "## Confusion matrices (patch level)", "",
    ]
    for method, m in evaluation.patch.items():
        lines += _confusion_md(method, m) + [""]
    lines += ["## Confusion matrices (patient level)", ""]
    for method, m in evaluation.patient.items():
        lines += _confusion_md(method, m) + [""]
    lines += ["## Plots", "", "![ROC, patch level](roc_patch.png)", "", "![ROC, patient level](roc_patient.png)", "",
              "![Confusion matrices, patch level](confusion_patch.png)", "",
              "![Confusion matrices, patient level](confusion_patient.png)", ""]
    if has_curves:
        lines += ["![Training curves](training_curves.png)", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    written.insert(0, out / "report.md")
    return written
