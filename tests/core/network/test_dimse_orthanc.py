"""DIMSE against a real Orthanc: C-ECHO, C-FIND, C-GET, C-MOVE and C-STORE, with outside oracles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from npc_desktop.core.network import (
    FindQuery,
    PacsRejectedError,
    StudyStore,
    find_studies,
    retrieve_study,
    send_files,
    verify_node,
)
from tests.orthanc_server import free_port

pytestmark = pytest.mark.realdata


def test_echo_answers(orthanc):
    assert "answered C-ECHO" in verify_node(orthanc.node())


def test_find_study_by_patient_id_with_wildcard(orthanc):
    results = find_studies(orthanc.node(), FindQuery(patient_id="VS-SEG*"))
    assert [r.study_uid for r in results] == [orthanc.tcia_study]
    study = results[0]
    assert study.patient_id == "VS-SEG-001"
    assert study.modalities == ("MR",)
    assert study.series_count == 1 and study.image_count == 120


def test_find_by_date_range_modality_and_series_level(orthanc):
    by_date = find_studies(orthanc.node(), FindQuery(date="19940101-19941231", modality="MR"))
    assert {r.study_uid for r in by_date} == {orthanc.tcia_study}
    series = find_studies(orthanc.node(), FindQuery(level="series", study_uid=orthanc.small_study))
    assert sorted(s.modality for s in series) == ["MR", "SR"]
    assert all(s.image_count == 1 for s in series)


def test_find_with_no_match_is_empty(orthanc):
    assert find_studies(orthanc.node(), FindQuery(patient_name="NOBODY^HERE*")) == []


def _pixels(path: Path) -> np.ndarray:
    return pydicom.dcmread(path).pixel_array


def test_c_get_of_the_120_image_series_equals_the_originals(orthanc, tmp_path):
    store = StudyStore(tmp_path / "store")
    seen = []
    report = retrieve_study(orthanc.node(), store, orthanc.tcia_study, method="get",
                            progress=lambda done, total: seen.append((done, total)))
    assert len(report.stored) == 120 and not report.problems
    assert {p.stem for p in report.stored} == set(orthanc.tcia_files)
    assert seen[-1] == (120, 120) and len(seen) == 120
    for path in report.stored[::17]:
        np.testing.assert_array_equal(_pixels(path), _pixels(orthanc.tcia_files[path.stem]))
    assert store.temporaries() == []
    again = retrieve_study(orthanc.node(), store, orthanc.tcia_study, orthanc.tcia_series, method="get")
    assert again.stored == [] and again.skipped == 120


def test_c_get_stores_the_non_image_object_with_a_message(orthanc, tmp_path):
    report = retrieve_study(orthanc.node(), StudyStore(tmp_path), orthanc.small_study, method="get")
    assert {p.stem for p in report.stored} == set(orthanc.small_files) | {orthanc.sr_uid}
    assert report.non_image == ["Basic Text SR Storage"]
    assert "1 non-image object(s) (Basic Text SR Storage)" in report.summary()


def test_c_move_to_our_storage_scp(orthanc, tmp_path):
    report = retrieve_study(orthanc.node(), StudyStore(tmp_path), orthanc.small_study, method="move",
                            port=orthanc.server.move_port)
    assert {p.stem for p in report.stored} == set(orthanc.small_files) | {orthanc.sr_uid}
    mr = next(p for p in report.stored if p.stem in orthanc.small_files)
    np.testing.assert_array_equal(_pixels(mr), _pixels(orthanc.small_files[mr.stem]))


def test_c_move_to_an_unknown_ae_names_it(orthanc, tmp_path):
    store = StudyStore(tmp_path)
    with pytest.raises(PacsRejectedError) as caught:
        retrieve_study(orthanc.node(our_aet="STRANGER"), store, orthanc.small_study, method="move",
                       port=free_port())
    message = str(caught.value)
    assert "'STRANGER'" in message and "C-MOVE destination" in message and "test-orthanc" in message
    assert not list(tmp_path.rglob("*.dcm")) and store.temporaries() == []


def test_c_store_sends_files_that_appear_in_orthanc(orthanc, tmp_path, dicom_dir):
    source = pydicom.dcmread(dicom_dir / "pydicom__pydicom/src/pydicom/data/test_files/MR_small.dcm")
    source.SOPInstanceUID = pydicom.uid.generate_uid()
    source.StudyInstanceUID, source.SeriesInstanceUID = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    source.PatientID = "SENT-BY-TEST"  # other tests search the loaded patients
    source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
    path = tmp_path / "copy.dcm"
    source.save_as(path)
    junk = tmp_path / "notes.txt"
    junk.write_text("not DICOM")
    report = send_files(orthanc.node(), [path, junk])
    assert report.sent == [path]
    assert len(report.failed) == 1 and "notes.txt" in report.failed[0]
    assert orthanc.server.find_instances({"SOPInstanceUID": str(source.SOPInstanceUID)})
