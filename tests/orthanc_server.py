"""Start a private Orthanc (Debian packages ``orthanc`` and ``orthanc-dicomweb``) for tests and benchmarks.

The server listens on free local ports with a temporary configuration and storage folder, knows our
AE for C-MOVE, serves DICOMweb, and is loaded through its REST API.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
ORTHANC_AET = "ORTHANC"
OUR_AET = "NPCDESKTOP"


def free_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening on it right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def orthanc_missing_reason() -> Optional[str]:
    """Why Orthanc cannot run here, or None when the binary and the DICOMweb plugin are installed."""
    if shutil.which("Orthanc") is None:
        return "Orthanc (Debian package orthanc) is not installed"
    if not DICOMWEB_PLUGIN.is_file():
        return f"the Orthanc DICOMweb plugin {DICOMWEB_PLUGIN} (Debian package orthanc-dicomweb) is not installed"
    return None


@dataclass
class OrthancServer:
    """A running Orthanc: its ports, REST base URL and the process."""

    http_port: int
    dicom_port: int
    move_port: int
    workdir: Path
    process: Optional[subprocess.Popen] = None
    uploaded: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The REST API root."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb base URL."""
        return f"{self.url}/dicom-web"

    def rest(self, method: str, path: str, body: Optional[bytes] = None, content_type: str = "application/json"):
        """Call the REST API; return the decoded JSON answer (or the raw bytes when not JSON)."""
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=60) as answer:
            data = answer.read()
        try:
            return json.loads(data)
        except ValueError:
            return data

    def upload(self, files: Iterable[Path]) -> list[str]:
        """POST each DICOM file to /instances; return the Orthanc instance ids."""
        ids = []
        for path in files:
            answer = self.rest("POST", "/instances", Path(path).read_bytes(), "application/dicom")
            ids.append(answer["ID"])
        return ids

    def upload_bytes(self, data: bytes) -> str:
        """POST one encoded DICOM file; return its Orthanc id."""
        return self.rest("POST", "/instances", data, "application/dicom")["ID"]

    def find_instances(self, query: dict) -> list[dict]:
        """Instances matching a /tools/find query (expanded)."""
        return self.rest("POST", "/tools/find", json.dumps({"Level": "Instance", "Query": query, "Expand": True})
                         .encode())

    def stop(self) -> None:
        """Stop the server and delete its storage."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_orthanc(*, extra_config: Optional[dict] = None, move_port: Optional[int] = None,
                  our_aet: str = OUR_AET, startup_timeout: float = 30.0) -> OrthancServer:
    """Start Orthanc on free ports with a temporary configuration and storage.

    Parameters
    ----------
    extra_config
        Settings merged over the defaults (TLS, DicomCheckCalledAet, ...).
    move_port
        The port of our Storage SCP registered in DicomModalities for C-MOVE (a free port when None).
    our_aet
        Our AE title as registered in DicomModalities.
    startup_timeout
        Seconds to wait for the REST API to answer.

    Returns
    -------
    OrthancServer
        The running server; call ``stop()`` when done.

    Raises
    ------
    RuntimeError
        When Orthanc is missing or does not start (its log tail is in the message).
    """
    reason = orthanc_missing_reason()
    if reason is not None:
        raise RuntimeError(reason)
    workdir = Path(tempfile.mkdtemp(prefix="npc-orthanc-"))
    server = OrthancServer(http_port=free_port(), dicom_port=free_port(),
                           move_port=move_port or free_port(), workdir=workdir)
    config = {
        "Name": "npc-desktop-tests",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "storage"),
        "StorageCompression": False,
        "HttpPort": server.http_port,
        "DicomPort": server.dicom_port,
        "DicomAet": ORTHANC_AET,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": True,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowGet": True,
        "DicomAlwaysAllowMove": True,
        "DicomCheckModalityHost": False,
        "DicomModalities": {"npc": [our_aet, "127.0.0.1", server.move_port]},
        "DicomScuTimeout": 10,
        "DicomThreadsCount": 4,
        "SaveJobs": False,
        "StableAge": 1,
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "StudiesMetadata": "Full",
                     "SeriesMetadata": "Full"},
    }
    config.update(extra_config or {})
    config_path = workdir / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))
    log_path = workdir / "orthanc.log"
    with open(log_path, "wb") as log:
        server.process = subprocess.Popen(["Orthanc", str(config_path)], stdout=log, stderr=subprocess.STDOUT,
                                          env={**os.environ, "MALLOC_ARENA_MAX": "2"})
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            server.rest("GET", "/system")
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    tail = log_path.read_text(errors="replace")[-2000:]
    server.stop()
    raise RuntimeError(f"Orthanc did not start:\n{tail}")
