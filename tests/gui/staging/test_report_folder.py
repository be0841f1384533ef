"""The staging report is offered in the user's documents folder, then in the folder used last."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from tests.gui.staging_helpers import add_demo_rois, click_action, stage_and_wait, wait_models

pytestmark = pytest.mark.gui


def _open_report_dialog(qtbot: Any, window: Any) -> Any:
    click_action(qtbot, window, "export_report")
    dialog = window.staging_ui.dialog
    qtbot.waitExposed(dialog)
    return dialog


def _cancel(qtbot: Any, dialog: Any) -> None:
    cancel = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)


def test_report_goes_to_documents_then_to_the_last_folder(
        qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_window: Any, open_study: Any,
        demo_study: Any, tiny_factories: Any, artifacts_dir: Path) -> None:
    home = tmp_path / "home"
    documents = home / "Documents"
    documents.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))  # Qt finds the documents folder from it (no user-dirs.dirs here)
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    wait_models(qtbot, window)
    stage_and_wait(qtbot, window)

    dialog = _open_report_dialog(qtbot, window)
    offered = Path(dialog.path_edit.text())
    assert offered.parent == documents, offered  # not beside the study, which may be read-only
    assert offered.suffix == ".pdf" and demo_study.root.parent not in offered.parents
    dialog.grab().save(str(artifacts_dir / "report_dialog_documents.png"))
    chosen = tmp_path / "reports" / "case.pdf"
    chosen.parent.mkdir()
    dialog.path_edit.selectAll()
    qtbot.keyClicks(dialog.path_edit, str(chosen))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.staging_ui.info_box is not None or window.error_box is not None, timeout=120000)
    assert window.error_box is None, window.error_box.informativeText()
    assert chosen.is_file()
    window.staging_ui.info_box.close()

    # The next report starts in the folder used last.
    dialog = _open_report_dialog(qtbot, window)
    assert Path(dialog.path_edit.text()).parent == chosen.parent
    _cancel(qtbot, dialog)
    # A remembered folder that is gone (an unplugged drive) falls back to the documents folder.
    shutil.rmtree(chosen.parent)
    dialog = _open_report_dialog(qtbot, window)
    assert Path(dialog.path_edit.text()).parent == documents
    _cancel(qtbot, dialog)
    window.close()
