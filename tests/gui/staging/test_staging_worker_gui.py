"""Staging from the window while the worker is busy: progress, Cancel, a live UI, superseded requests,
and model bundles chosen from the Models menu (good, not a bundle, tampered)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.gui.staging.engine_factories import EngineFactories
from npc_desktop.gui.staging.staging_state import ModelPhase
from tests.gui.staging_helpers import SlowEngine, add_demo_rois, click_action, stage_and_wait, wait_models

pytestmark = pytest.mark.gui


@pytest.fixture
def slow_window(make_window, open_study, demo_study, tiny_demo_engine, tiny_factories, qtbot):
    """The demo study with a staging engine that takes about 3 s per request."""
    slow = SlowEngine(tiny_demo_engine)
    factories = EngineFactories(demo=lambda: (lambda progress, cancel: slow), bundle=tiny_factories.bundle)
    window = make_window(engine_factories=factories)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    wait_models(qtbot, window)
    window.slow_engine = slow
    yield window
    window.close()


def test_progress_cancel_and_a_live_event_loop_while_staging(qtbot: Any, slow_window: Any) -> None:
    window = slow_window
    click_action(qtbot, window, "stage")
    panel = window.progress
    qtbot.waitUntil(lambda: panel.isVisible() and panel.bar.value() > 5, timeout=20000)
    assert panel.label.text().startswith("Staging 5 patches × 5 models")
    # The worker runs on its own thread; the GUI thread keeps handling events and typing.
    assert window.slow_engine.threads and window.slow_engine.threads[0] is not threading.main_thread()
    # Events posted now are handled while the request is still running (no timing involved).
    handled_while_busy: list[bool] = []
    for _ in range(3):
        QTimer.singleShot(0, lambda: handled_while_busy.append(window.session.staging.busy))
        qtbot.waitUntil(lambda: len(handled_while_busy) == _ + 1, timeout=10000)
    assert all(handled_while_busy), "the event loop waited for the staging request"
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.session.staging.busy, timeout=10000)
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=5000)
    assert window.session.staging.staged is None
    assert window.statusBar().currentMessage() == "Staging cancelled"
    assert window.results.empty.isVisible()
    # The worker is free again: the next request runs to the end.
    stage_and_wait(qtbot, window, timeout=60000)


def test_a_new_request_supersedes_the_running_one(qtbot: Any, slow_window: Any) -> None:
    window = slow_window
    results: list[Any] = []
    window.session.staging.result_changed.connect(results.append)
    click_action(qtbot, window, "stage")
    qtbot.waitUntil(lambda: window.progress.bar.value() > 3, timeout=20000)
    annotations = window.session.annotations
    first = annotations.current.rois[0].id
    annotations.select(first)
    window.grid.viewports[0].canvas.setFocus()
    qtbot.keyClick(window.grid.viewports[0].canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)  # Stage Selected ROI
    qtbot.waitUntil(lambda: bool(results), timeout=60000)
    qtbot.wait(300)
    assert len(results) == 1, "the superseded request's result was shown"
    assert [p.roi_id for p in results[0].result.patches] == [first]
    assert window.results.patches.rowCount() == 1


def _choose_folder(monkeypatch: Any, folder: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kwargs: str(folder)))


def _open_bundle(window: Any) -> None:
    window.menuBar()  # the Models menu's action, as the menu item triggers it
    window.actions_by_name["open_bundle"].trigger()


@pytest.fixture(scope="module")
def basic_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small trained-format bundle with ONNX graphs: two Basic CNN members at 32 px (quick to write and load)."""
    from npc_desktop.core.models.architectures import build_member
    from npc_desktop.core.models.bundle_writer import write_bundle
    from npc_desktop.core.models.onnx_bundle import export_models_onnx

    members = [build_member("basic_cnn", input_size=32, seed=1, name="cnn_a"),
               build_member("basic_cnn", input_size=32, seed=2, name="cnn_b")]
    folder = tmp_path_factory.mktemp("gui-bundles") / "tiny-basic"
    manifest = write_bundle(folder, members, name="tiny-basic", version="0.3",
                            provenance={"training_data": {"note": "random weights for a GUI test"},
                                        "split": {"method": "none"}, "metrics": {"accuracy": 0.5}})
    export_models_onnx(folder, manifest, members)
    return folder


def test_a_bundle_from_the_models_menu_stages_and_is_remembered(
        qtbot: Any, slow_window: Any, basic_bundle: Path, monkeypatch: Any, gui_settings: Any) -> None:
    window = slow_window
    _choose_folder(monkeypatch, basic_bundle)
    _open_bundle(window)
    staging = window.session.staging
    qtbot.waitUntil(lambda: staging.status.phase in (ModelPhase.READY, ModelPhase.FAILED)
                    and staging.status.bundle is not None, timeout=120000)
    assert staging.status.phase is ModelPhase.READY, staging.status.message
    label = window.staging_ui.models_label.text()
    assert label.startswith("Models: tiny-basic 0.3 (") and UNTRAINED_LABEL not in label
    assert gui_settings.value("models/bundle") == str(basic_bundle)
    staged = stage_and_wait(qtbot, window)
    assert not staged.result.untrained_demo and staged.result.member_names == ("cnn_a", "cnn_b")
    panel = window.results
    assert not panel.banner.isVisible()
    assert f"tiny-basic 0.3 ({staged.result.bundle_hash[:12]})" in panel.bundle_label.text()
    assert window.grid.viewports[0].canvas.banner == ""
    # Back to the demo models from the menu; the choice is remembered too.
    window.actions_by_name["use_demo_models"].trigger()
    assert gui_settings.value("models/bundle") == ""
    wait_models(qtbot, window)
    assert staging.status.info is not None and staging.status.info.untrained


def test_a_folder_that_is_not_a_bundle_is_refused_with_a_clear_message(
        qtbot: Any, slow_window: Any, tmp_path: Path, monkeypatch: Any, gui_settings: Any) -> None:
    window = slow_window
    empty = tmp_path / "not-a-bundle"
    empty.mkdir()
    _choose_folder(monkeypatch, empty)
    _open_bundle(window)
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    text = window.error_box.informativeText()
    assert str(empty) in text and "manifest.json" in text and "Traceback" not in text
    assert window.session.staging.status.phase is ModelPhase.READY  # the demo models stay in use
    assert not gui_settings.value("models/bundle")


def test_a_tampered_bundle_is_refused_and_staging_says_why(
        qtbot: Any, slow_window: Any, basic_bundle: Path, tmp_path: Path, monkeypatch: Any) -> None:
    import shutil

    window = slow_window
    tampered = tmp_path / "tampered"
    shutil.copytree(basic_bundle, tampered)
    weights = tampered / "cnn_b.onnx"  # what ONNX Runtime, the default runtime, loads
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    _choose_folder(monkeypatch, tampered)
    _open_bundle(window)
    staging = window.session.staging
    qtbot.waitUntil(lambda: staging.status.phase is ModelPhase.FAILED, timeout=60000)
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    text = window.error_box.informativeText()
    assert "cnn_b.onnx" in text and "Traceback" not in text
    assert window.staging_ui.models_label.text() == "Models: not loaded (see Models menu)"
    window.error_box.close()
    qtbot.waitUntil(lambda: window.error_box is None, timeout=5000)
    click_action(qtbot, window, "stage")
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    assert "not loaded" in window.error_box.informativeText() and "cnn_b.onnx" in window.error_box.informativeText()
    assert staging.staged is None and not staging.busy
