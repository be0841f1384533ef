"""File > Query PACS…, File > Send to PACS and Settings > PACS Nodes with real clicks against Orthanc."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from npc_desktop.core.network import PacsNode, StudyStore, Timeouts, load_nodes, save_nodes
from tests.gui.interaction import choose_in_menu, open_menu_bar_menu
from tests.gui.staging_helpers import add_demo_rois, stage_and_wait, wait_models

pytestmark = [pytest.mark.gui, pytest.mark.realdata]


@pytest.fixture
def pacs_env(orthanc, tmp_path, monkeypatch):
    """A saved node for the test Orthanc and private config and data folders."""
    monkeypatch.setenv("NPC_DESKTOP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NPC_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    save_nodes([PacsNode(name="Test Orthanc", ae_title="ORTHANC", host="127.0.0.1", port=orthanc.server.dicom_port,
                         timeouts=Timeouts(2, 5, 15))])
    return tmp_path / "data" / "studies"


def _click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _click_row(qtbot, table, row: int) -> None:
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _open_query(qtbot, window):
    choose_in_menu(qtbot, open_menu_bar_menu(qtbot, window, "File"), "Query PACS")
    qtbot.waitUntil(lambda: window.pacs_ui.query_dialog is not None and window.pacs_ui.query_dialog.isVisible())
    return window.pacs_ui.query_dialog


def _search(qtbot, dialog, patient_id: str) -> None:
    qtbot.keyClicks(dialog.fields["patient_id"], patient_id)
    _click(qtbot, dialog.search_button)
    qtbot.waitUntil(lambda: dialog.study_table.rowCount() == 1 and dialog.search_button.isEnabled(), timeout=10000)


def test_query_retrieve_and_open(qtbot, main_window, orthanc, pacs_env, artifacts_dir):
    window = main_window
    dialog = _open_query(qtbot, window)
    assert dialog.node_combo.currentText() == "Test Orthanc"
    _click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: dialog.node_status.text().startswith("✔"), timeout=10000)
    _search(qtbot, dialog, "4MR1")
    assert dialog.study_table.item(0, 1).text() == "4MR1"
    assert dialog.study_table.item(0, 5).text() == "2" and dialog.study_table.item(0, 6).text() == "2"
    _click_row(qtbot, dialog.study_table, 0)
    qtbot.waitUntil(lambda: dialog.series_table.rowCount() == 2, timeout=10000)
    dialog.grab().save(str(artifacts_dir / "pacs-query-dialog.png"))
    with qtbot.waitSignal(window.session.study_indexed, timeout=20000):
        _click(qtbot, dialog.retrieve_button)
    qtbot.waitUntil(lambda: window.session.index is not None and not window.session.jobs.busy, timeout=20000)
    study_uids = [s.study_instance_uid for p in window.session.index.patients for s in p.studies]
    assert study_uids == [orthanc.small_study]
    assert "non-image" in dialog.status.text() and dialog.progress.value() == dialog.progress.maximum() == 2
    assert {p.stem for p in StudyStore(pacs_env).instances(orthanc.small_study)} == (
        set(orthanc.small_files) | {orthanc.sr_uid})
    dialog.close()


def test_cancel_mid_retrieval_keeps_nothing_and_the_window_responds(qtbot, main_window, orthanc, pacs_env,
                                                                     monkeypatch):
    slow_write = StudyStore.write

    def write(self, *args, **kwargs):
        time.sleep(0.03)  # slow enough to press Cancel in the middle
        return slow_write(self, *args, **kwargs)

    monkeypatch.setattr(StudyStore, "write", write)
    dialog = _open_query(qtbot, main_window)
    _search(qtbot, dialog, "VS-SEG*")
    _click_row(qtbot, dialog.study_table, 0)
    _click(qtbot, dialog.retrieve_button)
    qtbot.waitUntil(lambda: dialog.progress.value() >= 10, timeout=20000)
    assert dialog.progress.maximum() == 120 and dialog.cancel_button.isEnabled()
    started = time.monotonic()
    main_window.actions_by_name["two_up"].trigger()  # the window still answers
    QApplication.processEvents()
    assert time.monotonic() - started < 0.5
    _click(qtbot, dialog.cancel_button)
    qtbot.waitUntil(lambda: "cancelled" in dialog.status.text(), timeout=20000)
    assert dialog.retrieve_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert not list(pacs_env.rglob("*.dcm")) and StudyStore(pacs_env).temporaries() == []
    assert main_window.session.index is None
    dialog.close()


def test_a_wrong_node_is_named_in_the_dialog(qtbot, main_window, orthanc, pacs_env):
    dialog = _open_query(qtbot, main_window)
    dialog.node_combo.setEditText(f"WRONGAE@127.0.0.1:{orthanc.server.dicom_port}")
    _click(qtbot, dialog.search_button)
    qtbot.waitUntil(dialog.search_button.isEnabled, timeout=30000)
    log_tail = (orthanc.server.workdir / "orthanc.log").read_text(errors="replace")[-3000:]
    assert "called AE title 'WRONGAE'" in dialog.status.text(), (dialog.status.text(), log_tail)
    dialog.close()


def test_send_sr_and_report_to_orthanc(qtbot, make_window, open_study, demo_study, tiny_factories, orthanc,
                                        pacs_env, artifacts_dir):
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    wait_models(qtbot, window)
    stage_and_wait(qtbot, window)
    choose_in_menu(qtbot, open_menu_bar_menu(qtbot, window, "File"), "Send to PACS")
    qtbot.waitUntil(lambda: window.pacs_ui.send_dialog is not None and window.pacs_ui.send_dialog.isVisible())
    dialog = window.pacs_ui.send_dialog
    assert "staging report" in dialog.findChild(type(dialog.status), "whatLabel").text()
    _click(qtbot, dialog.send_button)
    qtbot.waitUntil(lambda: dialog.status.text().startswith(("✔", "✘")), timeout=60000)
    dialog.grab().save(str(artifacts_dir / "pacs-send-dialog.png"))
    assert dialog.status.text().startswith("✔ Sent to Test Orthanc"), dialog.status.text()
    study = demo_study.study_instance_uid
    stored = orthanc.server.find_instances({"StudyInstanceUID": study})
    assert len(stored) == 2
    classes = {orthanc.server.rest("GET", f"/instances/{i['ID']}/metadata/SopClassUid") for i in stored}
    assert {c.decode() if isinstance(c, bytes) else c for c in classes} == {
        "1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.104.1"}  # Comprehensive 3D SR, PDF
    dialog.close()
    window.close()


def test_nodes_dialog_adds_tests_and_saves_a_node(qtbot, main_window, orthanc, pacs_env, artifacts_dir):
    choose_in_menu(qtbot, open_menu_bar_menu(qtbot, main_window, "Settings"), "PACS Nodes")
    qtbot.waitUntil(lambda: main_window.pacs_ui.nodes_dialog is not None
                    and main_window.pacs_ui.nodes_dialog.isVisible())
    dialog = main_window.pacs_ui.nodes_dialog
    assert dialog.node_list.count() == 1
    _click(qtbot, dialog.add_button)
    assert dialog.node_list.count() == 2
    name = dialog.edits["name"]
    name.selectAll()
    qtbot.keyClicks(name, "Backup")
    for key, text in (("ae_title", "ORTHANC"), ("host", "127.0.0.1")):
        dialog.edits[key].clear()
        qtbot.keyClicks(dialog.edits[key], text)
    dialog.port_spin.setValue(orthanc.server.dicom_port)
    _click(qtbot, dialog.test_button)
    qtbot.waitUntil(lambda: dialog.test_status.text().startswith("✔"), timeout=10000)
    dialog.edits["our_aet"].setText("BAD\\AE")
    dialog.grab().save(str(artifacts_dir / "pacs-nodes-dialog.png"))
    _click(qtbot, dialog.button_box.button(dialog.button_box.StandardButton.Save))
    assert "our AE title" in dialog.problem.text() and dialog.isVisible()
    dialog.edits["our_aet"].setText("NPCDESKTOP")
    _click(qtbot, dialog.button_box.button(dialog.button_box.StandardButton.Save))
    qtbot.waitUntil(lambda: main_window.pacs_ui.nodes_dialog is None)
    saved = load_nodes()
    assert list(saved) == ["Test Orthanc", "Backup"] and saved["Backup"].port == orthanc.server.dicom_port
    assert Path(pacs_env).parent.parent.joinpath("config", "pacs_nodes.json").is_file()


def test_open_store_shows_every_retrieved_study(qtbot, main_window, orthanc, pacs_env):
    main_window.actions_by_name["open_store"].trigger()
    assert main_window.error_box is not None and "empty" in main_window.error_box.text()
    from npc_desktop.core.network import retrieve_study

    store = StudyStore(pacs_env)
    retrieve_study(orthanc.node(), store, orthanc.small_study, method="get")
    with qtbot.waitSignal(main_window.session.study_indexed, timeout=20000):
        main_window.actions_by_name["open_store"].trigger()
    studies = [s.study_instance_uid for p in main_window.session.index.patients for s in p.studies]
    assert studies == [orthanc.small_study]


def test_receive_pushed_studies_is_off_until_turned_on(qtbot, main_window, orthanc, pacs_env, dicom_dir):
    from npc_desktop.core.network import send_files
    from npc_desktop.gui.network.listener_control import AET_KEY, PORT_KEY
    from tests.orthanc_server import free_port
    from tests.pacs_fixtures import SMALL_MR

    action = main_window.actions_by_name["pacs_listen"]
    assert not action.isChecked() and main_window.pacs_ui.listener.listener is None
    port = free_port()
    main_window.settings.set_value(PORT_KEY, port)
    main_window.settings.set_value(AET_KEY, "WORKSTATION")
    choose_in_menu(qtbot, open_menu_bar_menu(qtbot, main_window, "Settings"), "Receive Pushed Studies")
    assert action.isChecked() and main_window.pacs_ui.listener.listener is not None
    node = PacsNode(name="us", ae_title="WORKSTATION", host="127.0.0.1", port=port, timeouts=Timeouts(2, 5, 5))
    assert send_files(node, [dicom_dir / SMALL_MR]).ok
    qtbot.waitUntil(lambda: "Received 1 instance" in main_window.statusBar().currentMessage(), timeout=10000)
    assert len(list(pacs_env.rglob("*.dcm"))) == 1
    action.trigger()
    assert main_window.pacs_ui.listener.listener is None
