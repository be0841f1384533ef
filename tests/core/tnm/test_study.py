"""A study's TNM from its saved form and annotations: node axes give the size, the cricoid level
and the node's series say whether it lies below it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.cricoid import cricoid_level_at, slice_index_of
from npc_desktop.core.annotation.measurements import NodeAxes
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.core.dicom import index_path, load_path
from npc_desktop.core.tnm.form import NodeFlags, TnmForm
from npc_desktop.core.tnm.nodes import Side
from npc_desktop.core.tnm.study import assess_study, node_rois, study_node_evidence


@pytest.fixture(scope="module")
def demo_t1c(demo_study):
    return load_path(demo_study.root, demo_study.series_uids["T1C"])[1]


def _annotated(demo_study, form: TnmForm) -> AnnotationSet:
    rois = example_rois(demo_study)
    annotations = AnnotationSet(rois[0].study_instance_uid, rois)
    annotations.set_tnm_form(form.to_dict())
    return annotations


def _long_axes(roi, volume, long_px: float) -> NodeAxes:
    row = (roi.row0 + roi.row1) / 2
    col = (roi.col0 + roi.col1) / 2
    return NodeAxes(study_instance_uid=roi.study_instance_uid, series_instance_uid=roi.series_instance_uid,
                    sop_instance_uid=roi.sop_instance_uid, frame_number=roi.frame_number, roi_id=roi.id,
                    long_axis=((row, col - long_px / 2), (row, col + long_px / 2)),
                    short_axis=((row - 2, col), (row + 2, col)), pixel_spacing=pixel_spacing(volume))


def test_node_size_and_sides_come_from_the_annotations(demo_study, demo_t1c) -> None:
    annotations = _annotated(demo_study, TnmForm())
    nodes = node_rois(annotations)
    assert len(nodes) == 3 and all(r.kind is RoiKind.LYMPH_NODE for r in nodes)
    flags = {nodes[0].id: NodeFlags(side=Side.LEFT), nodes[1].id: NodeFlags(side=Side.LEFT),
             nodes[2].id: NodeFlags(side=Side.LEFT, retropharyngeal=True)}
    form = TnmForm(findings=frozenset({"t2.parapharyngeal"}), m="M0", nodes=flags, primary_side=Side.LEFT)
    annotations.set_tnm_form(form.to_dict())
    # 70 mm across at 0.9 mm pixels: more than 6 cm.
    annotations.add_measurement(_long_axes(nodes[1], demo_t1c, 70 / 0.9))
    evidence = study_node_evidence(annotations, form, {demo_t1c.meta.series_instance_uid: demo_t1c})
    assert [e.label for e in evidence] == ["node 1", "node 2", "node 3"]
    assert evidence[0].long_axis_mm is None and evidence[1].long_axis_mm == pytest.approx(70.0, abs=0.01)
    assert all(e.below_cricoid is None for e in evidence)  # no cricoid level marked yet
    result = assess_study(annotations, {demo_t1c.meta.series_instance_uid: demo_t1c})
    assert (result.t.value, result.n.value, result.m.value, result.stage) == ("T2", "N3", "M0", "IVA")
    assert any("node 2" in reason and "70" in reason for reason in result.n.reasons)


def test_a_node_below_the_marked_cricoid_is_n3(demo_study, demo_t1c) -> None:
    form = TnmForm(findings=frozenset({"t2.parapharyngeal"}), m="M0")
    annotations = _annotated(demo_study, form)
    nodes = node_rois(annotations)
    form = TnmForm(findings=form.findings, m="M0", primary_side=Side.LEFT,
                   nodes={n.id: NodeFlags(side=Side.LEFT) for n in nodes})
    annotations.set_tnm_form(form.to_dict())
    lowest = min(slice_index_of(demo_t1c, n.sop_instance_uid, n.frame_number) for n in nodes)
    volumes = {demo_t1c.meta.series_instance_uid: demo_t1c}
    # The marker two slices above the lowest node's slice: that node extends below it.
    above = lowest + 2 if demo_t1c.slice_positions[-1] > demo_t1c.slice_positions[0] else lowest - 2
    annotations.set_cricoid_level(cricoid_level_at(demo_t1c, above, 10.0, 10.0))
    evidence = study_node_evidence(annotations, form, volumes)
    assert any(e.below_cricoid for e in evidence)
    assert assess_study(annotations, volumes).n.value == "N3"
    # Without the node's series loaded, whether it is below stays unknown.
    assert all(e.below_cricoid is None for e in study_node_evidence(annotations, form, {}))


def _below_two_slices_up(demo_study, demo_t1c):
    form = TnmForm(findings=frozenset({"t2.parapharyngeal"}), m="M0")
    annotations = _annotated(demo_study, form)
    nodes = node_rois(annotations)
    form = TnmForm(findings=form.findings, m="M0", primary_side=Side.LEFT,
                   nodes={n.id: NodeFlags(side=Side.LEFT) for n in nodes})
    annotations.set_tnm_form(form.to_dict())
    lowest = min(slice_index_of(demo_t1c, n.sop_instance_uid, n.frame_number) for n in nodes)
    above = lowest + 2 if demo_t1c.slice_positions[-1] > demo_t1c.slice_positions[0] else lowest - 2
    return annotations, form, above


def test_the_cricoid_rule_needs_only_the_index_headers(demo_study, demo_t1c) -> None:
    annotations, form, above = _below_two_slices_up(demo_study, demo_t1c)
    annotations.set_cricoid_level(cricoid_level_at(demo_t1c, above, 10.0, 10.0))
    loaded = study_node_evidence(annotations, form, {demo_t1c.meta.series_instance_uid: demo_t1c})
    index = index_path(demo_study.root)
    from_headers = study_node_evidence(annotations, form, {}, index)
    assert [e.below_cricoid for e in from_headers] == [e.below_cricoid for e in loaded]
    assert any(e.below_cricoid for e in from_headers)
    assert assess_study(annotations, {}, index).n.value == "N3"


def test_a_cricoid_level_in_another_frame_of_reference_is_not_compared(demo_study, demo_t1c) -> None:
    annotations, form, above = _below_two_slices_up(demo_study, demo_t1c)
    index = index_path(demo_study.root)
    t2 = index.find_series(demo_study.series_uids["T2"])
    t2.frame_of_reference_uid = "1.2.826.0.1.3680043.8.498.999"  # a registration-free second frame
    # The same patient z as a level two slices above the lowest node, but marked on the T2 series.
    level = cricoid_level_at(demo_t1c, above, 10.0, 10.0)
    level = replace(level, series_instance_uid=t2.series_instance_uid,
                    sop_instance_uid=t2.frames[0].sop_instance_uid, frame_number=None)
    annotations.set_cricoid_level(level)
    for volumes in ({demo_t1c.meta.series_instance_uid: demo_t1c}, {}):
        evidence = study_node_evidence(annotations, form, volumes, index)
        assert all(e.below_cricoid is None for e in evidence)
        result = assess_study(annotations, volumes, index)
        assert result.n.value == "N1" and result.provisional
        assert any("node 1: level against the cricoid unknown (the cricoid level is marked on a series in "
                   "another frame of reference" in caveat for caveat in result.n.caveats)
