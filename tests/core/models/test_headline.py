"""The staging headline: one rule for the panel, the PDF report and ``npc-desktop stage``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.models.headline import stage_headline, voting_agreement
from npc_desktop.core.models.results import PatientStaging, StagingResult
from npc_desktop.core.reports import write_report_pdf
from tests.core.reports.test_pdf import MEMBERS, make_content
from tests.external_tools import pdf_text


def test_unanimous_members_give_a_plain_stage_with_their_count() -> None:
    assert voting_agreement("IVa", ("IVa",) * 5, (0.2,) * 5) == (5, 5)
    assert stage_headline("IVa", 0.834, 5, 5) == "Stage IVa (p = 0.83) - all 5 members agree"


def test_a_split_decision_is_said_in_the_headline_itself() -> None:
    votes = ("III", "III", "IVa", "III", "III")
    agreeing, voting = voting_agreement("IVa", votes, (0.2,) * 5)
    assert (agreeing, voting) == (1, 5)
    assert stage_headline("IVa", 0.57, agreeing, voting) == "Stage IVa (p = 0.57) - split: 1 of 5 members agree"


def test_partial_staging_is_not_called_the_patients_stage() -> None:
    assert stage_headline("III", 0.61, 4, 5, selected_only=True) == (
        "III (selected ROI only) (p = 0.61) - split: 4 of 5 members agree")
    assert stage_headline("III", 0.9, 5, 5, selected_only=True) == (
        "III (selected ROI only) (p = 0.90) - all 5 members agree")


def test_a_member_without_a_vote_neither_makes_nor_breaks_agreement() -> None:
    # A trained bundle's Basic CNN baseline is shown with weight 0.
    votes = ("III", "IVa", "IVa")
    assert voting_agreement("IVa", votes, (0.0, 0.5, 0.5)) == (2, 2)
    assert stage_headline("IVa", 0.7, 1, 1) == "Stage IVa (p = 0.70) - 1 voting member"


def test_inconsistent_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="3 member votes but 2 vote weights"):
        voting_agreement("IVa", ("III", "IVa", "IVa"), (0.5, 0.5))
    with pytest.raises(ValueError, match="6 agreeing of 5"):
        stage_headline("IVa", 0.5, 6, 5)


def _result(votes: tuple[str, ...], probabilities: tuple[float, float]) -> StagingResult:
    patient = PatientStaging(
        probabilities=np.array(probabilities), predicted_index=int(np.argmax(probabilities)),
        predicted=("III", "IVa")[int(np.argmax(probabilities))], aggregation="mean", patch_count=2,
        member_probabilities=np.full((len(votes), 2), 0.5), member_votes=votes, agreement=0.2)
    return StagingResult(patches=(), patient=patient, class_names=("III", "IVa"),
                         member_names=tuple(f"m{i}" for i in range(len(votes))),
                         vote_weights=(1 / len(votes),) * len(votes), bundle_name="b", bundle_version="1",
                         bundle_hash="0" * 64, untrained_demo=False, device="CPU")


def test_the_text_output_states_the_split_on_the_patient_line() -> None:
    result = _result(("III", "III", "IVa", "III", "III"), (0.43, 0.57))
    assert result.headline() == "Stage IVa (p = 0.57) - split: 1 of 5 members agree"
    assert result.summary_lines()[-1].startswith("patient: Stage IVa (p = 0.57) - split: 1 of 5 members agree [")
    assert result.headline(selected_only=True).startswith("IVa (selected ROI only)")


def test_the_pdf_result_line_says_split(tmp_path: Path) -> None:
    content = make_content()
    # Four of the five members lean to III, yet the mean (the ensemble) stays IVa.
    split = {m: ((0.52, 0.48) if k < 4 else (0.02, 0.98)) for k, m in enumerate(MEMBERS)}
    patient = tuple(np.mean(list(split.values()), axis=0))
    assert patient[1] > 0.5
    content = dataclasses.replace(content, patient_member_probabilities=split, patient_probabilities=patient)
    flat = " ".join(pdf_text(write_report_pdf(content, tmp_path / "split.pdf")).split())
    assert f"Stage IVa (p = {patient[1]:.2f}) - split: 1 of 5 members agree" in flat
    assert "a split decision" in flat
