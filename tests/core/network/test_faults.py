"""Faults: unreachable nodes, wrong AE titles, cancel, a PACS that stops answering, TLS mismatches."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE, evt, sop_class

from npc_desktop.core.network import (
    FindQuery,
    PacsConnectionError,
    PacsNode,
    PacsRejectedError,
    PacsTimeoutError,
    PacsTlsError,
    StudyStore,
    Timeouts,
    TlsSettings,
    find_studies,
    retrieve_study,
    verify_node,
)
from npc_desktop.core.progress import OperationCancelled
from tests.orthanc_server import free_port, start_orthanc
from tests.pacs_fixtures import SMALL_MR
from tests.tls_certs import make_test_certificates

pytestmark = pytest.mark.realdata


def test_closed_port_fails_fast_with_one_line(orthanc):
    node = orthanc.node(port=free_port())
    start = time.monotonic()
    with pytest.raises(PacsConnectionError) as caught:
        verify_node(node)
    assert time.monotonic() - start < node.timeouts.connect + 1
    message = str(caught.value)
    assert "\n" not in message and "test-orthanc" in message and "refused" in message


def test_unreachable_host_ends_within_the_connect_timeout():
    node = PacsNode(name="far", ae_title="FAR", host="10.255.255.1", port=104, timeouts=Timeouts(connect=1))
    start = time.monotonic()
    with pytest.raises(PacsConnectionError) as caught:
        verify_node(node)
    assert time.monotonic() - start < 3
    assert "far (FAR@10.255.255.1:104)" in str(caught.value)


def test_wrong_called_ae_names_the_ae_and_what_to_set(orthanc):
    with pytest.raises(PacsRejectedError) as caught:
        find_studies(orthanc.node(ae_title="NOTORTHANC"), FindQuery(patient_id="*"))
    assert "'NOTORTHANC'" in str(caught.value) and "set the node's AE title" in str(caught.value)


def test_cancel_mid_retrieval_leaves_nothing_behind(orthanc, tmp_path):
    store = StudyStore(tmp_path / "store")
    cancel = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 10:
            cancel.set()

    with pytest.raises(OperationCancelled):
        retrieve_study(orthanc.node(), store, orthanc.tcia_study, method="get", progress=progress, cancel=cancel)
    assert 10 <= max(seen) < 120
    assert list((tmp_path / "store").rglob("*")) == [] or not list((tmp_path / "store").rglob("*.dcm"))
    assert store.temporaries() == []
    assert not store.contains(next(iter(orthanc.tcia_files)))


def test_wado_cancel_also_removes_the_partial_study(orthanc, tmp_path):
    store = StudyStore(tmp_path)
    cancel = threading.Event()
    with pytest.raises(OperationCancelled):
        retrieve_study(orthanc.web_node(), store, orthanc.tcia_study, method="wado", cancel=cancel,
                       progress=lambda done, total: done == 5 and cancel.set())
    assert not list(tmp_path.rglob("*.dcm")) and store.temporaries() == []


@pytest.fixture
def silent_pacs(dicom_dir: Path):
    """A pynetdicom Q/R SCP that answers the first instance of a C-GET, then stops answering for 4 s."""
    instance = pydicom.dcmread(dicom_dir / SMALL_MR)
    release = threading.Event()

    def handle_get(event):
        yield 2
        yield 0xFF00, instance
        release.wait(4)
        yield 0xFF00, instance

    def handle_find(event):
        release.wait(4)
        yield 0x0000, None

    ae = AE(ae_title="SILENT")
    ae.add_supported_context(sop_class.StudyRootQueryRetrieveInformationModelGet)
    ae.add_supported_context(sop_class.StudyRootQueryRetrieveInformationModelFind)
    ae.add_supported_context(sop_class.MRImageStorage, scu_role=True, scp_role=True)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False,
                             evt_handlers=[(evt.EVT_C_GET, handle_get), (evt.EVT_C_FIND, handle_find)])
    yield PacsNode(name="silent", ae_title="SILENT", host="127.0.0.1", port=port,
                   timeouts=Timeouts(connect=2, acse=2, dimse=1)), instance
    release.set()
    server.shutdown()


def test_a_pacs_that_stops_answering_ends_the_transfer(silent_pacs, tmp_path):
    node, instance = silent_pacs
    store = StudyStore(tmp_path)
    start = time.monotonic()
    with pytest.raises(PacsTimeoutError) as caught:
        retrieve_study(node, store, str(instance.StudyInstanceUID), method="get")
    assert time.monotonic() - start < 3.5
    assert "DIMSE timeout of 1 s" in str(caught.value) and "silent" in str(caught.value)
    assert not list(tmp_path.rglob("*.dcm")) and store.temporaries() == []
    with pytest.raises(PacsTimeoutError):
        find_studies(node, FindQuery(patient_id="*"))


@pytest.fixture(scope="module")
def tls_orthanc(tmp_path_factory):
    certificates = make_test_certificates(tmp_path_factory.mktemp("tls"))
    server = start_orthanc(extra_config={
        "DicomTlsEnabled": True, "DicomTlsCertificate": str(certificates.server_cert),
        "DicomTlsPrivateKey": str(certificates.server_key),
        "DicomTlsTrustedCertificates": str(certificates.ca_cert), "DicomTlsRemoteCertificateRequired": False})
    yield server, certificates
    server.stop()


def test_tls_with_our_ca_works_and_a_mismatch_is_refused(tls_orthanc):
    server, certificates = tls_orthanc
    node = PacsNode(name="secure", ae_title="ORTHANC", host="127.0.0.1", port=server.dicom_port,
                    tls=TlsSettings(enabled=True, ca_file=str(certificates.ca_cert)), timeouts=Timeouts(2, 5, 5))
    assert "answered C-ECHO" in verify_node(node)
    wrong_ca = replace(node, tls=replace(node.tls, ca_file=str(certificates.other_ca_cert)))
    with pytest.raises(PacsTlsError) as caught:
        verify_node(wrong_ca)
    assert "certificate verify failed" in str(caught.value) and "secure" in str(caught.value)
    with pytest.raises(PacsTlsError) as caught:
        verify_node(replace(node, host="127.0.0.2"))  # the certificate names 127.0.0.1 and localhost only
    assert "TLS" in str(caught.value)
    with pytest.raises(PacsConnectionError):
        verify_node(replace(node, tls=TlsSettings()))  # plain DICOM to a TLS port


def test_info_logs_hold_no_patient_names_or_ids(orthanc, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    find_studies(orthanc.node(), FindQuery(patient_name="VS-SEG*", patient_id="VS-SEG-001"))
    retrieve_study(orthanc.node(), StudyStore(tmp_path), orthanc.small_study, method="get")
    infos = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert infos
    assert not [m for m in infos if "VS-SEG" in m or "CompressedSamples" in m or "4MR1" in m]


def test_c_find_falls_back_to_patient_root(dicom_dir):
    from pydicom.dataset import Dataset

    seen_models = []

    def handle_find(event):
        seen_models.append(str(event.request.AffectedSOPClassUID))
        answer = Dataset()
        answer.QueryRetrieveLevel = "STUDY"
        answer.StudyInstanceUID = "1.2.3"
        answer.PatientID = "P1"
        yield 0xFF00, answer

    ae = AE(ae_title="OLDPACS")
    ae.add_supported_context(sop_class.PatientRootQueryRetrieveInformationModelFind)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_FIND, handle_find)])
    try:
        node = PacsNode(name="old", ae_title="OLDPACS", host="127.0.0.1", port=port, timeouts=Timeouts(2, 5, 5))
        results = find_studies(node, FindQuery(patient_id="P1"))
    finally:
        server.shutdown()
    assert [(r.study_uid, r.patient_id) for r in results] == [("1.2.3", "P1")]
    assert seen_models == [str(sop_class.PatientRootQueryRetrieveInformationModelFind)]
