"""File > Export Staging Report… and File > Export Patch Dataset… from the window."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QRadioButton

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.core.reports.dicom_pdf import read_encapsulated_pdf
from tests.external_tools import pdf_text

from .staging_helpers import add_demo_rois, stage_and_wait, wait_models

pytestmark = pytest.mark.gui


@pytest.fixture
def demo_with_rois(make_window, open_study, demo_study, tiny_factories, qtbot):
    """The demo study with its example ROIs and the tiny demo models."""
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    yield window
    window.close()


def _type(qtbot: Any, edit: Any, text: str) -> None:
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def _finish_export(qtbot: Any, window: Any, commands: Any = None) -> str:
    """Wait for the success message of ``commands`` (the staging commands by default) and return its text."""
    commands = commands or window.staging_ui
    qtbot.waitUntil(lambda: commands.info_box is not None or window.error_box is not None, timeout=120000)
    assert window.error_box is None, window.error_box.informativeText()
    return commands.info_box.informativeText()


def test_report_export_writes_the_pdf_and_its_dicom_copy(
        qtbot: Any, demo_with_rois: Any, tmp_path: Path, gui_settings: Any, demo_study: Any) -> None:
    window = demo_with_rois
    wait_models(qtbot, window)
    staged = stage_and_wait(qtbot, window)
    window.actions_by_name["export_report"].trigger()
    dialog = window.staging_ui.dialog
    qtbot.waitExposed(dialog)
    target = tmp_path / "report.pdf"
    _type(qtbot, dialog.path_edit, str(target))
    _type(qtbot, dialog.institution, "Example Hospital")
    dialog.page_size.setCurrentText("Letter")
    qtbot.mouseClick(dialog.dicom, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    message = _finish_export(qtbot, window)
    assert str(target) in message and str(target.with_suffix(".dcm")) in message
    text = pdf_text(target)
    patient = staged.result.patient
    assert f"{patient.predicted}" in text and f"{float(np.max(patient.probabilities)):.2f}" in text
    assert "Example Hospital" in text and UNTRAINED_LABEL in text
    assert read_encapsulated_pdf(target.with_suffix(".dcm")) == target.read_bytes()
    assert gui_settings.value("report/institution") == "Example Hospital"
    assert gui_settings.value("report/page_size") == "Letter"


def test_deidentified_report_and_the_offer_to_stage_first(
        qtbot: Any, demo_with_rois: Any, tmp_path: Path, monkeypatch: Any, demo_study: Any) -> None:
    window = demo_with_rois
    asked: list[str] = []

    def answer(parent: Any, title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    window.staging_ui.start_models()
    window.actions_by_name["export_report"].trigger()
    assert asked and "no staging result" in asked[0]
    qtbot.waitUntil(lambda: window.staging_ui.dialog is not None and window.staging_ui.dialog.isVisible(),
                    timeout=240000)
    assert window.session.staging.staged is not None
    dialog = window.staging_ui.dialog
    target = tmp_path / "anonymous.pdf"
    _type(qtbot, dialog.path_edit, str(target))
    qtbot.mouseClick(dialog.deidentified, Qt.MouseButton.LeftButton)
    assert not dialog.dicom.isEnabled()
    _type(qtbot, dialog.pseudonym, "CASE-07")
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    _finish_export(qtbot, window)
    text = pdf_text(target)
    assert "CASE-07" in text
    assert demo_study.patient_id not in text and "SYNTHETIC PATIENT" not in text.upper().replace("^", " ")
    assert not target.with_suffix(".dcm").exists()


def test_report_dialog_refuses_a_missing_folder_in_words(qtbot: Any, demo_with_rois: Any, tmp_path: Path) -> None:
    window = demo_with_rois
    wait_models(qtbot, window)
    stage_and_wait(qtbot, window)
    window.actions_by_name["export_report"].trigger()
    dialog = window.staging_ui.dialog
    _type(qtbot, dialog.path_edit, str(tmp_path / "missing" / "r.pdf"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.error.isVisible()
    assert dialog.error.text() == f"PDF file: the folder {tmp_path / 'missing'} does not exist."
    dialog.reject()


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
    _type(qtbot, dialog.out_edit, str(out))
    qtbot.mouseClick(dialog.mapping, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    message = _finish_export(qtbot, window, window.research_ui)
    rois = len(window.session.annotations.current.rois)
    assert f"{rois} patches of 1 patient(s)" in message
    with open(out / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == rois
    assert len(list((out / "clahe" / "train" / "IVa").glob("*.png"))) == rois
    assert len(list((out / "raw" / "train" / "IVa").glob("*.png"))) == rois
    mapping = tmp_path / "patches-mapping.csv"
    assert mapping.is_file() and str(mapping) in message
