"""RectRoi validation, AnnotationSet operations, events, undo/redo and (de)serialisation."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from npc_desktop.core.annotation.annotation_set import FORMAT_NAME, SCHEMA_VERSION, AnnotationSet
from npc_desktop.core.annotation.events import EventEmitter, LabelChanged, RoiAdded, RoiRemoved, RoiUpdated
from npc_desktop.core.annotation.labels import PatientLabel, Stage
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import AnnotationError
from tests.conftest import roi_from_demo_lesion

STUDY = "1.2.826.0.1.3680043.8.498.1"
SERIES_A = "1.2.826.0.1.3680043.8.498.2"
SERIES_B = "1.2.826.0.1.3680043.8.498.3"
SOP_1 = "1.2.826.0.1.3680043.8.498.4"
SOP_2 = "1.2.826.0.1.3680043.8.498.5"
SOP_3 = "1.2.826.0.1.3680043.8.498.6"


def make_roi(**changes: Any) -> RectRoi:
    values: dict[str, Any] = dict(
        study_instance_uid=STUDY, series_instance_uid=SERIES_A, sop_instance_uid=SOP_1,
        row0=10.0, col0=20.0, row1=30.5, col1=45.25,
    )
    values.update(changes)
    return RectRoi(**values)


# ---------------------------------------------------------------------------------------------
# RectRoi and PatientLabel


def test_roi_defaults_and_geometry() -> None:
    roi = make_roi()
    assert roi.kind is RoiKind.TUMOUR
    assert roi.frame_number is None
    assert roi.modified == roi.created and roi.created.tzinfo is not None
    assert (roi.height, roi.width) == (20.5, 25.25)
    assert roi.centre == (20.25, 32.625)
    assert roi.box == (10.0, 20.0, 30.5, 45.25)
    assert roi.size_mm(row_spacing=0.5, col_spacing=0.8) == pytest.approx((10.25, 20.2))
    assert roi.is_on(SOP_1) and not roi.is_on(SOP_1, 1) and not roi.is_on(SOP_2)


def test_roi_is_frozen_and_coerces_values() -> None:
    roi = make_roi(kind="lymph_node", row0=np.float32(1.5), col0=np.int64(2), frame_number=np.int64(3))
    assert roi.kind is RoiKind.LYMPH_NODE
    assert type(roi.row0) is float and type(roi.col0) is float and type(roi.frame_number) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        roi.row0 = 5.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"row1": 10.0}, "row1"),
        ({"col1": 5.0}, "col1"),
        ({"row0": float("nan")}, "row0"),
        ({"col0": float("inf")}, "col0"),
        ({"row0": True}, "row0"),
        ({"row1": "30"}, "row1"),
        ({"kind": "polyp"}, "kind"),
        ({"sop_instance_uid": "1.2.abc"}, "sop_instance_uid"),
        ({"series_instance_uid": ""}, "series_instance_uid"),
        ({"study_instance_uid": "1." + "2" * 70}, "study_instance_uid"),
        ({"frame_number": 0}, "frame_number"),
        ({"frame_number": 1.0}, "frame_number"),
        ({"id": "not-a-uuid"}, "id"),
        ({"id": "A5F3C6A0-0000-4000-8000-000000000000"}, "id"),
        ({"created": datetime(2024, 1, 1)}, "created"),
        ({"modified": "2024-01-01"}, "modified"),
        ({"author": "x" * 65}, "author"),
        ({"author": "bad\x00name"}, "author"),
    ],
)
def test_roi_validation_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(AnnotationError) as info:
        make_roi(**changes)
    assert info.value.field == field
    assert str(info.value).startswith(field + ":")


def test_derived_copies_keep_identity_and_stamp_modified() -> None:
    roi = make_roi(created=datetime(2024, 1, 1, tzinfo=timezone.utc))
    moved = roi.moved(2.0, -3.0)
    assert moved.id == roi.id and moved.created == roi.created and moved.modified > roi.created
    assert moved.box == (12.0, 17.0, 32.5, 42.25)
    assert roi.with_box(0, 0, 1, 1).box == (0.0, 0.0, 1.0, 1.0)
    assert roi.with_kind("lymph_node").kind is RoiKind.LYMPH_NODE
    with pytest.raises(AnnotationError, match="row1"):
        roi.with_box(5, 0, 5, 1)


def test_patient_label_validation() -> None:
    label = PatientLabel(stage="IVa", reviewer="dr-w", note="T4 by skull base erosion")
    assert label.stage is Stage.IVA
    assert PatientLabel().stage is Stage.UNKNOWN
    with pytest.raises(AnnotationError, match="^stage:"):
        PatientLabel(stage="IVb")
    with pytest.raises(AnnotationError, match="^note:"):
        PatientLabel(note="x" * 1001)


# ---------------------------------------------------------------------------------------------
# AnnotationSet operations and events


def test_operations_emit_and_return_events() -> None:
    aset = AnnotationSet(STUDY)
    seen: list[Any] = []
    aset.events.connect(seen.append)
    roi = make_roi()
    added = aset.add(roi)
    moved = aset.move(roi.id, 1.0, 2.0)
    resized = aset.resize(roi.id, 0.0, 0.0, 50.0, 60.0)
    kinded = aset.set_kind(roi.id, RoiKind.LYMPH_NODE)
    relabelled = aset.set_label(PatientLabel(stage=Stage.III))
    removed = aset.remove(roi.id)
    assert seen == [added, moved, resized, kinded, relabelled, removed]
    assert isinstance(added, RoiAdded) and added.index == 0
    assert isinstance(moved, RoiUpdated) and moved.old == roi and moved.new.box == (11.0, 22.0, 31.5, 47.25)
    assert resized.new.box == (0.0, 0.0, 50.0, 60.0)
    assert kinded.new.kind is RoiKind.LYMPH_NODE and kinded.old.kind is RoiKind.TUMOUR
    assert isinstance(relabelled, LabelChanged) and relabelled.new.stage is Stage.III
    assert isinstance(removed, RoiRemoved) and removed.roi == kinded.new
    assert len(aset) == 0 and aset.label.stage is Stage.III


def test_add_rejects_duplicates_and_other_studies() -> None:
    aset = AnnotationSet(STUDY)
    roi = make_roi()
    aset.add(roi)
    with pytest.raises(AnnotationError, match="^id:"):
        aset.add(roi)
    with pytest.raises(AnnotationError, match="^study_instance_uid:"):
        aset.add(make_roi(study_instance_uid="1.2.3"))
    with pytest.raises(KeyError, match="no ROI with id"):
        aset.remove("00000000-0000-4000-8000-000000000000")
    with pytest.raises(AnnotationError, match="^study_instance_uid"):
        AnnotationSet("not a uid")


def test_queries() -> None:
    a = make_roi()
    b = make_roi(sop_instance_uid=SOP_2, kind="lymph_node")
    c = make_roi(series_instance_uid=SERIES_B, sop_instance_uid=SOP_3, frame_number=2)
    aset = AnnotationSet(STUDY, [a, b, c])
    assert aset.rois == (a, b, c) and list(aset) == [a, b, c]
    assert a.id in aset and "nope" not in aset
    assert aset.get(b.id) == b and aset.index_of(c.id) == 2
    assert aset.for_instance(SOP_1) == [a]
    assert aset.for_instance(SOP_3) == [] and aset.for_instance(SOP_3, 2) == [c]
    assert aset.for_series(SERIES_A) == [a, b]
    assert aset.series_uids() == [SERIES_A, SERIES_B]
    assert aset.size_mm(a.id, row_spacing=2.0, col_spacing=1.0) == (41.0, 25.25)
    assert aset.add(make_roi(), index=1).index == 1 and aset.rois[1].id not in (a.id, b.id, c.id)


def _random_operation(aset: AnnotationSet, rng: random.Random) -> Any:
    choice = rng.random()
    if not aset.rois or choice < 0.3:
        row, col = rng.uniform(-5, 200), rng.uniform(-5, 200)
        index = rng.choice([None, 0, len(aset)])
        return aset.add(make_roi(row0=row, col0=col, row1=row + rng.uniform(1, 40), col1=col + rng.uniform(1, 40)), index=index)
    roi = rng.choice(aset.rois)
    if choice < 0.45:
        return aset.remove(roi.id)
    if choice < 0.65:
        return aset.move(roi.id, rng.uniform(-3, 3), rng.uniform(-3, 3))
    if choice < 0.8:
        return aset.resize(roi.id, roi.row0 - 1, roi.col0, roi.row1 + 2, roi.col1 + 0.5)
    if choice < 0.9:
        return aset.set_kind(roi.id, rng.choice(list(RoiKind)))
    return aset.set_label(PatientLabel(stage=rng.choice(list(Stage)), note=str(rng.random())))


def test_undo_redo_like_a_qundostack() -> None:
    """Undo every operation in reverse order, then redo them all: the states match exactly."""
    rng = random.Random(7)
    aset = AnnotationSet(STUDY, [make_roi()])
    states = [aset.to_dict()]
    stack = []
    for _ in range(150):
        stack.append(_random_operation(aset, rng))
        states.append(aset.to_dict())
    seen: list[Any] = []
    aset.events.connect(seen.append)
    for position in range(len(stack) - 1, -1, -1):
        aset.revert(stack[position])
        assert aset.to_dict() == states[position]
    assert seen[0] == AnnotationSet.inverse(stack[-1])
    for position, event in enumerate(stack, start=1):
        aset.apply(event)
        assert aset.to_dict() == states[position]
    assert len(seen) == 2 * len(stack)


def test_stale_event_is_refused() -> None:
    aset = AnnotationSet(STUDY)
    roi = make_roi()
    aset.add(roi)
    first = aset.move(roi.id, 1, 1)
    aset.move(roi.id, 1, 1)
    with pytest.raises(ValueError, match="stale event"):
        aset.revert(first)  # the ROI has moved on since
    label_event = aset.set_label(PatientLabel(stage="III"))
    aset.set_label(PatientLabel(stage="IVa"))
    with pytest.raises(ValueError, match="stale event"):
        aset.revert(label_event)


def test_emitter_runs_every_subscriber_and_reraises() -> None:
    emitter: EventEmitter[int] = EventEmitter()
    got: list[int] = []

    def broken(_: int) -> None:
        raise RuntimeError("subscriber failed")

    emitter.connect(broken)
    disconnect = emitter.connect(got.append)
    with pytest.raises(RuntimeError, match="subscriber failed"):
        emitter.emit(1)
    assert got == [1]
    disconnect()
    emitter.disconnect(broken)
    emitter.disconnect(broken)  # twice is harmless
    emitter.emit(2)
    assert got == [1] and len(emitter) == 0


def test_change_is_kept_when_a_subscriber_fails() -> None:
    aset = AnnotationSet(STUDY)
    aset.events.connect(lambda event: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        aset.add(make_roi())
    assert len(aset) == 1


# ---------------------------------------------------------------------------------------------
# Serialisation


def _filled_set() -> AnnotationSet:
    aset = AnnotationSet(STUDY, label=PatientLabel(stage="IVa", reviewer="rv", note="n"))
    aset.add(make_roi(author="jd"))
    aset.add(make_roi(sop_instance_uid=SOP_2, kind="lymph_node", frame_number=4))
    return aset


def test_round_trip_through_json() -> None:
    aset = _filled_set()
    text = json.dumps(aset.to_dict())
    again = AnnotationSet.from_dict(json.loads(text))
    assert again.to_dict() == aset.to_dict()
    assert again.rois == aset.rois and again.label == aset.label
    data = aset.to_dict()
    assert data["format"] == FORMAT_NAME and data["schema_version"] == SCHEMA_VERSION
    assert data["rois"][0]["created"].endswith("Z")


def _corrupt(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target: Any = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("format", "something-else", "format"),
        ("schema_version", 4, "schema_version"),
        ("last_staging", [], "last_staging"),
        ("schema_version", "1", "schema_version"),
        ("schema_version", True, "schema_version"),
        ("study_instance_uid", None, "study_instance_uid"),
        ("rois", {}, "rois"),
        ("rois[1].row1", -100, "rois[1].row1"),
        ("rois[1].row0", "12", "rois[1].row0"),
        ("rois[0].kind", "Tumour", "rois[0].kind"),
        ("rois[0].created", "yesterday", "rois[0].created"),
        ("rois[0].created", "2024-01-01T10:00:00", "rois[0].created"),
        ("rois[1].sop_instance_uid", KeyError, "rois[1].sop_instance_uid"),
        ("rois[1].patient_name", "DOE^JOHN", "rois[1].patient_name"),
        ("rois[1].study_instance_uid", "1.2.3", "rois[1].study_instance_uid"),
        ("rois[1].id", None, "rois[1].id"),
        ("label.stage", "IV", "label.stage"),
        ("label.extra", 1, "label.extra"),
        ("label", [], "label"),
    ],
)
def test_from_dict_is_strict_and_names_the_field(path: str, value: Any, field: str) -> None:
    data = _corrupt(_filled_set().to_dict(), path, value)
    with pytest.raises(AnnotationError) as info:
        AnnotationSet.from_dict(data)
    assert info.value.field == field, str(info.value)
    assert field in str(info.value)


def test_duplicate_ids_in_a_file_are_refused() -> None:
    data = _filled_set().to_dict()
    data["rois"][1]["id"] = data["rois"][0]["id"]
    with pytest.raises(AnnotationError, match=r"^rois\[1\]\.id"):
        AnnotationSet.from_dict(data)


def test_non_object_document_is_refused() -> None:
    with pytest.raises(AnnotationError, match="^document:"):
        AnnotationSet.from_dict([1, 2])


def test_serialised_form_has_no_phi(demo_study) -> None:
    """Only UIDs, geometry, labels and timestamps: no patient name, ID or date of birth."""
    from npc_desktop.core.dicom import index_path

    index = index_path(demo_study.root)
    patient = index.patients[0]
    aset = AnnotationSet(demo_study.study_instance_uid)
    for lesion in demo_study.lesions[:6]:
        aset.add(roi_from_demo_lesion(demo_study, lesion))
    text = json.dumps(aset.to_dict())
    assert patient.name and patient.patient_id
    for value in (patient.name, patient.patient_id, patient.birth_date, "DEMO", "NPC-DEMO-0001"):
        assert not value or value not in text
    roi_keys = set(aset.to_dict()["rois"][0])
    assert roi_keys == {"id", "kind", "study_instance_uid", "series_instance_uid", "sop_instance_uid",
                        "frame_number", "row0", "col0", "row1", "col1", "created", "modified", "author"}
    assert set(aset.to_dict()) == {"format", "schema_version", "study_instance_uid", "label", "rois", "last_staging",
                                   "measurements", "cricoid_level", "tnm_form"}


def test_timestamps_survive_round_trip_in_other_zones() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=8)))
    roi = make_roi(created=when)
    again = RectRoi.from_dict(json.loads(json.dumps(roi.to_dict())))
    assert again.created == when and again.created.tzinfo == timezone.utc
