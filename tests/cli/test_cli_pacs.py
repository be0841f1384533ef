"""``npc-desktop pacs``: echo, find, get, send and listen against Orthanc; exit 2 with one line on faults."""

from __future__ import annotations

import json
import threading
import time

import pydicom
import pytest

from npc_desktop.cli.main import main
from npc_desktop.core.network import PacsNode, save_nodes
from tests.orthanc_server import free_port
from tests.pacs_fixtures import SMALL_MR

pytestmark = pytest.mark.realdata


@pytest.fixture
def isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("NPC_DESKTOP_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def _spec(orthanc) -> str:
    return f"ORTHANC@127.0.0.1:{orthanc.server.dicom_port}"


def test_echo_a_saved_node_and_an_address(orthanc, isolated_config, capsys):
    save_nodes([PacsNode(name="hospital", ae_title="ORTHANC", host="127.0.0.1", port=orthanc.server.dicom_port)])
    assert main(["pacs", "echo", "hospital"]) == 0
    assert "hospital" in capsys.readouterr().out
    assert main(["pacs", "echo", _spec(orthanc), "--our-aet", "OTHERAE"]) == 0


def test_find_json_and_empty(orthanc, isolated_config, capsys):
    assert main(["pacs", "find", _spec(orthanc), "--patient-id", "VS-SEG*", "--modality", "MR", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["study_uid"] for r in rows] == [orthanc.tcia_study] and rows[0]["image_count"] == 120
    assert main(["pacs", "find", orthanc.server.dicomweb_url, "--level", "series", "--study", orthanc.small_study,
                 "--json"]) == 0
    assert sorted(r["modality"] for r in json.loads(capsys.readouterr().out)) == ["MR", "SR"]
    assert main(["pacs", "find", _spec(orthanc), "--patient-name", "NOBODY*"]) == 0
    assert "0 study(s) found" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["get", "move", "wado"])
def test_get_by_each_method(orthanc, isolated_config, tmp_path, capsys, method):
    node = orthanc.server.dicomweb_url if method == "wado" else _spec(orthanc)
    out = tmp_path / "store"
    argv = ["pacs", "get", node, "--study", orthanc.small_study, "-o", str(out), "--method", method]
    if method == "move":
        argv += ["--port", str(orthanc.server.move_port)]
    assert main(argv) == 0
    assert "2 new instance(s)" in capsys.readouterr().out
    assert {p.stem for p in (out / orthanc.small_study).glob("*.dcm")} == set(orthanc.small_files) | {orthanc.sr_uid}


def test_faults_exit_2_with_one_line(orthanc, isolated_config, tmp_path, capsys):
    closed = f"ORTHANC@127.0.0.1:{free_port()}"
    assert main(["pacs", "echo", closed, "--connect-timeout", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and closed in err and "refused" in err
    assert main(["pacs", "get", _spec(orthanc), "--study", orthanc.small_study, "-o", str(tmp_path),
                 "--method", "move", "--our-aet", "UNKNOWNAE", "--port", str(free_port())]) == 2
    assert "'UNKNOWNAE'" in capsys.readouterr().err
    assert main(["pacs", "echo", "no-such-node"]) == 2
    assert "no-such-node" in capsys.readouterr().err
    assert main(["pacs", "get", "https://pacs.example/dicom-web", "--study", "1.2", "-o", str(tmp_path),
                 "--method", "move"]) == 2
    assert "--method move" in capsys.readouterr().err


def test_listen_receives_what_send_pushes(dicom_dir, tmp_path, isolated_config, capsys):
    port = free_port()
    out = tmp_path / "received"
    listener = threading.Thread(target=main, args=(["pacs", "listen", "--port", str(port), "--aet", "WORKSTATION",
                                                     "-o", str(out), "--exit-after", "1"],), daemon=True)
    listener.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and main(["pacs", "echo", f"WORKSTATION@127.0.0.1:{port}"]) != 0:
        time.sleep(0.1)
    assert main(["pacs", "send", f"WORKSTATION@127.0.0.1:{port}", str(dicom_dir / SMALL_MR)]) == 0
    listener.join(10)
    assert not listener.is_alive()
    uid = pydicom.dcmread(dicom_dir / SMALL_MR).SOPInstanceUID
    assert [p.name for p in out.rglob("*.dcm")] == [f"{uid}.dcm"]
