"""The last staging result stored with a study's annotations: round trip, ROI revision, old files."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from npc_desktop.core.annotation.annotation_set import SCHEMA_VERSION, AnnotationSet
from npc_desktop.core.annotation.autosave import Autosaver
from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.store_results import LoadSource
from npc_desktop.core.models.results import PatchStaging, PatientStaging, StagingResult
from npc_desktop.core.staging.record import StagingRecord, StagingRecordError, roi_revision

STUDY = "1.2.826.0.1.3680043.8.498.30"
SERIES = "1.2.826.0.1.3680043.8.498.31"
SOP = "1.2.826.0.1.3680043.8.498.32"
MEMBERS = ("vgg16", "resnet50", "densenet121", "inception_resnet_v2", "efficientnet_b0")
CLASSES = ("III", "IVa")


def make_roi(i: int = 0, **changes: Any) -> RectRoi:
    values: dict[str, Any] = dict(study_instance_uid=STUDY, series_instance_uid=SERIES, sop_instance_uid=SOP,
                                  row0=10.0 + i, col0=20.25, row1=40.5 + i, col1=61.0 / 3.0 + 30.0)
    values.update(changes)
    return RectRoi(**values)


def make_result(rois: list[RectRoi]) -> StagingResult:
    rng = np.random.default_rng(7)
    patches = []
    for i, roi in enumerate(rois):
        member = rng.dirichlet((1.0, 1.0), size=len(MEMBERS))
        mean = member.mean(axis=0)
        patches.append(PatchStaging(
            roi_id=roi.id, kind=roi.kind.value, series_instance_uid=SERIES, sop_instance_uid=SOP, slice_index=11 + i,
            box=(4, 9, 52, 70), member_probabilities=member, probabilities=mean, predicted_index=int(mean.argmax()),
            predicted=CLASSES[int(mean.argmax())], member_votes=tuple(CLASSES[int(m.argmax())] for m in member),
            agreement=0.6, cam_class="IVa", cams={"vgg16": np.ones((48, 61), np.float32)},
            cam_mean=np.ones((48, 61), np.float32)))
    probabilities = np.mean([p.probabilities for p in patches], axis=0)
    patient = PatientStaging(
        probabilities=probabilities, predicted_index=int(probabilities.argmax()),
        predicted=CLASSES[int(probabilities.argmax())], aggregation="mean", patch_count=len(patches),
        member_probabilities=np.mean([p.member_probabilities for p in patches], axis=0),
        member_votes=("III", "IVa", "IVa", "III", "IVa"), agreement=0.8)
    return StagingResult(patches=tuple(patches), patient=patient, class_names=CLASSES, member_names=MEMBERS,
                         vote_weights=(0.2,) * 5, bundle_name="npc-ensemble", bundle_version="1.0.0",
                         bundle_hash="ab" * 32, untrained_demo=False, device="CPU: 2 threads, oneDNN on",
                         elapsed_s=3.25)


def test_round_trip_keeps_every_number_and_the_bundle() -> None:
    rois = [make_roi(0), make_roi(1, kind=RoiKind.LYMPH_NODE)]
    result = make_result(rois)
    when = datetime(2024, 5, 1, 9, 30, 12, tzinfo=timezone.utc)
    record = StagingRecord(result, roi_revision(rois), when, roi_ids=(rois[1].id,))
    again = StagingRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again.roi_revision == record.roi_revision and again.staged_at == when and again.roi_ids == (rois[1].id,)
    r = again.result
    assert (r.bundle_name, r.bundle_version, r.bundle_hash) == ("npc-ensemble", "1.0.0", "ab" * 32)
    assert r.member_names == MEMBERS and r.class_names == CLASSES and r.device == result.device
    assert r.summary_lines() == result.summary_lines()
    for mine, theirs in zip(r.patches, result.patches):
        assert np.array_equal(mine.member_probabilities, theirs.member_probabilities)
        assert np.array_equal(mine.probabilities, theirs.probabilities)
        assert mine.box == theirs.box and mine.roi_id == theirs.roi_id and mine.member_votes == theirs.member_votes
        assert mine.cams == {} and mine.cam_mean is None  # maps are not stored
    assert np.array_equal(r.patient.member_probabilities, result.patient.member_probabilities)
    assert r.patient.to_dict(MEMBERS, CLASSES) == result.patient.to_dict(MEMBERS, CLASSES)


def test_revision_changes_with_every_roi_change_and_survives_a_reload(tmp_path: Path) -> None:
    aset = AnnotationSet(STUDY, [make_roi(0), make_roi(1)])
    seen = {roi_revision(aset.rois)}
    first = aset.rois[0].id
    for change in (lambda: aset.add(make_roi(2)), lambda: aset.move(first, 0.5, 0.0),
                   lambda: aset.resize(first, 10.0, 20.0, 50.0, 70.0),
                   lambda: aset.set_kind(first, RoiKind.LYMPH_NODE), lambda: aset.remove(first)):
        change()
        revision = roi_revision(aset.rois)
        assert revision not in seen
        seen.add(revision)
    assert roi_revision(reversed(aset.rois)) == roi_revision(aset.rois)  # drawing order does not matter
    # Stored and read back (JSON floats are exact), the same ROIs give the same revision.
    store = AnnotationStore(tmp_path)
    store.save(aset)
    assert roi_revision(store.load(STUDY).annotations.rois) == roi_revision(aset.rois)


def test_record_is_saved_with_the_annotations_and_phi_free(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    aset = AnnotationSet(STUDY, [make_roi(0)], PatientLabel(stage="IVa"))
    record = StagingRecord(make_result(list(aset.rois)), roi_revision(aset.rois), datetime.now(timezone.utc))
    with Autosaver(store, aset) as saver:
        aset.last_staging = record.to_dict()
        saver.pending = True
    saved = json.loads(store.path_for(STUDY).read_text(encoding="utf-8"))
    assert saved["schema_version"] == SCHEMA_VERSION and saved["last_staging"]["bundle"]["sha256"] == "ab" * 32
    loaded = store.load(STUDY)
    again = StagingRecord.from_dict(loaded.annotations.last_staging)
    assert again.roi_revision == roi_revision(loaded.annotations.rois)
    assert not any(key in json.dumps(saved["last_staging"]).lower() for key in ("patient_name", "birth", "accession"))


def test_version_1_files_still_load(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path)
    old = AnnotationSet(STUDY, [make_roi(0)]).to_dict()
    for later in ("last_staging", "measurements", "cricoid_level", "tnm_form"):  # fields added after version 1
        old.pop(later, None)
    old["schema_version"] = 1
    store.directory.mkdir(parents=True, exist_ok=True)
    store.path_for(STUDY).write_text(json.dumps(old), encoding="utf-8")
    result = store.load(STUDY)
    assert result.source is LoadSource.FILE and result.problems == ()
    assert [r.to_dict() for r in result.annotations.rois] == old["rois"] and result.annotations.last_staging is None
    # The next save writes the current version, keeping the old file as the backup.
    result.annotations.add(make_roi(1))
    store.save(result.annotations)
    assert json.loads(store.path_for(STUDY).read_text(encoding="utf-8"))["schema_version"] == SCHEMA_VERSION
    assert json.loads(store.backup_path_for(STUDY).read_text(encoding="utf-8"))["schema_version"] == 1


@pytest.mark.parametrize(("path", "value", "field"), [
    (("record_version",), 9, "record_version"),
    (("roi_revision",), "not-a-hash", "roi_revision"),
    (("bundle", "sha256"), None, "bundle.sha256"),
    (("patches", 0, "probabilities"), [0.5], "patches[0].probabilities"),
    (("patches", 0, "member_probabilities", 2, 1), float("nan"), "patches[0].member_probabilities[2][1]"),
    (("patient", "predicted_index"), 5, "patient.predicted_index"),
    (("staged_at",), "2024-05-01T09:30:00", "staged_at"),
    (("surprise",), 1, "surprise"),
])
def test_invalid_records_name_the_field(path: tuple[Any, ...], value: Any, field: str) -> None:
    rois = [make_roi(0)]
    data = StagingRecord(make_result(rois), roi_revision(rois), datetime.now(timezone.utc)).to_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(StagingRecordError) as error:
        StagingRecord.from_dict(data)
    assert error.value.field == field
