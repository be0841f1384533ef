"""What the TNM dock shows, as plain values and text (no Qt): node rows, the ensemble beside the
TNM stage, the discordance, and whether the TNM stage can fill the patient's stage label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel, Stage, tnm_source
from npc_desktop.core.tnm import (
    EnsembleComparison,
    NodeEvidence,
    Side,
    TnmAssessment,
    TnmError,
    compare_with_ensemble,
    ensemble_class_for_stage,
)

NO_RESULT_TEXT = "Ensemble: no staging result yet"
LABEL_CLASSES: tuple[str, ...] = tuple(stage.value for stage in (Stage.III, Stage.IVA))
"""The stages a patient label can hold besides "unknown": the ensemble's classes as the label spells them."""


@dataclass(frozen=True)
class EnsembleCall:
    """The ensemble's last patient-level result of a study, as the shell hands it to the dock.

    Attributes
    ----------
    study_uid
        The study it was computed for.
    predicted
        The ensemble's class as the bundle names it (``"IVa"``).
    headline
        The result's one line (``"Stage IVa (p = 0.62) - all 5 members agree"``).
    class_names
        The bundle's classes.
    stale
        The ROIs changed after staging.
    partial
        Only some ROIs were staged: not the patient's stage.
    untrained
        Random weights: not a prediction.
    """

    study_uid: str
    predicted: str
    headline: str
    class_names: tuple[str, ...]
    stale: bool = False
    partial: bool = False
    untrained: bool = False


@dataclass(frozen=True)
class NodeRow:
    """One lymph-node ROI in the dock: its flags and what its measurements say."""

    roi_id: str
    label: str
    side: Optional[Side]
    retropharyngeal: bool
    long_axis: str
    below_cricoid: str


@dataclass(frozen=True)
class LabelOffer:
    """Whether "Use as patient stage" can fill the label, with what, or why not."""

    stage: Optional[str]
    source: Optional[str]
    reason: str

    @property
    def enabled(self) -> bool:
        """Whether the button is enabled."""
        return self.stage is not None


def node_rows(annotations: AnnotationSet, evidence: Sequence[NodeEvidence]) -> list[NodeRow]:
    """One row per node ROI from :func:`~npc_desktop.core.tnm.study.study_node_evidence`."""
    no_level = annotations.cricoid_level is None
    rows = []
    for node in evidence:
        if node.below_cricoid is None:
            below = "unknown (no cricoid level marked)" if no_level else "unknown (its series is not shown)"
        else:
            below = "yes" if node.below_cricoid else "no"
        length = "not measured" if node.long_axis_mm is None else f"{node.long_axis_mm:.1f} mm"
        rows.append(NodeRow(roi_id=node.roi_id or "", label=node.label, side=node.side,
                            retropharyngeal=node.retropharyngeal, long_axis=length, below_cricoid=below))
    return rows


def ensemble_line(call: Optional[EnsembleCall]) -> str:
    """The ensemble's result beside the TNM stage, marked stale, partial or untrained."""
    if call is None:
        return NO_RESULT_TEXT
    notes = []
    if call.stale:
        notes.append("stale: the ROIs changed after staging")
    if call.partial:
        notes.append("selected ROIs only")
    if call.untrained:
        notes.append("untrained demo, not a prediction")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    return f"Ensemble: {call.headline or call.predicted}{suffix}"


def comparison(assessment: Optional[TnmAssessment], call: Optional[EnsembleCall]) -> Optional[EnsembleComparison]:
    """The TNM stage against the ensemble's class (None without a result or for a partial one)."""
    if assessment is None or call is None or call.partial:
        return None
    try:
        return compare_with_ensemble(assessment.stage, call.predicted, class_names=call.class_names)
    except TnmError:
        return None  # a class the bundle does not name: nothing to compare


def label_offer(assessment: Optional[TnmAssessment], label: Optional[PatientLabel]) -> LabelOffer:
    """What "Use as patient stage" would put in the label (see :class:`LabelOffer`)."""
    if assessment is None:
        return LabelOffer(None, None, "No TNM form to stage from")
    stage = assessment.stage
    if stage is None:
        return LabelOffer(None, None, "No TNM stage yet: " + assessment.stage_reason.removeprefix("Not staged: "))
    label_stage = ensemble_class_for_stage(stage, LABEL_CLASSES)
    if label_stage is None:
        return LabelOffer(None, None, f"TNM stage {stage} has no patient label: the label holds "
                                      f"{' or '.join(LABEL_CLASSES)}, the ensemble's classes")
    if assessment.provisional:
        # A training label must not rest on open evidence: the caveats could raise the stage.
        open_points = "; ".join(assessment.caveats[:2]) + ("; …" if len(assessment.caveats) > 2 else "")
        return LabelOffer(None, None, f"TNM stage {stage} is provisional: {open_points}")
    source = tnm_source(stage)
    if label is not None and label.stage.value == label_stage and label.source == source:
        return LabelOffer(None, None, f"The patient stage is {label_stage}, from TNM stage {stage}")
    if label is not None and label.tnm_stage is not None and label.tnm_stage != stage:
        # The label was filled from an earlier TNM stage: say so, the training label is out of date.
        return LabelOffer(label_stage, source, f"The patient stage {label.stage.value} came from TNM stage "
                                               f"{label.tnm_stage}; TNM now gives {stage}: update it to {label_stage}")
    return LabelOffer(label_stage, source, f"Sets the patient stage to {label_stage} (from TNM stage {stage})")


def categories_text(assessment: Optional[TnmAssessment]) -> str:
    """``"T3 N1 M0"`` (``"T?"`` for an undetermined axis); empty without an assessment."""
    if assessment is None:
        return ""
    return " ".join(call.value or f"{call.axis.value}?" for call in (assessment.t, assessment.n, assessment.m))


def results_line(assessment: Optional[TnmAssessment], compared: Optional[EnsembleComparison]) -> tuple[str, bool]:
    """The line of the Staging Results dock: the TNM stage and its agreement; whether discordant."""
    if assessment is None:
        return "", False
    provisional = " (provisional)" if assessment.provisional and assessment.stage is not None else ""
    stage = f"TNM stage {assessment.stage}{provisional}" if assessment.stage is not None else "No TNM stage yet"
    head = f"{stage} ({assessment.table.title})"
    if compared is None:
        return head, False
    return f"{head}. {compared.text}", compared.discordant
