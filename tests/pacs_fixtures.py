"""Session fixtures for the PACS tests: a real Orthanc loaded with real series, and node factories."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import pytest

from tests.orthanc_server import OrthancServer, orthanc_missing_reason, start_orthanc

SMALL_MR = Path("pydicom__pydicom/src/pydicom/data/test_files/MR_small.dcm")
TEXT_SR = Path("cornerstonejs__cornerstoneWADOImageLoader/testImages/no-pixel-data.dcm")


def require_orthanc() -> None:
    """Skip (fail under CI=true) when Orthanc or its DICOMweb plugin is missing."""
    reason = orthanc_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; .ci/run installs it")
        pytest.skip(reason)


@dataclass
class LoadedOrthanc:
    """The running server and what it holds."""

    server: OrthancServer
    tcia_study: str
    tcia_series: str
    tcia_files: dict[str, Path]
    small_study: str
    small_files: dict[str, Path] = field(default_factory=dict)
    sr_uid: str = ""

    def node(self, **changes):
        """A DIMSE node for this Orthanc with short test timeouts."""
        from npc_desktop.core.network import PacsNode, Timeouts

        settings = dict(name="test-orthanc", ae_title="ORTHANC", host="127.0.0.1", port=self.server.dicom_port,
                        timeouts=Timeouts(connect=2, acse=5, dimse=15))
        settings.update(changes)
        return PacsNode(**settings)

    def web_node(self, **changes):
        """A DICOMweb node for this Orthanc."""
        from npc_desktop.core.network import PacsNode, Timeouts

        settings = dict(name="test-orthanc-web", url=self.server.dicomweb_url,
                        timeouts=Timeouts(connect=2, acse=5, dimse=30))
        settings.update(changes)
        return PacsNode(**settings)


def _sr_in_study(sr_path: Path, mr: pydicom.Dataset) -> bytes:
    """The public Basic Text SR moved into the small MR study, so that study holds a non-image object."""
    sr = pydicom.dcmread(sr_path)
    sr.StudyInstanceUID = mr.StudyInstanceUID
    sr.PatientID = mr.PatientID
    sr.PatientName = mr.PatientName
    buffer = io.BytesIO()
    sr.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def orthanc(dicom_dir: Path):
    """Orthanc on free ports, loaded once with the 120-image TCIA series and a small MR study with an SR."""
    require_orthanc()
    server = start_orthanc()
    try:
        tcia_dir = dicom_dir / "mr-head-t1c-tcia-vs-seg-001"
        tcia_paths = sorted(tcia_dir.glob("*.dcm"))
        server.upload(tcia_paths)
        first = pydicom.dcmread(tcia_paths[0], stop_before_pixels=True)
        tcia_files = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): p for p in tcia_paths}
        mr = pydicom.dcmread(dicom_dir / SMALL_MR)
        server.upload([dicom_dir / SMALL_MR])
        sr_bytes = _sr_in_study(dicom_dir / TEXT_SR, mr)
        server.upload_bytes(sr_bytes)
        sr = pydicom.dcmread(io.BytesIO(sr_bytes))
        loaded = LoadedOrthanc(server=server, tcia_study=str(first.StudyInstanceUID),
                               tcia_series=str(first.SeriesInstanceUID), tcia_files=tcia_files,
                               small_study=str(mr.StudyInstanceUID),
                               small_files={str(mr.SOPInstanceUID): dicom_dir / SMALL_MR},
                               sr_uid=str(sr.SOPInstanceUID))
        yield loaded
    finally:
        server.stop()
