"""The calibration part of the evaluation report: ECE / Brier table and reliability diagram.

Plots use matplotlib's object API with the Agg canvas (never pyplot), as the rest of the report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from npc_desktop.core.research.metrics import ECE_BINS, ClassificationMetrics, reliability_bins

__all__ = ["calibration_table", "plot_reliability"]


def _f(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def calibration_table(patch: Mapping[str, ClassificationMetrics], patient: Mapping[str, ClassificationMetrics],
                      binary: bool) -> list[str]:
    """Markdown rows: accuracy, ECE and Brier per method at patch and patient level."""
    brier = "Brier, mean (p1 - y)^2" if binary else "Brier, mean sum_k (p_k - y_k)^2"
    lines = [(f"| Method | Patch accuracy | Patch ECE | Patch {brier} | Patient accuracy | Patient ECE "
              "| Patient Brier |"),
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in patch.items():
        p = patient.get(name)
        level = f"{_f(p.accuracy)} | {_f(p.ece)} | {_f(p.brier)}" if p else "n/a | n/a | n/a"
        lines.append(f"| {name} | {_f(m.accuracy)} | {_f(m.ece)} | {_f(m.brier)} | {level} |")
    return lines


def plot_reliability(path: Path, levels: Sequence[tuple[str, np.ndarray, Mapping[str, np.ndarray]]]) -> None:
    """Reliability diagram: accuracy against confidence in 15 equal-width bins, one panel per level.

    Parameters
    ----------
    path
        The PNG to write.
    levels
        ``(title, y_true, {method: (n, k) probabilities})`` per panel.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2 * len(levels), 4.8), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    for position, (title, truth, methods) in enumerate(levels):
        axes = figure.add_subplot(1, len(levels), position + 1)
        axes.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
        for name, probs in methods.items():
            if len(truth) == 0:
                continue
            _, counts, confidence, accuracy = reliability_bins(truth, probs, ECE_BINS)
            filled = counts > 0
            emphasis = 2.4 if name == "Ensemble" else 1.2
            axes.plot(confidence[filled], accuracy[filled], marker="o", markersize=3, linewidth=emphasis, label=name)
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1.01)
        axes.set_xlabel("confidence (probability of the predicted class)")
        axes.set_ylabel("accuracy")
        axes.set_title(f"Reliability, {title} ({ECE_BINS} bins)")
        axes.legend(loc="upper left", fontsize=7)
    figure.savefig(path)
