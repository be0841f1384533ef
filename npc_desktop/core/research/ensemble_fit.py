"""Calibrating a freshly trained ensemble on its validation patients, for the bundle's manifest.

:func:`fit_ensemble` takes each member's validation logits, fits a temperature per member, chooses
the vote weights (:func:`.calibration.choose_vote_weights`) and, when asked, the patient threshold,
and returns them with the manifest's ``calibration`` object. The Basic CNN of a multi-member run
is the paper's baseline: it is calibrated and reported but keeps vote weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from npc_desktop.core.models.calibration import uncalibrated
from npc_desktop.core.models.specs import get_spec
from npc_desktop.core.models.voting import calibrated_probabilities, calibrated_vote, soft_vote
from npc_desktop.core.research.calibration import choose_vote_weights, fit_patient_threshold, fit_temperature
from npc_desktop.core.research.evaluation import MethodResult
from npc_desktop.core.research.metrics import aggregate_by_patient

__all__ = ["REFERENCE_ENSEMBLE", "EnsembleFit", "ensemble_methods", "fit_ensemble", "voting_members"]

REFERENCE_ENSEMBLE = "Ensemble (equal, T = 1)"
"""The paper's plain soft vote of uncalibrated members, reported beside the bundle's ensemble."""


@dataclass
class EnsembleFit:
    """What validation decided for the bundle.

    Attributes
    ----------
    temperatures, vote_weights
        Per member, in member order.
    ensemble_temperature
        The soft vote's own temperature (:func:`~npc_desktop.core.models.voting.calibrated_vote`).
    calibration
        The manifest's ``calibration`` object.
    notes
        Lines for the report: the weighting used and why, the threshold.
    """

    temperatures: list[float]
    vote_weights: list[float]
    calibration: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    ensemble_temperature: float = 1.0

    @property
    def patient_threshold(self) -> dict[str, Any]:
        """The manifest's ``calibration.patient_threshold``."""
        return dict(self.calibration["patient_threshold"])


def voting_members(names: Sequence[str]) -> list[bool]:
    """Which members vote: all but the Basic CNN baseline when there is more than one member."""
    return [len(names) == 1 or get_spec(n).application is not None for n in names]


