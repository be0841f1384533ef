"""No node ROIs is N0 only once the clinician marks the neck as reviewed; the mark together with
node ROIs is reported as a contradiction."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from tests.gui.staging_helpers import add_demo_rois
from tests.gui.tnm.tnm_helpers import click, reasons_text, value_text

pytestmark = pytest.mark.gui


def test_neck_reviewed_makes_n0_definite_and_contradicts_node_rois(qtbot: Any, demo_window: Any,
                                                                   demo_study: Any) -> None:
    window = demo_window
    window.tnm_dock.show()
    window.tnm_dock.raise_()
    QApplication.processEvents()
    panel = window.tnm_panel
    click(qtbot, panel, panel.findings.boxes["t1.nasopharynx"])
    click(qtbot, panel, panel.m_buttons["M0"])
    assert value_text(panel, "N") == "N0"
    assert "neck not marked as reviewed" in reasons_text(panel, "N")
    assert panel.stage_box.stage.text() == "TNM stage I (provisional)"
    click(qtbot, panel, panel.neck_reviewed)
    assert window.session.annotations.current.tnm_form["neck_reviewed"] is True
    assert reasons_text(panel, "N") == "N0: neck reviewed, no involved lymph node"
    assert panel.stage_box.stage.text() == "TNM stage I"
    # Nodes outlined while the neck is marked reviewed: one line says the two disagree.
    add_demo_rois(window, demo_study)
    assert panel.neck_reviewed.isChecked()
    lines = [line for line in reasons_text(panel, "N").splitlines() if "neck reviewed" in line]
    assert len(lines) == 1 and "is checked but 3 node ROI(s) are outlined" in lines[0]
    assert "(provisional)" in panel.stage_box.stage.text()
    window.actions_by_name["undo"].trigger()  # the ROIs go
    window.actions_by_name["undo"].trigger()  # and the mark
    QApplication.processEvents()
    assert not panel.neck_reviewed.isChecked() and "neck not marked as reviewed" in reasons_text(panel, "N")
