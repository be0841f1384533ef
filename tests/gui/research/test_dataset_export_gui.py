"""File > Export Patch Dataset… from the window: the stage label is required, the dialog writes
the patches and the pseudonym mapping."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QRadioButton

from tests.gui.exporting import finish_export, type_text
from tests.gui.staging_helpers import add_demo_rois

pytestmark = pytest.mark.gui


def test_dataset_export_from_the_menu_writes_the_patches(
        qtbot: Any, make_window: Any, open_study: Any, demo_study: Any, tmp_path: Path) -> None:
    window = make_window()  # no staging models: the export does not need them
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    window.actions_by_name["export_dataset"].trigger()
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=5000)
    assert "no stage label" in window.error_box.informativeText()
    window.error_box.close()
    qtbot.waitUntil(lambda: window.error_box is None, timeout=5000)
    iva = next(b for b in window.label_panel.findChildren(QRadioButton) if b.text() == "IVa")
    qtbot.mouseClick(iva, Qt.MouseButton.LeftButton)
    assert window.session.annotations.current.label.stage.value == "IVa"
    window.actions_by_name["export_dataset"].trigger()
    dialog = window.research_ui.dialog
    qtbot.waitExposed(dialog)
    out = tmp_path / "patches"
    type_text(qtbot, dialog.out_edit, str(out))
    qtbot.mouseClick(dialog.mapping, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    message = finish_export(qtbot, window, window.research_ui)
    rois = len(window.session.annotations.current.rois)
    assert f"{rois} patches of 1 patient(s)" in message
    with open(out / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == rois
    assert len(list((out / "clahe" / "train" / "IVa").glob("*.png"))) == rois
    assert len(list((out / "raw" / "train" / "IVa").glob("*.png"))) == rois
    mapping = tmp_path / "patches-mapping.csv"
    assert mapping.is_file() and str(mapping) in message
