"""Text of the staging results panel, computed from a staged result (plain functions, no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from npc_desktop.core.models.headline import voting_agreement
from npc_desktop.core.models.results import StagingResult
from npc_desktop.core.reports.assemble import display_names
from npc_desktop.gui.staging.staging_state import StagedResult, device_text

KIND_WORDS = {"tumour": "Tumour", "lymph_node": "Node"}


def percent(value: float) -> str:
    """A probability as the panel shows it: ``0.8312`` -> ``"0.83"``."""
    return f"{float(value):.2f}"


@dataclass(frozen=True)
class PatientSummary:
    """The patient-level lines of the panel."""

    headline: str
    """Stage, probability and whether the members split, from the core's one headline function:
    ``"Stage IVa (p = 0.57) - split: 1 of 5 members agree"``."""
    agreement: str
    """E.g. ``"3 of 5 models agree (60 %) — split decision"``."""
    split: bool
    """Whether the members disagree."""
    votes: str
    """Each member's patient-level vote."""
    aggregation: str
    """How the patches were combined, e.g. ``"Patient level: mean over 5 patch(es)"``."""


@dataclass(frozen=True)
class PatchLine:
    """One row of the patch table."""

    roi_id: str
    label: str
    slice_text: str
    predicted: str
    probabilities: tuple[str, ...]
    agreement: str
    split: bool


@dataclass(frozen=True)
class MemberLine:
    """One row of the member table: a member's probabilities and vote for the shown patch."""

    member: str
    name: str
    probabilities: tuple[str, ...]
    vote: str
    dissent: bool


def member_names(staged: StagedResult) -> dict[str, str]:
    """Member name -> display name (``vgg16`` -> ``VGG16``)."""
    manifest = staged.engine.manifest if staged.engine is not None else None
    return display_names(staged.result, manifest)


def _agreement(agreement: float, votes: tuple[str, ...], predicted: str,
               weights: tuple[float, ...]) -> tuple[str, bool]:
    count, voting = voting_agreement(predicted, votes, weights)
    split = count < voting
    text = f"{count} of {voting} voting models agree ({agreement:.0%})"
    return (text + " — split decision" if split else text + " — unanimous"), split


def patient_summary(staged: StagedResult) -> Optional[PatientSummary]:
    """The patient-level stage, its probability and the members' agreement (None without patches)."""
    result = staged.result
    patient = result.patient
    if patient is None:
        return None
    names = member_names(staged)
    text, split = _agreement(patient.agreement, patient.member_votes, patient.predicted, result.vote_weights)
    votes = " · ".join(f"{names[m]} {v}" for m, v in zip(result.member_names, patient.member_votes))
    if staged.partial:
        text = f"{len(staged.roi_ids or ())} of {len(staged.annotations.rois)} ROIs staged - stage all for the patient. " + text
    aggregation = f"Patient level: {patient.aggregation} over {patient.patch_count} patch(es)"
    return PatientSummary(result.headline(selected_only=staged.partial), text, split, votes, aggregation)


def _series_name(staged: StagedResult, uid: str) -> str:
    """``"T1C"`` / ``"T2"`` from the description, else the series number (the panel is narrow)."""
    from npc_desktop.core.research.export_sources import sequence_of

    volume = staged.volumes.get(uid)
    if volume is None:
        return "?"
    meta = volume.meta
    sequence = sequence_of(meta.series_description or "")
    if sequence != "other":
        return sequence
    return f"Se {meta.series_number}" if meta.series_number is not None else (meta.modality or "?")


def patch_lines(staged: StagedResult) -> list[PatchLine]:
    """One line per staged patch, in the order staged."""
    lines = []
    for number, patch in enumerate(staged.result.patches, start=1):
        kind = KIND_WORDS.get(patch.kind, patch.kind)
        _, split = _agreement(patch.agreement, patch.member_votes, patch.predicted, staged.result.vote_weights)
        lines.append(PatchLine(
            roi_id=patch.roi_id,
            label=f"{number}. {kind}",
            slice_text=f"{_series_name(staged, patch.series_instance_uid)} s{patch.slice_index + 1}",
            predicted=patch.predicted,
            probabilities=tuple(percent(p) for p in patch.probabilities),
            agreement=f"{sum(v == patch.predicted for v in patch.member_votes)}/{len(patch.member_votes)}",
            split=split,
        ))
    return lines


def member_lines(staged: StagedResult, patch_index: Optional[int]) -> list[MemberLine]:
    """Each member's probabilities and vote for patch ``patch_index``, or for the patient when None."""
    result = staged.result
    names = member_names(staged)
    if patch_index is None:
        if result.patient is None:
            return []
        probabilities, votes, predicted = (result.patient.member_probabilities, result.patient.member_votes,
                                           result.patient.predicted)
    else:
        patch = result.patches[patch_index]
        probabilities, votes, predicted = patch.member_probabilities, patch.member_votes, patch.predicted
    return [
        MemberLine(m, names[m], tuple(percent(p) for p in probs), vote, vote != predicted)
        for m, probs, vote in zip(result.member_names, probabilities, votes)
    ]


def bundle_line(result: StagingResult) -> str:
    """Which bundle produced the result, where, and how long it took."""
    ident = result.bundle_hash[:12] if len(result.bundle_hash) == 64 else result.bundle_hash
    return (f"Bundle {result.bundle_name} {result.bundle_version} ({ident}) · {device_text(result.device)} · "
            f"{result.elapsed_s:.1f} s")
