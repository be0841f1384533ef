"""Node parsing and the saved node file; the study store's atomic writes, skips and rollback."""

from __future__ import annotations

import pytest

from npc_desktop.core.fileio import user_data_dir
from npc_desktop.core.network import (
    NodeConfigError,
    PacsNode,
    StudyStore,
    Timeouts,
    TlsSettings,
    default_nodes_path,
    default_store_root,
    load_nodes,
    parse_node_spec,
    save_nodes,
)
from npc_desktop.core.network.query import FindQuery


def test_node_specs():
    node = parse_node_spec("PACS@pacs.example.org:4242", our_aet="ME")
    assert (node.ae_title, node.host, node.port, node.our_aet) == ("PACS", "pacs.example.org", 4242, "ME")
    assert node.timeouts == Timeouts(10, 30, 60)
    web = parse_node_spec("https://pacs.example.org/dicom-web/")
    assert web.is_dicomweb and web.url == "https://pacs.example.org/dicom-web"
    saved = {"main": PacsNode(name="main", ae_title="MAIN", host="h", port=104)}
    assert parse_node_spec("main", saved).ae_title == "MAIN"
    with pytest.raises(NodeConfigError, match="'nonsense'.*main"):
        parse_node_spec("nonsense", saved)
    with pytest.raises(NodeConfigError, match="AE title"):
        parse_node_spec("WAY_TOO_LONG_AE_TITLE@h:104")
    with pytest.raises(NodeConfigError, match="port"):
        parse_node_spec("A@h:70000")


def test_saved_nodes_round_trip_and_bad_files(tmp_path, monkeypatch):
    monkeypatch.setenv("NPC_DESKTOP_CONFIG_DIR", str(tmp_path / "config"))
    nodes = [PacsNode(name="main", ae_title="MAIN", host="pacs", port=11112,
                      tls=TlsSettings(enabled=True, ca_file="/etc/ca.pem"), timeouts=Timeouts(5, 10, 20)),
             PacsNode(name="web", url="https://pacs/dicom-web")]
    path = save_nodes(nodes)
    assert path == default_nodes_path() == tmp_path / "config" / "pacs_nodes.json"
    assert load_nodes() == {n.name: n for n in nodes}
    with pytest.raises(NodeConfigError, match="unique"):
        save_nodes(nodes + [nodes[0]])
    path.write_text("{not json")
    with pytest.raises(NodeConfigError, match="pacs_nodes.json"):
        load_nodes()


def test_query_keys_and_date_check():
    identifier = FindQuery(patient_name="DOE*", date="20200101-", modality="MR").identifier()
    assert identifier.QueryRetrieveLevel == "STUDY" and identifier.ModalitiesInStudy == "MR"
    assert identifier.StudyDate == "20200101-" and identifier.PatientID == ""
    with pytest.raises(NodeConfigError, match="YYYYMMDD"):
        FindQuery(date="2020-01-01")
    with pytest.raises(NodeConfigError, match="study UID"):
        FindQuery(level="series")


def test_store_root_follows_the_data_folder_override(tmp_path, monkeypatch):
    monkeypatch.setenv("NPC_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    assert user_data_dir() == tmp_path / "data"
    assert default_store_root() == tmp_path / "data" / "studies"


def test_store_writes_skips_and_rolls_back(tmp_path):
    store = StudyStore(tmp_path)
    first = store.write("1.2.3", "1.2.3.4", b"one")
    assert first == tmp_path / "1.2.3" / "1.2.3.4.dcm" and first.read_bytes() == b"one"
    assert store.write("1.2.3", "1.2.3.4", b"again") is None and first.read_bytes() == b"one"
    assert StudyStore(tmp_path).contains("1.2.3.4")
    with pytest.raises(RuntimeError):
        with store.transaction() as transaction:
            store.write("1.2.9", "1.2.9.1", b"partial", transaction)
            raise RuntimeError("transfer failed")
    assert not (tmp_path / "1.2.9").exists() and not store.contains("1.2.9.1")
    (tmp_path / "1.2.3" / ".incoming.x.part").write_bytes(b"crash")
    assert StudyStore(tmp_path).temporaries() == []
    with pytest.raises(ValueError, match="not a DICOM UID"):
        store.write("../evil", "1.2", b"x")


class _BadEvent:
    """A C-STORE request whose data set cannot be decoded (as a malformed instance on the wire)."""

    class request:  # noqa: N801 - mimics pynetdicom's attribute
        AffectedSOPInstanceUID = "1.2.3.4.5"
        AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"

    @property
    def dataset(self):
        raise ValueError("Deferred read: the data set ends in the middle of an element")


def test_a_malformed_instance_is_skipped_with_a_message(tmp_path):
    from npc_desktop.core.network.storage import STATUS_CANNOT_UNDERSTAND, ReceiveLog, make_store_handler
    from npc_desktop.core.network.store import StoreTransaction

    store = StudyStore(tmp_path)
    received = ReceiveLog(StoreTransaction(store))
    assert make_store_handler(store, received)(_BadEvent()) == STATUS_CANNOT_UNDERSTAND
    assert received.problems == ["instance 1.2.3.4.5: skipped, it cannot be read (Deferred read: the data set ends "
                                 "in the middle of an element)"]
    assert not list(tmp_path.rglob("*.dcm"))
