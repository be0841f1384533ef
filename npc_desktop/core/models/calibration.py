"""The manifest's ``calibration`` object (schema 2), the migration of schema-1 manifests, and the
patient-level decision rule it records. No TensorFlow.

A schema-2 manifest holds, besides each member's ``temperature`` (in its member entry)::

    calibration
      temperature        {"method": "nll" | "none", "fitted_on": "...validation patches..."}
      ensemble_temperature {"method": "nll" | "none", "value": 1.3}: the vote's own temperature
                         (:func:`~.voting.calibrated_vote`); absent means 1
      vote_weights       {"method": "equal" | "validation", "requested": "auto" | "equal" | "validation",
                          "reason": "...", "validation_log_loss": {"equal": 0.21, "validation": 0.18}}
      patient_threshold  {"method": "argmax" | "validation", "class": "IVa", "value": 0.5}
      validation         {"method": "fraction", "fraction": 0.2, "seed": 1, "patients": [...],
                          "patches": 170} (empty for bundles trained without validation patients)

A schema-1 manifest (written before calibration existed) is migrated on reading: every member gets
temperature 1 (plain softmax), the weights it recorded stay, the patient decision is the argmax,
and ``calibration.migrated_from`` says so; the file itself is left untouched.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

__all__ = [
    "UNCALIBRATED",
    "check_calibration",
    "describe_calibration",
    "migrate_v1",
    "patient_decision",
    "uncalibrated",
]

UNCALIBRATED = "none"
"""``calibration.temperature.method`` of a bundle whose members use plain softmax."""


def uncalibrated(note: str = "") -> dict[str, Any]:
    """The calibration object of a bundle without validation patients: T = 1, recorded weights, argmax."""
    return {
        "temperature": {"method": UNCALIBRATED, "fitted_on": ""},
        "ensemble_temperature": {"method": UNCALIBRATED, "value": 1.0},
        "vote_weights": {"method": "recorded", "requested": "", "reason": note or "weights as written, not fitted"},
        "patient_threshold": {"method": "argmax", "class": "", "value": None},
        "validation": {},
    }


def migrate_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """A schema-1 manifest as schema 2 (a new dict; ``data`` is not changed).

    Members get ``temperature`` 1.0 and the manifest an uncalibrated ``calibration`` object with
    ``migrated_from: 1``. Anything else is kept for the strict checks that follow.
    """
    migrated = dict(data)
    members = data.get("members")
    if isinstance(members, list):
        migrated["members"] = [
            {**m, "temperature": 1.0} if isinstance(m, Mapping) and "temperature" not in m else m for m in members
        ]
    migrated["calibration"] = {**uncalibrated("schema-1 bundle: weights as written, no calibration"),
                               "migrated_from": 1}
    migrated["schema_version"] = 2
    return migrated


def check_calibration(value: Any, class_names: Sequence[str]) -> Optional[str]:
    """The first problem of a ``calibration`` object, or None when it is valid."""
    if not isinstance(value, Mapping):
        return "must be an object"
    for key in ("temperature", "vote_weights", "patient_threshold", "validation"):
        if not isinstance(value.get(key), Mapping):
            return f"{key} must be an object"
    vote = value.get("ensemble_temperature", {"value": 1.0})
    number = vote.get("value") if isinstance(vote, Mapping) else None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not (math.isfinite(number) and number > 0):
        return "ensemble_temperature.value must be a positive number"
    threshold = value["patient_threshold"]
    method = threshold.get("method")
    if method not in ("argmax", "validation"):
        return "patient_threshold.method must be 'argmax' or 'validation'"
    if method == "validation":
        number = threshold.get("value")
        if len(class_names) != 2:
            return "patient_threshold applies to two classes only"
        if threshold.get("class") not in class_names:
            return f"patient_threshold.class must be one of {list(class_names)}"
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not (
                math.isfinite(number) and 0.0 < number < 1.0):
            return "patient_threshold.value must be a number between 0 and 1"
    patients = value["validation"].get("patients", [])
    if not isinstance(patients, list) or not all(isinstance(p, str) for p in patients):
        return "validation.patients must be a list of patient identifiers"
    return None


def patient_decision(
    probabilities: np.ndarray, class_names: Sequence[str], threshold: Optional[Mapping[str, Any]]
) -> np.ndarray:
    """Class indices of patient-level probabilities under the recorded decision rule.

    Parameters
    ----------
    probabilities
        ``(n, k)`` or ``(k,)`` patient probabilities.
    class_names
        The bundle's classes.
    threshold
        ``calibration.patient_threshold``; argmax (the paper's equation 2) unless its method is
        ``"validation"``, when the named class is chosen iff its probability is ``>= value``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` (or scalar) class indices.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if not threshold or threshold.get("method") != "validation" or len(class_names) != 2:
        return np.argmax(p, axis=-1)
    positive = list(class_names).index(str(threshold["class"]))
    chosen = p[..., positive] >= float(threshold["value"])
    return np.where(chosen, positive, 1 - positive)


def describe_calibration(manifest: Any) -> list[str]:
    """Report lines: the vote weighting used and why, the temperatures and the patient threshold.

    Parameters
    ----------
    manifest
        A :class:`~.manifest.BundleManifest`.
    """
    calibration = manifest.calibration
    votes = calibration.get("vote_weights") or {}
    weights = ", ".join(f"{m.name} {m.vote_weight:g}" for m in manifest.members)
    lines = [(f"Vote weights ({votes.get('method', 'recorded')}): {weights}. "
              f"Why: {votes.get('reason', 'not recorded')}.")]
    temperature = calibration.get("temperature") or {}
    if temperature.get("method") == "nll":
        lines.append("Calibrated probabilities: softmax(logits / T) per member, T fitted by NLL on "
                     f"{temperature.get('fitted_on', 'validation patients')}: "
                     + ", ".join(f"{m.name} {m.temperature:.3f}" for m in manifest.members)
                     + f"; the weighted vote then softmax(log p / {manifest.ensemble_temperature:.3f}).")
    else:
        lines.append("Uncalibrated probabilities: the bundle records no temperatures (T = 1).")
    if calibration.get("migrated_from"):
        lines.append(f"Manifest schema {calibration['migrated_from']}, read as schema {manifest.schema_version}.")
    threshold = manifest.patient_threshold
    if threshold.get("method") == "validation":
        lines.append(f"Patient threshold: {threshold['class']} when its patient probability is >= "
                     f"{float(threshold['value']):.3f} (tuned on validation patients); other methods use argmax.")
    else:
        lines.append("Patient threshold: argmax (the paper's equation 2).")
    return lines
