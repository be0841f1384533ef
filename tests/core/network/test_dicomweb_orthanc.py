"""DICOMweb against Orthanc's plugin: QIDO-RS, WADO-RS and STOW-RS give the DIMSE side's results."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from npc_desktop.core.network import (
    FindQuery,
    PacsConnectionError,
    StudyStore,
    find_studies,
    retrieve_study,
    send_files,
)
from tests.orthanc_server import free_port

pytestmark = pytest.mark.realdata


def test_qido_matches_c_find(orthanc):
    query = FindQuery(patient_id="VS-SEG*")
    web = find_studies(orthanc.web_node(), query)
    dimse = find_studies(orthanc.node(), query)
    assert [r.study_uid for r in web] == [r.study_uid for r in dimse] == [orthanc.tcia_study]
    assert web[0].patient_id == dimse[0].patient_id and web[0].image_count == 120
    series = find_studies(orthanc.web_node(), FindQuery(level="series", study_uid=orthanc.small_study))
    assert sorted(s.modality for s in series) == ["MR", "SR"]
    assert find_studies(orthanc.web_node(), FindQuery(patient_name="NOBODY*")) == []


def test_wado_retrieve_of_a_series_equals_the_originals(orthanc, tmp_path):
    seen = []
    report = retrieve_study(orthanc.web_node(), StudyStore(tmp_path), orthanc.tcia_study, orthanc.tcia_series,
                            method="wado", progress=lambda done, total: seen.append((done, total)))
    assert {p.stem for p in report.stored} == set(orthanc.tcia_files)
    assert seen[-1] == (120, 120)
    for path in report.stored[::29]:
        np.testing.assert_array_equal(pydicom.dcmread(path).pixel_array,
                                      pydicom.dcmread(orthanc.tcia_files[path.stem]).pixel_array)


def test_stow_sends_a_file_that_appears_in_orthanc(orthanc, tmp_path, dicom_dir):
    source = pydicom.dcmread(dicom_dir / "pydicom__pydicom/src/pydicom/data/test_files/MR_small.dcm")
    source.SOPInstanceUID = pydicom.uid.generate_uid()
    source.StudyInstanceUID, source.SeriesInstanceUID = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    source.PatientID = "SENT-BY-TEST"  # other tests search the loaded patients
    source.file_meta.MediaStorageSOPInstanceUID = source.SOPInstanceUID
    path = tmp_path / "stow.dcm"
    source.save_as(path)
    report = send_files(orthanc.web_node(), [path])
    assert report.ok and report.sent == [path]
    assert orthanc.server.find_instances({"SOPInstanceUID": str(source.SOPInstanceUID)})


def test_a_closed_web_port_is_one_line(orthanc):
    node = orthanc.web_node(url=f"http://127.0.0.1:{free_port()}/dicom-web")
    with pytest.raises(PacsConnectionError) as caught:
        find_studies(node, FindQuery())
    assert "cannot connect" in str(caught.value) and "\n" not in str(caught.value)
