"""The N category from node evidence, against the AJCC/UICC 8th edition N definitions.

Oracle: AJCC Cancer Staging Manual, 8th ed. (2017), chapter 9, Regional Lymph Nodes (N):
N1 unilateral cervical and/or unilateral or bilateral retropharyngeal nodes, 6 cm or smaller,
above the caudal border of the cricoid cartilage; N2 bilateral cervical nodes, 6 cm or smaller,
above it; N3 larger than 6 cm and/or extension below it; midline nodes count as ipsilateral.
"""

from __future__ import annotations

import pytest

from npc_desktop.core.tnm import NodeEvidence, Side, TnmError, derive_n, get_edition

TABLE = get_edition(8)


def node(label: str, side: str | None = "left", *, rp: bool = False, mm: float | None = 20.0,
         below: bool | None = False) -> NodeEvidence:
    return NodeEvidence(label=label, side=side, retropharyngeal=rp, long_axis_mm=mm, below_cricoid=below)


def test_no_nodes_is_n0_definite_only_when_the_neck_was_reviewed() -> None:
    call = derive_n([], TABLE)
    assert call.derived == "N0" and call.reasons == ("N0: no involved lymph node recorded",)
    assert call.caveats == ('no node ROI and the neck not marked as reviewed: N0 only if the neck holds no '
                            'involved node; outline the nodes or check "neck reviewed"',)
    reviewed = derive_n([], TABLE, neck_reviewed=True)
    assert reviewed.derived == "N0" and reviewed.caveats == ()
    assert reviewed.reasons == ("N0: neck reviewed, no involved lymph node",)


def test_neck_reviewed_with_node_rois_is_a_contradiction_in_one_line() -> None:
    for nodes, category in (([node("node 1")], "N1"), ([node("node 1", mm=70.0), node("node 2")], "N3")):
        call = derive_n(nodes, TABLE, neck_reviewed=True)
        assert call.derived == category
        contradictions = [c for c in call.caveats if "neck reviewed" in c]
        assert contradictions == [f'"neck reviewed: no involved nodes" is checked but {len(nodes)} node ROI(s) '
                                  'are outlined; uncheck it or remove the node ROIs']


@pytest.mark.parametrize(("mm", "expected"), [(59.9, "N1"), (60.0, "N1"), (60.0 + 1e-9, "N1"), (60.01, "N3"),
                                              (64.0, "N3")])
def test_size_boundary_exactly_60_mm_is_not_n3(mm: float, expected: str) -> None:
    assert derive_n([node("node 1", mm=mm)], TABLE).derived == expected


def test_n3_reason_names_the_node_and_its_size() -> None:
    call = derive_n([node("node 1", mm=20), node("node 2", "right", mm=64.0)], TABLE)
    assert call.derived == "N3"
    assert call.reasons == ("N3: node 2, axial long axis 64 mm > 60 mm",)


def test_a_size_just_over_the_limit_is_printed_with_its_digits() -> None:
    assert derive_n([node("node 1", mm=60.01)], TABLE).reasons == ("N3: node 1, axial long axis 60.01 mm > 60 mm",)


@pytest.mark.parametrize("mm", [5.0, 60.0, None])
def test_below_the_cricoid_is_n3_whatever_the_size(mm: float | None) -> None:
    call = derive_n([node("node 3", mm=mm, below=True)], TABLE)
    assert call.derived == "N3"
    assert call.reasons == ("N3: node 3 lies below the caudal border of the cricoid cartilage",)


def test_unilateral_cervical_is_n1() -> None:
    call = derive_n([node("node 1", "right"), node("node 2", "right")], TABLE)
    assert call.derived == "N1" and call.caveats == ()
    assert call.reasons[0].startswith("N1: unilateral cervical nodes (right), node 1, node 2")


def test_bilateral_cervical_is_n2() -> None:
    call = derive_n([node("node 1", "left"), node("node 2", "right")], TABLE)
    assert call.derived == "N2"
    assert call.reasons[0].startswith("N2: bilateral cervical nodes, node 1 (left) and node 2 (right)")


