"""Staging results as plain dataclasses and NumPy arrays (safe to hand across threads).

A :class:`StagingResult` holds one :class:`PatchStaging` per patch (each member's probabilities and
vote, the soft-vote probabilities and class, the members' agreement, and Grad-CAM maps per member
and their mean on the patch box in slice pixels) and a :class:`PatientStaging` over all patches,
plus which bundle and device produced it. When the bundle is the untrained demo, :attr:`label`
is "UNTRAINED DEMO - not a prediction" and every text form starts with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from npc_desktop.core.models.cam import paste_into_slice
from npc_desktop.core.models.headline import stage_headline, voting_agreement
from npc_desktop.core.models.manifest import UNTRAINED_LABEL

__all__ = ["PatchStaging", "PatientStaging", "StagingResult"]


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in np.ravel(values)]


@dataclass(frozen=True, eq=False)
class PatchStaging:
    """The ensemble's result for one patch.

    Attributes
    ----------
    roi_id, kind
        The ROI the patch was cropped for (empty id for a bare image).
    series_instance_uid, sop_instance_uid, slice_index
        Where the patch lies.
    box
        Patch box ``(row0, col0, row1, col1)`` in slice pixels, end-exclusive; the CAM maps cover it.
    member_probabilities
        ``(m, k)`` each member's class probabilities.
    probabilities
        ``(k,)`` soft-vote probabilities (equation 1).
    predicted_index, predicted
        Equation (2): the ensemble class, as index and name.
    member_votes
        Each member's own class name.
    agreement
        Weighted share of members voting for the ensemble class (1.0: unanimous).
    cam_class
        Name of the class the Grad-CAM maps explain.
    cams
        Member name -> ``(box rows, box cols)`` float32 map in 0..1.
    cam_mean
        Vote-weighted mean of the member maps (0..1), same shape.
    """

    roi_id: str
    kind: str
    series_instance_uid: str
    sop_instance_uid: str
    slice_index: int
    box: tuple[int, int, int, int]
    member_probabilities: np.ndarray
    probabilities: np.ndarray
    predicted_index: int
    predicted: str
    member_votes: tuple[str, ...]
    agreement: float
    cam_class: str
    cams: dict[str, np.ndarray] = field(default_factory=dict)
    cam_mean: Optional[np.ndarray] = None

    @property
    def unanimous(self) -> bool:
        """Whether every member voted for the ensemble class."""
        return self.agreement >= 1.0 - 1e-9

    def cam_on_slice(self, slice_shape: tuple[int, int], member: Optional[str] = None) -> np.ndarray:
        """The map (a member's, or the mean when None) on a slice-sized array, NaN outside the box."""
        cam = self.cam_mean if member is None else self.cams[member]
        if cam is None:
            raise ValueError("this result has no Grad-CAM maps")
        return paste_into_slice(cam, self.box, slice_shape)

    def to_dict(self, member_names: tuple[str, ...], class_names: tuple[str, ...]) -> dict[str, Any]:
        """JSON-ready summary (no maps)."""
        return {
            "roi_id": self.roi_id,
            "kind": self.kind,
            "series_instance_uid": self.series_instance_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "slice_index": self.slice_index,
            "box": list(self.box),
            "probabilities": dict(zip(class_names, _round(self.probabilities))),
            "predicted": self.predicted,
            "agreement": round(self.agreement, 6),
            "members": {
                name: {"probabilities": dict(zip(class_names, _round(p))), "vote": vote}
                for name, p, vote in zip(member_names, self.member_probabilities, self.member_votes)
            },
            "cam_class": self.cam_class,
        }


@dataclass(frozen=True, eq=False)
class PatientStaging:
    """The patient-level result over all staged patches.

    Attributes
    ----------
    probabilities
        ``(k,)`` aggregated over patches (``aggregation``).
    predicted_index, predicted
        The patient class.
    aggregation
        ``"mean"``, ``"median"`` or ``"vote"``.
    patch_count
        Patches combined.
    member_probabilities
        ``(m, k)``: each member's probabilities aggregated the same way.
    member_votes
        Each member's patient-level class name.
    agreement
        Weighted share of members whose patient-level class is the ensemble's.
    """

    probabilities: np.ndarray
    predicted_index: int
    predicted: str
    aggregation: str
    patch_count: int
    member_probabilities: np.ndarray
    member_votes: tuple[str, ...]
    agreement: float

    def to_dict(self, member_names: tuple[str, ...], class_names: tuple[str, ...]) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "probabilities": dict(zip(class_names, _round(self.probabilities))),
            "predicted": self.predicted,
            "aggregation": self.aggregation,
            "patch_count": self.patch_count,
            "agreement": round(self.agreement, 6),
            "members": {
                name: {"probabilities": dict(zip(class_names, _round(p))), "vote": vote}
                for name, p, vote in zip(member_names, self.member_probabilities, self.member_votes)
            },
        }


