"""Rulers, node axes and the cricoid level in the SR (OHIF's Length/Bidirectional form) and CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pydicom
import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.cricoid import cricoid_level_at, image_point_to_patient
from npc_desktop.core.annotation.measurements import NodeAxes, Ruler
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.dicom import Volume, index_path, load_series
from npc_desktop.core.interop.measurement_tables import MEASUREMENT_COLUMNS, write_measurements_csv
from npc_desktop.core.interop.sr import (
    SrError,
    annotated_images,
    build_sr,
    export_sr,
    read_sr,
    read_sr_rois,
    source_headers_for,
)
from npc_desktop.core.interop.sr_common import tracking_uid
from npc_desktop.core.interop.sr_measurements import (
    BIDIRECTIONAL_TRACKING_IDENTIFIER,
    LENGTH_TRACKING_IDENTIFIER,
)
from tests.external_tools import dciodvfy_errors


@pytest.fixture(scope="module")
def demo_index(demo_study):
    return index_path(demo_study.root)


@pytest.fixture(scope="module")
def t2(demo_study, demo_index) -> Volume:
    return load_series(demo_index.find_series(demo_study.series_uids["T2"]))


def measured_set(volume: Volume) -> AnnotationSet:
    """A node ROI with its axes, a tumour ROI, two rulers (one on another slice) and the cricoid."""
    meta = volume.meta
    image = dict(study_instance_uid=meta.study_instance_uid, series_instance_uid=meta.series_instance_uid)
    on = lambda k: dict(image, sop_instance_uid=volume.slices[k].sop_instance_uid)  # noqa: E731
    aset = AnnotationSet(meta.study_instance_uid)
    node = RectRoi(**on(10), row0=100, col0=60, row1=140, col1=110, kind=RoiKind.LYMPH_NODE)
    aset.add(node)
    aset.add(RectRoi(**on(12), row0=20.5, col0=30, row1=60, col1=80.25))
    aset.add_measurement(Ruler(**on(10), start=(10.25, 20.5), end=(50.75, 90.125)))
    aset.add_measurement(Ruler(**on(14), start=(5, 5), end=(5, 105.5)))
    # quarter pixels: exact in the SR's 32-bit floats
    aset.add_measurement(NodeAxes(**on(10), roi_id=node.id, long_axis=((104, 64), (136, 104)),
                                  short_axis=((130, 74), (110, 90)), pixel_spacing=pixel_spacing(volume)))
    aset.set_cricoid_level(cricoid_level_at(volume, 20, 150.5, 112.25))
    return aset


def _walk(ds: pydicom.Dataset):
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                yield item
                yield from _walk(item)


def _groups(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    container = next(i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "126010")
    return list(container.ContentSequence)


def _item(items, code: str) -> pydicom.Dataset:
    return next(i for i in items if i.ConceptNameCodeSequence[0].CodeValue == code)


def _axes_group(ds: pydicom.Dataset) -> pydicom.Dataset:
    return next(g for g in _groups(ds) if any(getattr(i, "TextValue", "") == BIDIRECTIONAL_TRACKING_IDENTIFIER
                                              for i in g.ContentSequence))


def test_node_axes_have_their_own_tracking_uid_and_name_their_roi(tmp_path: Path, demo_index, t2: Volume) -> None:
    """OHIF merges groups sharing a Tracking UID: the axes group has its own, and its long axis
    carries the node ROI's Tracking Identifier and UID."""
    aset = measured_set(t2)
    axes, node = aset.node_axes[0], aset.rois[0]
    path = export_sr(aset, source_headers_for(demo_index, annotated_images(aset)), tmp_path / "axes.dcm")
    assert dciodvfy_errors(path) == []
    ds = pydicom.dcmread(path)
    uids = [str(_item(g.ContentSequence, "112040").UID) for g in _groups(ds)]
    assert len(uids) == len(set(uids))  # no two groups share a Tracking UID
    group = _axes_group(ds)
    assert _item(group.ContentSequence, "112039").TextValue == BIDIRECTIONAL_TRACKING_IDENTIFIER
    assert _item(group.ContentSequence, "112040").UID == tracking_uid(axes.id)
    roi_uids = {tracking_uid(r.id) for r in aset.rois}
    assert tracking_uid(axes.id) not in roi_uids
    long_axis = _item(group.ContentSequence, "103339001")
    assert long_axis.ValueType == "NUM"
    link = {i.ConceptNameCodeSequence[0].CodeValue: i for i in long_axis.ContentSequence}
    assert link["112039"].RelationshipType == link["112040"].RelationshipType == "HAS OBS CONTEXT"
    assert (link["112039"].TextValue, link["112040"].UID) == (node.id, tracking_uid(node.id))