def fit_ensemble(
    names: Sequence[str],
    val_logits: Sequence[Optional[np.ndarray]],
    val_labels: np.ndarray,
    val_patients: Sequence[str],
    class_names: Sequence[str],
    *,
    vote_weights: str = "auto",
    patient_threshold: str = "argmax",
    validation: Optional[dict[str, Any]] = None,
    aggregation: str = "mean",
) -> EnsembleFit:
    """Temperatures, vote weights and patient threshold from the validation patients.

    Parameters
    ----------
    names
        Member architectures, in member order.
    val_logits
        Each member's ``(n, k)`` logits on the validation patches (empty without validation).
    val_labels, val_patients
        True class and patient of each validation patch.
    class_names
        The classes.
    vote_weights, patient_threshold
        As :class:`~.config.TrainingConfig`.
    validation
        How the validation patients were chosen, recorded in the manifest.
    aggregation
        Patient aggregation (for the threshold).

    Raises
    ------
    ValueError
        When ``"validation"`` weights or threshold are asked for but cannot be fitted (named).
    """
    voting = voting_members(names)
    count = len(val_labels)
    if count == 0:
        if "validation" in (vote_weights, patient_threshold):
            raise ValueError("no validation patients: validation vote weights or patient threshold cannot be fitted")
        weights = [1.0 if v else 0.0 for v in voting]
        calibration = uncalibrated("equal weights: no validation patients")
        calibration["vote_weights"] = {"method": "equal", "requested": vote_weights,
                                       "reason": "equal weights: trained without validation patients"}
        return EnsembleFit([1.0] * len(names), weights, calibration,
                           ["Vote weights: equal (no validation patients); temperatures 1 (uncalibrated)."])
    temperatures = [fit_temperature(z, val_labels) for z in val_logits]
    probs = calibrated_probabilities(np.stack([np.asarray(z) for z in val_logits]), temperatures)
    voters = np.flatnonzero(voting)
    choice = choose_vote_weights(probs[voters], val_labels, val_patients, vote_weights)
    weights = [0.0] * len(names)
    for position, member in enumerate(voters):
        weights[member] = float(choice.weights[position])
    vote = soft_vote(probs[voters], choice.weights)
    vote_temperature = fit_temperature(np.log(np.clip(vote, 1e-300, None)), val_labels) if len(voters) > 1 else 1.0
    vote = calibrated_vote(vote, vote_temperature)
    threshold: dict[str, Any] = {"method": "argmax", "class": "", "value": None}
    notes = [
        f"Calibration: temperature per member by NLL on {count} validation patches of "
        f"{len(set(val_patients))} validation patients: "
        + ", ".join(f"{get_spec(n).display_name} {t:.3f}" for n, t in zip(names, temperatures)) + ".",
        "Vote weights: " + choice.reason + "; weights " + ", ".join(
            f"{get_spec(names[m]).display_name} {weights[m]:.3f}" for m in voters) + ".",
        (f"Ensemble calibration: the weighted vote of calibrated members is calibrated once more, "
         f"softmax(log p / T) with T = {vote_temperature:.3f} fitted by NLL on the same validation patches "
         "(averaging calibrated members alone leaves the vote underconfident)."),
    ]
    if patient_threshold == "validation":
        if len(class_names) != 2:
            raise ValueError("a patient threshold can be tuned for two classes only")
        _, patient_probs, patient_labels = aggregate_by_patient(val_patients, vote, val_labels, how=aggregation)
        value = fit_patient_threshold(patient_probs, patient_labels, positive=1)
        threshold = {"method": "validation", "class": class_names[1], "value": round(value, 6)}
        notes.append(f"Patient threshold: {class_names[1]} when its patient probability is >= {value:.3f} "
                     f"(best balanced accuracy on {len(patient_labels)} validation patients).")
    else:
        notes.append("Patient threshold: argmax (the paper's equation 2), not tuned.")
    calibration = {
        "temperature": {"method": "nll", "fitted_on": f"{count} validation patches of "
                        f"{len(set(val_patients))} validation patients"},
        "ensemble_temperature": {"method": "nll", "value": round(vote_temperature, 6)},
        "vote_weights": choice.to_dict(),
        "patient_threshold": threshold,
        "validation": dict(validation or {}),
    }
    return EnsembleFit(temperatures, weights, calibration, notes, round(vote_temperature, 6))


def ensemble_methods(
    labels: Sequence[str],
    logits: np.ndarray,
    temperatures: Sequence[float],
    weights: Sequence[float],
    histories: Optional[Sequence[Any]] = None,
    voters: Optional[Sequence[bool]] = None,
    ensemble_temperature: float = 1.0,
) -> list[MethodResult]:
    """The calibrated members, the bundle's ensemble and the paper's plain ensemble, for :func:`.evaluation.evaluate`.

    Parameters
    ----------
    labels
        Display name per member.
    logits
        ``(m, n, k)`` the members' test logits.
    temperatures, weights
        Per member, as recorded in the manifest.
    histories
        Training curves per member.
    voters
        Which members take part in the paper's equal vote (default: those with weight > 0).
    ensemble_temperature
        The vote's own temperature.
    """
    probs = calibrated_probabilities(logits, temperatures)
    histories = histories or [None] * len(labels)
    methods = [MethodResult(label, probs[i], history) for i, (label, history) in enumerate(zip(labels, histories))]
    if len(labels) > 1:
        methods.append(MethodResult("Ensemble", calibrated_vote(soft_vote(probs, weights), ensemble_temperature)))
        mask = np.asarray(voters if voters is not None else [w > 0 for w in weights], dtype=bool)
        methods.append(MethodResult(REFERENCE_ENSEMBLE, soft_vote(calibrated_probabilities(logits[mask]))))
    return methods
