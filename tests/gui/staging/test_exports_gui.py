"""File > Export Staging Report… from the window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.core.reports.dicom_pdf import read_encapsulated_pdf
from tests.external_tools import pdf_text
from tests.gui.staging_helpers import add_demo_rois, stage_and_wait, wait_models

pytestmark = pytest.mark.gui


@pytest.fixture
def demo_with_rois(make_window, open_study, demo_study, tiny_factories, qtbot):
    """The demo study with its example ROIs and the tiny demo models."""
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    yield window
    window.close()


from tests.gui.exporting import finish_export as _finish_export
from tests.gui.exporting import type_text as _type


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