def test_sr_of_the_previous_layout_still_reads(tmp_path: Path, demo_index, t2: Volume) -> None:
    """Files written before: the axes group had the ROI's Tracking UID, the long axis the axes' own id."""
    aset = measured_set(t2)
    axes, node = aset.node_axes[0], aset.rois[0]
    headers = source_headers_for(demo_index, annotated_images(aset))
    ds = pydicom.dcmread(export_sr(aset, headers, tmp_path / "new.dcm"))
    group = _axes_group(ds)
    _item(group.ContentSequence, "112040").UID = tracking_uid(node.id)
    long_axis = _item(group.ContentSequence, "103339001")
    _item(long_axis.ContentSequence, "112039").TextValue = axes.id
    _item(long_axis.ContentSequence, "112040").UID = tracking_uid(axes.id)
    old = tmp_path / "old.dcm"
    ds.save_as(old)
    back = read_sr(old, headers).measurements.node_axes
    assert [(a.id, a.roi_id) for a in back] == [(axes.id, node.id)]
    assert back[0].long_axis == axes.long_axis and back[0].short_axis == axes.short_axis
    # an old file without the axes' own id still binds the axes to their ROI
    long_axis.ContentSequence = [i for i in long_axis.ContentSequence
                                 if i.ConceptNameCodeSequence[0].CodeValue not in ("112039", "112040")]
    ds.save_as(old)
    back = read_sr(old, headers).measurements.node_axes
    assert back[0].roi_id == node.id and back[0].id != node.id
    # a new-layout group whose long axis does not name the ROI cannot be bound
    _item(group.ContentSequence, "112040").UID = tracking_uid(axes.id)
    ds.save_as(old)
    with pytest.raises(SrError, match="do not name their ROI"):
        read_sr(old, headers)