@dataclass(frozen=True, eq=False)
class StagingResult:
    """Everything one staging run produced.

    Attributes
    ----------
    patches
        One result per patch, in input order.
    patient
        The patient-level result (None when there were no patches).
    class_names, member_names, vote_weights
        The bundle's classes and members (weights normalised to sum 1).
    bundle_name, bundle_version, bundle_hash
        Which bundle (hash: SHA-256 of its manifest, or how the demo was made).
    untrained_demo
        Random weights: not a prediction.
    device
        Where and with which runtime it ran (``"CPU: ONNX Runtime 1.20.1, CPUExecutionProvider, 2 threads"``).
    runtime
        ``"onnx"`` or ``"tf"``.
    elapsed_s
        Wall time of the run.
    """

    patches: tuple[PatchStaging, ...]
    patient: Optional[PatientStaging]
    class_names: tuple[str, ...]
    member_names: tuple[str, ...]
    vote_weights: tuple[float, ...]
    bundle_name: str
    bundle_version: str
    bundle_hash: str
    untrained_demo: bool
    device: str
    elapsed_s: float = 0.0
    runtime: str = ""

    @property
    def label(self) -> str:
        """:data:`UNTRAINED_LABEL` for the untrained demo, else an empty string."""
        return UNTRAINED_LABEL if self.untrained_demo else ""

    def headline(self, *, selected_only: bool = False) -> str:
        """The patient-level :func:`~.headline.stage_headline` ("" without patches).

        Parameters
        ----------
        selected_only
            The run staged only the selected ROI(s), not the whole study.
        """
        if self.patient is None:
            return ""
        patient = self.patient
        agreeing, voting = voting_agreement(patient.predicted, patient.member_votes, self.vote_weights)
        return stage_headline(patient.predicted, float(patient.probabilities[patient.predicted_index]), agreeing, voting,
                              selected_only=selected_only)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (maps left out), for the CLI and reports."""
        return {
            "label": self.label,
            "untrained_demo": self.untrained_demo,
            "bundle": {"name": self.bundle_name, "version": self.bundle_version, "sha256": self.bundle_hash},
            "device": self.device,
            "runtime": self.runtime,
            "class_names": list(self.class_names),
            "members": list(self.member_names),
            "vote_weights": [round(w, 6) for w in self.vote_weights],
            "patches": [p.to_dict(self.member_names, self.class_names) for p in self.patches],
            "patient": self.patient.to_dict(self.member_names, self.class_names) if self.patient else None,
            "elapsed_s": round(self.elapsed_s, 3),
        }

    def summary_lines(self) -> list[str]:
        """Human-readable lines: bundle, each patch with its members, the patient.

        Slices are numbered from 1, as the viewer and the PDF report number them.
        """
        lines = [f"*** {self.label} ***"] if self.untrained_demo else []
        lines.append(f"bundle {self.bundle_name} {self.bundle_version} ({self.bundle_hash[:12]}) on {self.device}")
        classes = self.class_names

        def probs(p: np.ndarray) -> str:
            return ", ".join(f"{c} {float(v):.3f}" for c, v in zip(classes, p))

        for index, patch in enumerate(self.patches, start=1):
            row0, col0, row1, col1 = patch.box
            lines.append(
                f"patch {index} ({patch.kind}, slice {patch.slice_index + 1}, rows {row0}-{row1}, cols {col0}-{col1}): "
                f"{patch.predicted} [{probs(patch.probabilities)}], agreement {patch.agreement:.0%}"
            )
            for name, p, vote in zip(self.member_names, patch.member_probabilities, patch.member_votes):
                lines.append(f"    {name:<20} {vote:<8} [{probs(p)}]")
        if self.patient is not None:
            lines.append(
                f"patient: {self.headline()} [{probs(self.patient.probabilities)}] "
                f"({self.patient.aggregation} of {self.patient.patch_count} patch(es)), "
                f"weighted agreement {self.patient.agreement:.0%}"
            )
        if self.untrained_demo:
            lines.append(f"*** {self.label} ***")
        return lines
