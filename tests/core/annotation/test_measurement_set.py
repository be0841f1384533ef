"""Measurements in the annotation set: events, exact undo/redo, node axes bound to their ROI,
and the annotation file (schema 3, older versions, corrupt fields)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from npc_desktop.core.annotation.annotation_set import SCHEMA_VERSION, AnnotationSet
from npc_desktop.core.annotation.events import (
    CricoidLevelChanged,
    MeasurementAdded,
    MeasurementRemoved,
    MeasurementUpdated,
    RoiRemoved,
    TnmFormChanged,
)
from npc_desktop.core.annotation.measurements import CricoidLevel, LineSegment, NodeAxes, Ruler
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.validation import AnnotationError

STUDY, SERIES = "1.2.826.0.1.3680043.8.498.10", "1.2.826.0.1.3680043.8.498.11"
IMAGE = dict(study_instance_uid=STUDY, series_instance_uid=SERIES, sop_instance_uid=f"{SERIES}.1")
OTHER_IMAGE = dict(IMAGE, sop_instance_uid=f"{SERIES}.2")


def node_roi(**changes: Any) -> RectRoi:
    return RectRoi(**{**IMAGE, "row0": 10, "col0": 10, "row1": 60, "col1": 50, "kind": RoiKind.LYMPH_NODE, **changes})


def node_axes(roi: RectRoi, **changes: Any) -> NodeAxes:
    return NodeAxes(**{**IMAGE, "roi_id": roi.id, "long_axis": ((15, 30), (55, 30)),
                       "short_axis": ((35, 15), (35, 45)), "pixel_spacing": (0.8, 0.8), **changes})


def full_set() -> AnnotationSet:
    aset = AnnotationSet(STUDY)
    roi = node_roi()
    aset.add(RectRoi(**IMAGE, row0=1, col0=1, row1=5, col1=5))
    aset.add(roi)
    aset.add_measurement(Ruler(**OTHER_IMAGE, start=(1, 1), end=(40, 41.5)))
    aset.add_measurement(node_axes(roi))
    aset.add_measurement(Ruler(**IMAGE, start=(2, 3), end=(4, 5), author="AB"))
    aset.set_cricoid_level(CricoidLevel(**OTHER_IMAGE, position=(1.5, -20.25, -110.0)))
    aset.set_tnm_form({"edition": 8, "t": {"findings": ["parapharyngeal"]}, "m": "M0"})
    aset.last_staging = {"anything": [1, 2]}
    return aset


# -- undo and redo ----------------------------------------------------------------------------------


def _operations() -> list[tuple[str, Callable[[AnnotationSet], Any], type]]:
    return [
        ("add ruler", lambda s: s.add_measurement(Ruler(**IMAGE, start=(0, 0), end=(9, 9)), index=1), MeasurementAdded),
        ("remove ruler", lambda s: s.remove_measurement(s.rulers[0].id), MeasurementRemoved),
        ("move ruler", lambda s: s.move_measurement(s.rulers[1].id, 2.5, -1), MeasurementUpdated),
        ("edit axes", lambda s: s.update_measurement(s.node_axes[0].with_axes(
            LineSegment((12, 30), (58, 30)), LineSegment((35, 20), (35, 40)))), MeasurementUpdated),
        ("remove axes", lambda s: s.remove_measurement(s.node_axes[0].id), MeasurementRemoved),
        ("move cricoid", lambda s: s.set_cricoid_level(s.cricoid_level.with_position((0, 0, -90))), CricoidLevelChanged),
        ("clear cricoid", lambda s: s.set_cricoid_level(None), CricoidLevelChanged),
        ("tnm form", lambda s: s.set_tnm_form({"t": "T4"}), TnmFormChanged),
        ("clear tnm form", lambda s: s.set_tnm_form(None), TnmFormChanged),
        ("remove node roi", lambda s: s.remove(s.rois[1].id), RoiRemoved),
    ]


@pytest.mark.parametrize(("name", "operation", "event_type"), _operations(), ids=[o[0] for o in _operations()])
def test_every_measurement_event_undoes_and_redoes_exactly(name: str, operation, event_type: type) -> None:
    aset = full_set()
    seen: list[Any] = []
    aset.events.connect(seen.append)
    before = aset.to_dict()
    event = operation(aset)
    assert isinstance(event, event_type) and seen == [event]
    after = aset.to_dict()
    assert after != before
    aset.revert(event)
    assert aset.to_dict() == before and len(seen) == 2
    aset.apply(event)
    assert aset.to_dict() == after
    with pytest.raises(ValueError, match="stale event|already used"):
        aset.apply(event)  # already applied: the state is not the one it starts from


def test_removing_a_node_roi_takes_its_axes_in_one_event() -> None:
    aset = full_set()
    roi, axes = aset.rois[1], aset.node_axes[0]
    event = aset.remove(roi.id)
    assert event.measurements == ((1, axes),)
    assert aset.axes_for_roi(roi.id) is None and axes.id not in [m.id for m in aset.measurements]
    aset.revert(event)
    assert aset.axes_for_roi(roi.id) == axes and aset.measurement_index(axes.id) == 1


def test_node_axes_rules() -> None:
    aset = full_set()
    roi, tumour = aset.rois[1], aset.rois[0]
    with pytest.raises(AnnotationError, match="^roi_id: ROI .* already has node axes"):
        aset.add_measurement(node_axes(roi))
    with pytest.raises(AnnotationError, match="^roi_id: ROI .* is a tumour, not a lymph node"):
        aset.add_measurement(node_axes(tumour))
    with pytest.raises(AnnotationError, match="^roi_id: there is no ROI"):
        aset.add_measurement(node_axes(node_roi()))
    other = node_roi(**OTHER_IMAGE)
    aset.add(other)
    with pytest.raises(AnnotationError, match="^sop_instance_uid: node axes must be drawn on the image of ROI"):
        aset.add_measurement(node_axes(other))
    # A ROI with axes keeps its kind and image; moving its box is fine.
    with pytest.raises(AnnotationError, match="^kind: ROI .* has node axes"):
        aset.set_kind(roi.id, "tumour")
    with pytest.raises(AnnotationError, match="^sop_instance_uid: ROI .* cannot change image"):
        aset.update(RectRoi(**{**roi.to_dict(), **OTHER_IMAGE, "kind": "lymph_node", "created": roi.created,
                               "modified": roi.modified}))
    aset.move(roi.id, 3, 3)
    with pytest.raises(AnnotationError, match="^roi_id: node axes stay bound"):
        aset.update_measurement(node_axes(other, id=aset.node_axes[0].id, **IMAGE))
    with pytest.raises(AnnotationError, match="^type: measurement .* is a Ruler"):
        aset.update_measurement(node_axes(roi, id=aset.rulers[0].id))


def test_ids_are_unique_across_rois_measurements_and_cricoid() -> None:
    aset = full_set()
    with pytest.raises(AnnotationError, match="^id: id .* is already used"):
        aset.add_measurement(Ruler(**IMAGE, start=(0, 0), end=(1, 1), id=aset.rois[0].id))
    with pytest.raises(AnnotationError, match="^id: an ROI or measurement with id"):
        aset.add(RectRoi(**IMAGE, row0=0, col0=0, row1=1, col1=1, id=aset.rulers[0].id))
    with pytest.raises(AnnotationError, match="^id: id .* is already used"):
        aset.set_cricoid_level(CricoidLevel(**IMAGE, position=(0, 0, 0), id=aset.rulers[0].id))
    with pytest.raises(AnnotationError, match="^study_instance_uid"):
        aset.add_measurement(Ruler(**{**IMAGE, "study_instance_uid": "1.2.3"}, start=(0, 0), end=(1, 1)))


def test_tnm_form_is_stored_as_a_copy_and_must_be_json() -> None:
    aset = AnnotationSet(STUDY)
    form = {"t": {"findings": ["orbit"]}}
    aset.set_tnm_form(form)
    form["t"]["findings"].append("parotid")
    assert aset.tnm_form == {"t": {"findings": ["orbit"]}}
    aset.tnm_form["t"] = "changed"  # a copy
    assert aset.tnm_form == {"t": {"findings": ["orbit"]}}
    for bad in ({"x": float("nan")}, {"x": object()}, {1: "a"}, ["T1"]):
        with pytest.raises(AnnotationError, match="^tnm_form"):
            aset.set_tnm_form(bad)  # type: ignore[arg-type]


# -- the annotation file ----------------------------------------------------------------------------


def test_schema_3_round_trips_exactly(tmp_path: Path) -> None:
    aset = full_set()
    data = aset.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION == 3
    assert [m["type"] for m in data["measurements"]] == ["ruler", "node_axes", "ruler"]
    assert data["cricoid_level"]["position"] == [1.5, -20.25, -110.0]
    text = json.dumps(data)
    again = AnnotationSet.from_dict(json.loads(text))
    assert json.dumps(again.to_dict()) == text
    assert again.measurements == aset.measurements and again.cricoid_level == aset.cricoid_level
    store = AnnotationStore(tmp_path)
    store.save(aset)
    loaded = AnnotationStore(tmp_path).load(STUDY).annotations
    assert loaded.to_dict() == data


def test_versions_1_and_2_still_load() -> None:
    data = full_set().to_dict()
    for key in ("measurements", "cricoid_level", "tnm_form"):
        del data[key]
    version_2 = dict(data, schema_version=2)
    loaded = AnnotationSet.from_dict(version_2)
    assert loaded.measurements == () and loaded.cricoid_level is None and loaded.tnm_form is None
    assert loaded.last_staging == {"anything": [1, 2]} and len(loaded.rois) == 2
    version_1 = dict(version_2, schema_version=1)
    del version_1["last_staging"]
    assert len(AnnotationSet.from_dict(version_1).rois) == 2
    with pytest.raises(AnnotationError, match="^measurements: is not a known field"):
        AnnotationSet.from_dict(dict(version_2, measurements=[]))


def _corrupt(data: dict, path: str, value: Any) -> dict:
    data = copy.deepcopy(data)
    target: Any = data
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        target = target[int(part) if part.isdigit() else part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(("path", "value", "field"), [
    ("measurements", {}, "measurements"),
    ("measurements[0]", "ruler", "measurements[0]"),
    ("measurements[0].type", "angle", "measurements[0].type"),
    ("measurements[0].start", [1], "measurements[0].start"),
    ("measurements[0].end", [1, "2"], "measurements[0].end[1]"),
    ("measurements[0].created", "soon", "measurements[0].created"),
    ("measurements[1].short_axis", [[0, 0], [0, 90]], "measurements[1].short_axis"),
    ("measurements[1].pixel_spacing", [0, 1], "measurements[1].pixel_spacing"),
    ("measurements[1].roi_id", "00000000-0000-4000-8000-000000000009", "measurements[1].roi_id"),
    ("cricoid_level", [1, 2, 3], "cricoid_level"),
    ("cricoid_level.position", [1, 2], "cricoid_level.position"),
    ("cricoid_level.type", "ruler", "cricoid_level.type"),
    ("tnm_form", "T1N0M0", "tnm_form"),
])
def test_corrupt_fields_name_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(AnnotationError) as info:
        AnnotationSet.from_dict(_corrupt(full_set().to_dict(), path, value))
    assert info.value.field == field, str(info.value)