def test_sr_round_trip_in_ohif_form_and_dciodvfy(tmp_path: Path, demo_index, t2: Volume) -> None:
    aset = measured_set(t2)
    headers = source_headers_for(demo_index, annotated_images(aset))
    path = export_sr(aset, headers, tmp_path / "measurements.dcm")
    assert dciodvfy_errors(path) == []

    ds = pydicom.dcmread(path)
    texts = [i.TextValue for i in _walk(ds) if getattr(i, "ValueType", "") == "TEXT"]
    assert texts.count(LENGTH_TRACKING_IDENTIFIER) == 2 and texts.count(BIDIRECTIONAL_TRACKING_IDENTIFIER) == 1
    nums = [i for i in _walk(ds) if getattr(i, "ValueType", "") == "NUM"]
    by_code = {}
    for num in nums:
        by_code.setdefault(num.ConceptNameCodeSequence[0].CodeValue, []).append(num)
    # Length (SCT 410668003) in mm, inferred from a two-point POLYLINE selected from the image
    spacing = pixel_spacing(t2)
    for num, ruler in zip(by_code["410668003"], aset.rulers):
        assert float(num.MeasuredValueSequence[0].NumericValue) == pytest.approx(ruler.length_mm(spacing), abs=1e-5)
        assert num.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue == "mm"
        scoord = next(c for c in num.ContentSequence if c.ValueType == "SCOORD")
        assert scoord.RelationshipType == "INFERRED FROM" and scoord.GraphicType == "POLYLINE"
        np.testing.assert_array_equal(np.asarray(scoord.GraphicData).reshape(2, 2),
                                      [[ruler.start[1], ruler.start[0]], [ruler.end[1], ruler.end[0]]])
        assert scoord.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ruler.sop_instance_uid
    axes = aset.node_axes[0]
    assert float(by_code["103339001"][0].MeasuredValueSequence[0].NumericValue) == pytest.approx(axes.long_mm, abs=1e-5)
    assert float(by_code["103340004"][0].MeasuredValueSequence[0].NumericValue) == pytest.approx(axes.short_mm, abs=1e-5)
    # The meanings dcmjs' Bidirectional adapter matches exactly (OHIF): "Long Axis", "Short Axis".
    assert by_code["103339001"][0].ConceptNameCodeSequence[0].CodeMeaning == "Long Axis"
    assert by_code["103340004"][0].ConceptNameCodeSequence[0].CodeMeaning == "Short Axis"
    points = [i for i in _walk(ds) if getattr(i, "GraphicType", "") == "POINT"]
    assert len(points) == 1 and points[0].ValueType == "SCOORD"

    content = read_sr(path, headers)
    assert [r.id for r in content.rois] == [r.id for r in aset.rois]  # the ROIs are read as before
    assert [r.id for r in read_sr_rois(path)] == [r.id for r in aset.rois]
    back = content.measurements
    strip = lambda m: {k: v for k, v in m.to_dict().items() if k not in ("created", "modified")}  # noqa: E731
    assert [strip(r) for r in back.rulers] == [strip(r) for r in aset.rulers]
    assert [strip(a) for a in back.node_axes] == [strip(a) for a in aset.node_axes]
    level = aset.cricoid_level
    assert back.cricoid_level is not None and back.cricoid_level.id == level.id
    assert back.cricoid_level.sop_instance_uid == level.sop_instance_uid
    np.testing.assert_allclose(back.cricoid_level.position, level.position, atol=1e-3)
    # Everything read back fits into a new set (axes bound to their ROI).
    again = AnnotationSet(aset.study_instance_uid, content.rois, measurements=[*back.rulers, *back.node_axes],
                          cricoid_level=back.cricoid_level)
    assert again.axes_for_roi(aset.rois[0].id) is not None


def test_sr_measurement_errors(tmp_path: Path, demo_index, t2: Volume) -> None:
    aset = measured_set(t2)
    headers = source_headers_for(demo_index, annotated_images(aset))
    with pytest.raises(SrError, match="cricoid level .*no header was given"):
        build_sr(aset, [h for h in headers if h.SOPInstanceUID != aset.cricoid_level.sop_instance_uid])
    path = export_sr(aset, headers, tmp_path / "m.dcm")
    with pytest.raises(SrError, match="the header of image .* is needed"):
        read_sr(path)
    only_rulers = AnnotationSet(aset.study_instance_uid, measurements=aset.rulers)
    back = read_sr(export_sr(only_rulers, headers, tmp_path / "r.dcm"))  # rulers need no header
    assert len(back.measurements.rulers) == 2 and back.rois == ()


def test_measurements_csv(tmp_path: Path, demo_study, t2: Volume) -> None:
    aset = measured_set(t2)
    path = write_measurements_csv(aset, [t2], tmp_path / "m.csv", patient="NPC-7")
    with path.open(newline="") as fp:
        reader = csv.DictReader(fp)
        assert tuple(reader.fieldnames or ()) == MEASUREMENT_COLUMNS
        rows = list(reader)
    assert [(r["type"], r["axis"]) for r in rows] == [
        ("ruler", ""), ("ruler", ""), ("node_axis", "long"), ("node_axis", "short"), ("cricoid_level", "")]
    spacing = pixel_spacing(t2)
    assert float(rows[0]["length_mm"]) == pytest.approx(aset.rulers[0].length_mm(spacing), abs=1e-3)
    assert int(rows[1]["slice_index"]) == 14 and rows[1]["image_name"] == "NPC-7_S1_s0014.png"
    assert float(rows[2]["length_mm"]) == pytest.approx(aset.node_axes[0].long_mm, abs=1e-3)
    assert rows[2]["roi_id"] == aset.rois[0].id
    expected = image_point_to_patient(t2, 20, 150.5, 112.25)
    assert [float(rows[4][k]) for k in ("x_mm", "y_mm", "z_mm")] == pytest.approx(list(expected), abs=1e-3)
    text = path.read_text()
    assert demo_study.study_instance_uid not in text and demo_study.patient_id not in text
