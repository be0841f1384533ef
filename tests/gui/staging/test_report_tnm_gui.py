"""File > Export Staging Report… after the TNM form was filled in: the report shows the TNM stage
as it is when the report is written, not as it was at staging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from npc_desktop.core.tnm.form import NodeFlags, TnmForm
from npc_desktop.core.tnm.nodes import Side
from npc_desktop.core.tnm.study import node_rois
from tests.external_tools import pdf_text
from tests.gui.exporting import finish_export, type_text
from tests.gui.staging_helpers import add_demo_rois, stage_and_wait, wait_models

pytestmark = pytest.mark.gui


def test_report_written_after_the_tnm_form_shows_its_stage(qtbot: Any, make_window, open_study, demo_study,
                                                          tiny_factories, tmp_path: Path) -> None:
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    wait_models(qtbot, window)
    staged = stage_and_wait(qtbot, window)
    current = window.session.annotations.study(staged.study_uid)
    assert staged.annotations.tnm_form is None
    form = TnmForm(findings=frozenset({"t3.skull_base"}), m="M0", primary_side=Side.LEFT,
                   nodes={n.id: NodeFlags(side=Side.LEFT) for n in node_rois(current)})
    current.set_tnm_form(form.to_dict())  # filled in after staging, as the TNM dock does
    window.actions_by_name["export_report"].trigger()
    dialog = window.staging_ui.dialog
    qtbot.waitExposed(dialog)
    target = tmp_path / "tnm-report.pdf"
    type_text(qtbot, dialog.path_edit, str(target))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert str(target) in finish_export(qtbot, window)
    text = " ".join(pdf_text(target).split())
    assert "TNM stage (AJCC/UICC 8th edition)" in text and "TNM: Stage III (T3 N1 M0)" in text
    assert text.index("TNM: Stage III") < text.index("Ensemble result")
    window.close()
