"""The Worklist dock: indexing a folder, names and filters, Next/Previous patient, batch staging."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.store import AnnotationStore
from tests.core.cohort.conftest import copy_as_patient, tumour_roi

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def cohort_folder(demo_study: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("gui-cohort") / "cohort"
    return root, [copy_as_patient(demo_study, root / f"patient-{n}", n) for n in range(3)]


@pytest.fixture
def worklist_window(make_window: Any, annotation_dir: Path, cohort_folder, demo_study: Any, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch, qtbot: Any):
    """A window with a fresh cohort database; patient 1 has a tumour ROI and the label III."""
    root, uids = cohort_folder
    monkeypatch.setenv("NPC_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    AnnotationStore(annotation_dir).save(
        AnnotationSet(uids[1], [tumour_roi(demo_study, uids[1])], PatientLabel(stage="III", reviewer="dr-x")))

    def make(**kwargs: Any) -> Any:
        window = make_window(**kwargs)
        window.worklist_dock.toggleViewAction().trigger()
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(root))
        with qtbot.waitSignal(window.worklist_ui.rows_changed, timeout=20000):
            qtbot.mouseClick(window.worklist_ui.panel.add_folder, Qt.MouseButton.LeftButton)
        return window

    return make


def _cell(panel: Any, row: int, column: int) -> str:
    return str(panel.proxy.index(row, column).data())


def test_indexed_folder_fills_the_worklist_with_pseudonyms_filters_and_a_summary(
    worklist_window: Any, qtbot: Any
) -> None:
    window = worklist_window()
    panel = window.worklist_ui.panel
    assert window.worklist_dock.isVisible()
    assert panel.proxy.rowCount() == 3
    assert panel.summary.text() == "1 of 3 labelled, 0 staged, 0 discordant"
    names = [_cell(panel, r, 0) for r in range(3)]
    assert all(name.startswith("PT-") for name in names)
    assert {_cell(panel, r, 2) for r in range(3)} == {"yes"} and {_cell(panel, r, 3) for r in range(3)} == {"yes"}
    qtbot.mouseClick(panel.real_names, Qt.MouseButton.LeftButton)
    assert sorted(_cell(panel, r, 0) for r in range(3)) == [f"TEST, PATIENT {n}" for n in range(3)]  # as the Studies panel shows names
    panel.filter.setCurrentIndex(panel.filter.findData("unlabelled"))
    assert panel.proxy.rowCount() == 2
    assert "TEST, PATIENT 1" not in {_cell(panel, r, 0) for r in range(2)}
    panel.grab().save("/tmp/worklist-dock.png")


def test_next_and_previous_open_t1c_and_t2_two_up_at_the_roi(worklist_window: Any, qtbot: Any,
                                                             cohort_folder) -> None:
    _, uids = cohort_folder
    window = worklist_window()
    ui, session = window.worklist_ui, window.session
    ui.panel.real_names.setChecked(True)  # rows sorted by name: patient 0, 1, 2
    window.grid.setFocus()
    opened = []
    ui.row_opened.connect(opened.append)
    for expected in (0, 1):
        with qtbot.waitSignal(ui.row_opened, timeout=30000):
            qtbot.keyClick(window, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
        uid = uids[expected]
        assert opened[-1].startswith(uid + "|")
        assert session.layout == 2
        assert session.viewports[0].series_key == f"{uid}.1" and session.viewports[1].series_key == f"{uid}.2"
    roi = session.annotations.study(uids[1]).rois[0]
    volume = session.viewports[0].loaded.volume
    shown = volume.slices[session.viewports[0].slice_index].sop_instance_uid
    assert shown == roi.sop_instance_uid  # patient 1 opens at its tumour ROI's slice
    window.grab().save("/tmp/worklist-window.png")
    with qtbot.waitSignal(ui.row_opened, timeout=30000):
        qtbot.mouseClick(ui.panel.previous, Qt.MouseButton.LeftButton)
    assert opened[-1].startswith(uids[0] + "|")
    qtbot.keyClick(window, Qt.Key.Key_BracketLeft, Qt.KeyboardModifier.ControlModifier)
    assert "first patient" in window.statusBar().currentMessage()


def test_file_deleted_after_indexing_gives_a_message_and_updates_the_row(
    worklist_window: Any, qtbot: Any, cohort_folder, tmp_path: Path
) -> None:
    root, uids = cohort_folder
    window = worklist_window()
    ui = window.worklist_ui
    row = next(r for r in ui.panel.proxy.visible_rows() if r.study_uid == uids[2])
    backup = tmp_path / "T2"
    shutil.copytree(Path(row.folder) / "T2", backup)
    try:
        shutil.rmtree(Path(row.folder) / "T2")
        position = ui.panel.proxy.visible_rows().index(row)
        ui.panel.table.scrollTo(ui.panel.proxy.index(position, 0))
        rect = ui.panel.table.visualRect(ui.panel.proxy.index(position, 0))
        qtbot.mouseClick(ui.panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(ui.panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
        assert "22 file(s) of this study were deleted" in window.error_box.informativeText()
        fresh = next(r for r in ui.panel.proxy.visible_rows() if r.study_uid == uids[2])
        assert fresh.t2 is None and fresh.t1c is not None
    finally:
        shutil.copytree(backup, Path(row.folder) / "T2")


def test_stage_rows_in_the_background(worklist_window: Any, qtbot: Any, tiny_factories: Any) -> None:
    window = worklist_window(engine_factories=tiny_factories)
    ui = window.worklist_ui
    with qtbot.waitSignal(ui.batch_finished, timeout=120000) as finished:
        qtbot.mouseClick(ui.panel.stage, Qt.MouseButton.LeftButton)
        assert ui.panel.cancel.isVisible()
    report = finished.args[0]
    assert (report.count("done"), report.count("skipped"), report.count("failed")) == (1, 2, 0)
    assert not ui.panel.cancel.isVisible()
    assert ui.panel.summary.text().startswith("1 of 3 labelled, 1 staged")


def test_series_role_corrected_by_hand_from_the_row_menu(worklist_window: Any, cohort_folder) -> None:
    _, uids = cohort_folder
    window = worklist_window()
    ui = window.worklist_ui
    row = next(r for r in ui.panel.proxy.visible_rows() if r.study_uid == uids[0])
    menu = ui.role_menu(row)
    t2_menu = next(a.menu() for a in menu.actions() if a.text().startswith("AX T2"))
    next(a for a in t2_menu.actions() if a.text() == "other").trigger()
    fixed = next(r for r in ui.panel.proxy.visible_rows() if r.study_uid == uids[0])
    assert fixed.t2 is None and any(s.role_by_hand for s in fixed.series)
    assert ui.panel.proxy.index(ui.panel.proxy.visible_rows().index(fixed), 3).data() == "—"
    menu = ui.role_menu(fixed)
    t2_menu = next(a.menu() for a in menu.actions() if a.text().startswith("AX T2"))
    assert t2_menu.title().endswith("(set by hand)")
    next(a for a in t2_menu.actions() if a.text() == "As the headers say").trigger()
    assert next(r for r in ui.panel.proxy.visible_rows() if r.study_uid == uids[0]).t2 is not None


class _WaitingEngine:
    """Stages nothing: waits until the batch is cancelled (for the Cancel button)."""

    class bundle:  # noqa: N801 - stands in for the engine's bundle
        sha256 = "0" * 64

    def stage_annotations(self, annotations: Any, volumes: Any, *, cancel: Any = None) -> Any:
        from npc_desktop.core.progress import OperationCancelled

        while not cancel.wait(0.05):
            pass
        raise OperationCancelled("cancelled")


def test_cancel_stops_the_batch_and_says_how_to_resume(worklist_window: Any, qtbot: Any) -> None:
    from npc_desktop.gui.staging.engine_factories import EngineFactories

    engine = _WaitingEngine()
    window = worklist_window(engine_factories=EngineFactories(demo=lambda: (lambda progress, cancel: engine)))
    panel = window.worklist_ui.panel
    qtbot.mouseClick(panel.stage, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(panel.cancel.isVisible, timeout=5000)
    assert not panel.stage.isEnabled()
    qtbot.wait(200)
    qtbot.mouseClick(panel.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.cancel.isVisible(), timeout=10000)
    assert panel.stage.isEnabled()
    assert "cancelled; run it again to resume" in window.statusBar().currentMessage()


def test_damaged_database_is_rebuilt_with_a_message(qtbot: Any, qapp: Any, gui_settings: Any, annotation_dir: Path,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_desktop.gui.main_window import MainWindow

    monkeypatch.setenv("NPC_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cohort.sqlite").write_bytes(b"not a database " * 200)
    window = MainWindow(settings=gui_settings, annotation_store=AnnotationStore(annotation_dir), load_models=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    assert window.error_box.text() == "Cohort database rebuilt"
    assert "Annotations are stored separately" in window.error_box.informativeText()
    assert list((tmp_path / "data").glob("cohort.sqlite.corrupt-*"))


def test_export_dataset_of_the_labelled_rows(worklist_window: Any, qtbot: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    window = worklist_window()
    ui = window.worklist_ui
    out = tmp_path / "dataset"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    with qtbot.waitSignal(ui.batch_finished, timeout=60000) as finished:
        qtbot.mouseClick(ui.panel.export_dataset, Qt.MouseButton.LeftButton)
    result = finished.args[0]
    assert (result.patients, result.patches) == (1, 1) and result.manifest.is_file()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "exportDoneBox") is not None, timeout=5000)
    ui.panel.filter.setCurrentIndex(ui.panel.filter.findData("unlabelled"))  # no labelled row shown
    other = tmp_path / "empty"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(other))
    qtbot.mouseClick(ui.panel.export_dataset, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=10000)
    assert "no labelled row" in window.error_box.informativeText()


def test_row_follows_the_label_given_in_the_window(worklist_window: Any, qtbot: Any, cohort_folder) -> None:
    from PySide6.QtWidgets import QRadioButton

    _, uids = cohort_folder
    window = worklist_window()
    ui = window.worklist_ui
    with qtbot.waitSignal(ui.row_opened, timeout=30000):
        ui.open_proxy_row(next(i for i, r in enumerate(ui.panel.proxy.visible_rows()) if r.study_uid == uids[2]))
    iva = next(b for b in window.label_panel.findChildren(QRadioButton) if b.text() == "IVa")
    qtbot.mouseClick(iva, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: next(r for r in ui.panel.model.rows if r.study_uid == uids[2]).label == "IVa",
                    timeout=10000)
    assert ui.panel.summary.text().startswith("2 of 3 labelled")


def test_batch_staging_uses_the_real_engine_factories_and_the_chosen_runtime(make_window: Any) -> None:
    from npc_desktop.gui.staging.engine_factories import EngineFactories

    window = make_window(engine_factories=EngineFactories(runtime="tf"))  # nothing injected: the app's own
    factory, what = window._batch_engine()
    assert callable(factory)  # built lazily by the batch worker; not called here
    assert factory.__closure__ is not None
    options = [cell.cell_contents for cell in factory.__closure__ if isinstance(cell.cell_contents, dict)]
    assert options and options[0]["runtime"] == "tf"
    assert "UNTRAINED DEMO" in what
