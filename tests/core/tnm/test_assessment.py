"""assess(): T from the checklist, N from the nodes, M as entered, overrides, the chain of reasons."""

from __future__ import annotations

import dataclasses

import pytest

from npc_desktop.core.tnm import (
    Axis,
    EditionTable,
    NodeEvidence,
    Override,
    StageRow,
    TnmError,
    TnmForm,
    assess,
    derive_t,
    get_edition,
)

TABLE = get_edition(8)


def test_highest_t_finding_wins_and_lower_ones_are_listed() -> None:
    call = derive_t({"t2.parapharyngeal", "t3.skull_base", "t1.nasopharynx"}, TABLE)
    assert call.derived == "T3"
    assert call.reasons == ("T3: skull base bone (T3)",
                            "also checked: parapharyngeal space (T2), confined to the nasopharynx (T1)")


def test_every_finding_places_the_tumour_in_its_own_category() -> None:
    for finding in TABLE.findings:
        assert derive_t({finding.id}, TABLE).derived == finding.category


def test_checklist_covers_each_t_category_of_the_issue() -> None:
    ids = {f.id for f in TABLE.findings}
    assert {"t0.ebv_nodes_no_primary", "t2.parapharyngeal", "t2.medial_pterygoid", "t2.lateral_pterygoid",
            "t2.prevertebral", "t3.skull_base", "t3.cervical_vertebra", "t3.pterygoid_structures",
            "t3.paranasal_sinuses", "t4.intracranial", "t4.cranial_nerves", "t4.hypopharynx", "t4.orbit",
            "t4.parotid", "t4.beyond_lateral_pterygoid"} <= ids


def test_t0_with_a_tumour_finding_is_undetermined() -> None:
    call = derive_t({"t0.ebv_nodes_no_primary", "t2.parapharyngeal"}, TABLE)
    assert call.derived is None and "contradicts parapharyngeal space (T2)" in call.reasons[0]


def test_full_assessment_chain_of_reasons() -> None:
    form = TnmForm(findings={"t4.intracranial"}, m="M0")
    nodes = [NodeEvidence(label="node 1", side="left", long_axis_mm=22.0, below_cricoid=False)]
    result = assess(form, nodes)
    assert (result.t.value, result.n.value, result.m.value, result.stage) == ("T4", "N1", "M0", "IVA")
    assert result.reasons == (
        "T4: intracranial extension (T4)",
        "N1: unilateral cervical nodes (left), node 1, each at most 60 mm and above the cricoid",
        "M0: entered by the clinician (no distant metastasis)",
        "Stage IVA: T4 N1 M0 is in the row 'T4 / N1 / M0 -> IVA' of the AJCC/UICC 8th edition table",
    )
    assert not result.provisional and result.overrides == {}


def test_override_replaces_the_value_and_keeps_the_derivation_visible() -> None:
    form = TnmForm(findings={"t3.skull_base"}, m="M0",
                   overrides={Axis.N: Override(category="N3", note="supraclavicular node on ultrasound")})
    nodes = [NodeEvidence(label="node 1", side="right", long_axis_mm=25.0, below_cricoid=False)]
    result = assess(form, nodes)
    assert result.n.derived == "N1" and result.n.value == "N3" and result.n.overridden
    assert result.stage == "IVA"
    assert "N3 overridden to N3" not in " ".join(result.reasons)
    assert "N overridden to N3 by the clinician (derived: N1): supraclavicular node on ultrasound" in result.reasons
    assert any(r.startswith("N1: unilateral cervical nodes (right)") for r in result.reasons)
    assert result.overrides == {Axis.N: Override(category="N3", note="supraclavicular node on ultrasound")}


def test_caveats_make_the_stage_provisional_until_overridden() -> None:
    form = TnmForm(findings={"t3.skull_base"}, m="M0")
    nodes = [NodeEvidence(label="node 1", side="left", long_axis_mm=None, below_cricoid=False)]
    result = assess(form, nodes)
    assert result.stage == "III" and result.provisional
    assert result.reasons[-1] == "Provisional: 1 caveat(s) above could make the stage more advanced"
    confirmed = assess(dataclasses.replace(form, overrides={"N": Override(category="N1", note="42 mm on CT")}), nodes)
    assert not confirmed.provisional and confirmed.stage == "III"


def test_incomplete_form_is_not_staged_and_says_why() -> None:
    result = assess(TnmForm(findings={"t1.nasopharynx"}), [])
    assert result.stage is None
    assert result.stage_reason == "Not staged: M undetermined (M: not entered)"
    assert assess(TnmForm(m="M0"), []).stage_reason == "Not staged: T undetermined (T: no finding checked)"


def test_t0_without_nodes_is_not_staged() -> None:
    result = assess(TnmForm(findings={"t0.ebv_nodes_no_primary"}, m="M0"), [])
    assert result.stage is None and result.stage_reason.startswith("Not staged: T0 N0 M0 cannot be staged")


def test_summary_dict_has_exactly_the_command_line_keys() -> None:
    result = assess(TnmForm(findings={"t2.prevertebral"}, m="M1"), [])
    assert result.summary_dict() == {"t": "T2", "n": "N0", "m": "M1", "stage": "IVB", "edition": 8,
                                     "reasons": list(result.reasons)}


def test_edition_table_refuses_overlapping_rows() -> None:
    rows = (*TABLE.rows, StageRow(t=("T1",), n=("N0",), m=("M0",), stage="II"))
    with pytest.raises(TnmError, match="T1 N0 M0 is in two rows"):
        dataclasses.replace(TABLE, rows=rows)


def test_edition_table_refuses_a_combination_without_row_or_reason() -> None:
    with pytest.raises(TnmError, match="T0 N0 M0 has no row and no exclusion"):
        EditionTable(**{**{f.name: getattr(TABLE, f.name) for f in dataclasses.fields(TABLE)}, "exclusions": ()})