@pytest.mark.parametrize("sides", [("left",), ("right",), ("left", "right")])
def test_retropharyngeal_nodes_alone_are_n1_on_one_or_both_sides(sides: tuple[str, ...]) -> None:
    call = derive_n([node(f"rp {s}", s, rp=True, below=None) for s in sides], TABLE)
    assert call.derived == "N1" and call.caveats == ()
    assert ("bilateral retropharyngeal" in call.reasons[0]) == (len(sides) == 2)


def test_bilateral_retropharyngeal_with_unilateral_cervical_stays_n1() -> None:
    nodes = [node("rp L", "left", rp=True), node("rp R", "right", rp=True), node("node 3", "left")]
    assert derive_n(nodes, TABLE).derived == "N1"


def test_retropharyngeal_node_over_6_cm_is_n3() -> None:
    assert derive_n([node("rp", "left", rp=True, mm=61)], TABLE).derived == "N3"


@pytest.mark.parametrize(("primary", "expected"), [(Side.LEFT, "N1"), (Side.RIGHT, "N2"), (Side.MIDLINE, "N1")])
def test_midline_node_counts_on_the_primary_side(primary: Side, expected: str) -> None:
    """A left node and a midline node: unilateral with a left primary, bilateral with a right one."""
    call = derive_n([node("node 1", "left"), node("node 2", "midline")], TABLE, primary_side=primary)
    assert call.derived == expected and call.caveats == ()
    assert any("node 2 is midline" in r for r in call.reasons)


def test_midline_node_without_primary_side_says_what_it_depends_on() -> None:
    call = derive_n([node("node 1", "left"), node("node 2", "midline")], TABLE)
    assert call.derived == "N1"
    assert call.caveats == ("node 2 is midline and the primary tumour's side is not given: midline nodes count "
                            "as ipsilateral, so N2 if the primary is on the right",)


def test_midline_nodes_alone_are_unilateral() -> None:
    assert derive_n([node("node 1", "midline"), node("node 2", "midline")], TABLE).derived == "N1"


def test_unmeasured_node_gives_a_caveat_not_a_silent_assumption() -> None:
    call = derive_n([node("node 1", mm=None)], TABLE)
    assert call.derived == "N1"
    assert call.caveats == ("node 1: axial long axis not measured; N3 if it is larger than 60 mm",)
    assert "none known to be N3" in call.reasons[0]


def test_unknown_cricoid_level_gives_a_caveat() -> None:
    call = derive_n([node("node 1", below=None)], TABLE)
    assert call.caveats == ("node 1: level against the cricoid unknown; N3 if it lies below the caudal border "
                            "of the cricoid cartilage",)


def test_missing_evidence_does_not_matter_once_n3() -> None:
    call = derive_n([node("node 1", mm=None, below=None), node("node 2", mm=70)], TABLE)
    assert call.derived == "N3" and call.caveats == ()


def test_single_cervical_node_without_side_is_unilateral() -> None:
    call = derive_n([node("node 1", None)], TABLE)
    assert call.derived == "N1" and call.caveats == ()
    assert any("single cervical node is unilateral" in r for r in call.reasons)


def test_node_without_side_among_others_gives_a_caveat() -> None:
    call = derive_n([node("node 1", "left"), node("node 2", None)], TABLE)
    assert call.derived == "N1"
    assert call.caveats == ("node 2: side not given; N2 if it lies on the other side from the other cervical nodes",)
    assert derive_n([node("a", "left"), node("b", "right"), node("c", None)], TABLE).caveats == ()


@pytest.mark.parametrize(("kwargs", "field"), [({"label": ""}, "label"), ({"side": "up"}, "n.side"),
                                               ({"long_axis_mm": -1.0}, "n.long_axis_mm"),
                                               ({"long_axis_mm": float("nan")}, "n.long_axis_mm"),
                                               ({"below_cricoid": "yes"}, "n.below_cricoid"),
                                               ({"retropharyngeal": 1}, "n.retropharyngeal")])
def test_bad_node_evidence_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(TnmError) as caught:
        NodeEvidence(**{"label": "n", **kwargs})
    assert caught.value.field == field
