"""Models > Run on ONNX Runtime / Run on TensorFlow: the choice reloads the models and is remembered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMenu

from npc_desktop.gui.staging.staging_state import ModelPhase

pytestmark = pytest.mark.gui

MODEL_TIMEOUT_MS = 120_000


def _wait_ready(qtbot: Any, staging: Any) -> None:
    qtbot.waitUntil(lambda: staging.status.phase in (ModelPhase.READY, ModelPhase.FAILED), timeout=MODEL_TIMEOUT_MS)
    assert staging.status.phase is ModelPhase.READY, staging.status.message


def test_runtime_menu_switches_between_onnx_runtime_and_tensorflow(
        qtbot: Any, make_window: Any, small_onnx_bundle: Path, gui_settings: Any, artifacts_dir: Path) -> None:
    from npc_desktop.gui.staging.engine_factories import EngineFactories

    window = make_window(engine_factories=EngineFactories())
    window.staging_ui.context.settings.model_bundle = str(small_onnx_bundle)
    staging, actions = window.session.staging, window.actions_by_name
    window.staging_ui.start_models()
    _wait_ready(qtbot, staging)
    label = window.staging_ui.models_label
    assert "ONNX Runtime" in label.text() and actions["runtime_onnx"].isChecked()
    assert not actions["runtime_tf"].isChecked()

    menu = window.menuBar().findChild(QMenu, "modelsMenu")
    assert [a.text() for a in menu.actions() if a.isCheckable()][-2:] == ["Run on ONNX &Runtime", "Run on &TensorFlow"]
    menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitUntil(menu.isVisible)
    menu.grab().save(str(artifacts_dir / "models_menu_runtime.png"))
    menu.hide()

    actions["runtime_tf"].trigger()
    qtbot.waitUntil(lambda: staging.status.phase is not ModelPhase.READY or "TensorFlow" in label.text(),
                    timeout=MODEL_TIMEOUT_MS)
    _wait_ready(qtbot, staging)
    assert "TensorFlow" in label.text() and actions["runtime_tf"].isChecked()
    assert not actions["runtime_onnx"].isChecked()
    assert gui_settings.value("models/runtime") == "tf" and staging.factories.runtime == "tf"

    actions["runtime_onnx"].trigger()
    qtbot.waitUntil(lambda: "ONNX Runtime" in label.text() and staging.status.phase is ModelPhase.READY,
                    timeout=MODEL_TIMEOUT_MS)
    assert gui_settings.value("models/runtime") == "onnx"
