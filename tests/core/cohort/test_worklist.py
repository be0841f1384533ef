"""Worklist rows from the index and the annotation store: counts, label, TNM, staging, filters."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.cohort.database import CohortDatabase
from npc_desktop.core.cohort.indexer import index_roots
from npc_desktop.core.cohort.rows import matches
from npc_desktop.core.cohort.worklist import build_worklist
from npc_desktop.core.models.results import PatchStaging, PatientStaging, StagingResult
from npc_desktop.core.staging.record import StagingRecord, roi_revision

CLASSES = ("III", "IVa")
MEMBERS = ("vgg16", "resnet50")


def _roi(study_uid: str, kind: str = "tumour", row0: float = 10.0) -> RectRoi:
    return RectRoi(study_instance_uid=study_uid, series_instance_uid=f"{study_uid}.1",
                   sop_instance_uid=f"{study_uid}.1.12", row0=row0, col0=20, row1=row0 + 30, col1=60, kind=kind,
                   author="dr-a")


def _record(rois: list[RectRoi], predicted: str) -> dict:
    index = CLASSES.index(predicted)
    probabilities = np.array([0.2, 0.8]) if index else np.array([0.8, 0.2])
    patches = tuple(PatchStaging(
        roi_id=roi.id, kind=roi.kind.value, series_instance_uid=roi.series_instance_uid,
        sop_instance_uid=roi.sop_instance_uid, slice_index=11, box=(4, 9, 52, 70),
        member_probabilities=np.stack([probabilities, probabilities]), probabilities=probabilities,
        predicted_index=index, predicted=predicted, member_votes=(predicted, predicted), agreement=1.0,
        cam_class=predicted) for roi in rois)
    patient = PatientStaging(probabilities=probabilities, predicted_index=index, predicted=predicted,
                             aggregation="mean", patch_count=len(patches),
                             member_probabilities=np.stack([probabilities, probabilities]),
                             member_votes=(predicted, predicted), agreement=1.0)
    result = StagingResult(patches=patches, patient=patient, class_names=CLASSES, member_names=MEMBERS,
                           vote_weights=(1.0, 1.0), bundle_name="tiny", bundle_version="1", bundle_hash="ab" * 32,
                           untrained_demo=False, device="CPU", elapsed_s=0.1)
    return StagingRecord(result, roi_revision(rois), datetime.now(timezone.utc)).to_dict()


@pytest.fixture
def worklist_setup(cohort_template, tmp_path: Path):
    root, uids = cohort_template
    store = AnnotationStore(tmp_path / "annotations")
    # patient 0: labelled IVa, staged III -> discordant; patient 1: staged then ROI moved -> stale
    rois0 = [_roi(uids[0]), _roi(uids[0], "lymph_node", 50)]
    store.save(AnnotationSet(uids[0], rois0, PatientLabel(stage="IVa", reviewer="dr-b"),
                             last_staging=_record(rois0, "III")))
    rois1 = [_roi(uids[1])]
    moved = [rois1[0].moved(2, 0)]
    store.save(AnnotationSet(uids[1], moved, last_staging=_record(rois1, "IVa")))
    db = CohortDatabase(tmp_path / "cohort.sqlite")
    index_roots(db, [root])
    yield db, str(store.directory), uids
    db.close()


def test_rows_show_where_each_patient_stands(worklist_setup) -> None:
    db, annotations, uids = worklist_setup
    worklist = build_worklist(db, annotation_dir=annotations)
    rows = {r.study_uid: r for r in worklist.rows}
    first, second, third = rows[uids[0]], rows[uids[1]], rows[uids[2]]
    assert (first.tumours, first.nodes, first.label, first.reviewer) == (1, 1, "IVa", "dr-b")
    assert first.staged and not first.stale and first.ensemble_class == "III" and first.bundle_hash == "ab" * 32
    assert first.discordant and "label IVa" in first.discordance
    assert first.t1c is not None and first.t2 is not None and first.last_edit is not None
    assert second.staged and second.stale and not second.labelled and second.reviewer == "dr-a"
    assert not third.staged and third.annotation_file is None
    assert worklist.summary() == "1 of 3 labelled, 2 staged (1 stale), 1 discordant"
    assert [r.study_uid for r in worklist.filtered("unlabelled")] == [uids[1], uids[2]]
    assert {r.study_uid for r in worklist.filtered("unstaged")} == {uids[1], uids[2]}
    assert [r.study_uid for r in worklist.filtered("discordant")] == [uids[0]]
    with pytest.raises(ValueError, match="choose one of"):
        matches(first, "nonsense")


def test_pseudonyms_are_stable_and_hide_the_name(worklist_setup) -> None:
    db, annotations, _ = worklist_setup
    first = build_worklist(db, annotation_dir=annotations).rows
    again = build_worklist(db, annotation_dir=annotations).rows
    assert [r.pseudonym for r in first] == [r.pseudonym for r in again]
    assert len({r.pseudonym for r in first}) == 3
    data = first[0].to_dict()
    assert "TEST" not in str(data) and data["patient"].startswith("PT-")
    assert first[0].to_dict(real_names=True)["patient"] == "TEST^PATIENT 0"


def test_tnm_stage_and_its_discordance(worklist_setup) -> None:
    from npc_desktop.core.tnm.form import TnmForm

    db, annotations, uids = worklist_setup
    rois = [_roi(uids[2])]
    form = TnmForm(findings={"t4.intracranial"}, m="M0", neck_reviewed=True).to_dict()
    AnnotationStore(annotations).save(AnnotationSet(uids[2], rois, PatientLabel(stage="III"),
                                                    last_staging=_record(rois, "III"), tnm_form=form))
    row = next(r for r in build_worklist(db, annotation_dir=annotations).rows if r.study_uid == uids[2])
    assert (row.label, row.tnm_stage, row.ensemble_class) == ("III", "IVA", "III")
    assert row.discordant and row.discordance == "ensemble III, TNM IVA"


def test_unreadable_annotation_file_is_a_problem_not_a_crash(worklist_setup) -> None:
    db, annotations, uids = worklist_setup
    path = AnnotationStore(annotations).path_for(uids[2])
    path.write_text("{ not json")
    row = next(r for r in build_worklist(db, annotation_dir=annotations).rows if r.study_uid == uids[2])
    assert any(str(path) in p for p in row.problems)
    assert path.read_text() == "{ not json"  # left as it was
