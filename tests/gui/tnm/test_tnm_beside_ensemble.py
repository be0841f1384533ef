"""The TNM stage beside the ensemble: discordance both ways, the line in Staging Results, and
"Use as patient stage" filling the label with its source in one undo step."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from npc_desktop.core.annotation.labels import Stage
from tests.gui.staging_helpers import stage_and_wait, wait_models
from tests.gui.tnm.tnm_helpers import choose, click, open_tnm

pytestmark = pytest.mark.gui


def _set_form(qtbot: Any, panel: Any, *, t4: bool) -> None:
    """T3 N1 M0 (stage III), or with T4 checked too, T4 N1 M0 (stage IVA)."""
    boxes = panel.findings.boxes
    if not boxes["t3.skull_base"].isChecked():
        click(qtbot, panel, boxes["t3.skull_base"])
    if boxes["t4.intracranial"].isChecked() != t4:
        click(qtbot, panel, boxes["t4.intracranial"])
    for box in panel.nodes.side_boxes.values():
        if box.currentText() != "left":
            choose(qtbot, panel, box, "left")
    if not panel.m_buttons["M0"].isChecked():
        click(qtbot, panel, panel.m_buttons["M0"])


def test_tnm_stage_beside_the_ensemble_and_used_as_the_patient_stage(
        qtbot: Any, make_window: Any, open_study: Any, demo_study: Any, tiny_factories: Any,
        artifacts_dir: Any) -> None:
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    panel = open_tnm(window, demo_study)
    box = panel.stage_box
    assert box.ensemble.text() == "Ensemble: no staging result yet" and not box.agreement.isVisible()
    wait_models(qtbot, window)
    staged = stage_and_wait(qtbot, window)
    predicted = staged.result.patient.predicted
    assert predicted in ("III", "IVa")
    window.tnm_dock.raise_()
    QApplication.processEvents()
    assert box.ensemble.text().startswith(f"Ensemble: {staged.result.headline()}")
    assert "untrained demo" in box.ensemble.text()
    for t4, stage in ((False, "III"), (True, "IVA")):
        _set_form(qtbot, panel, t4=t4)
        assert box.stage.text().startswith(f"TNM stage {stage}")
        agree = stage.casefold() == predicted.casefold()
        word = "Concordant" if agree else "Discordant"
        assert box.agreement.isVisible()
        assert box.agreement.text() == f"{word}: TNM stage {stage}, ensemble {predicted}"
        assert box.discordant is (not agree)
        assert ("#7a1f12" in box.agreement.styleSheet()) is (not agree)
        results = window.results
        # Node sizes and the cricoid are not measured: the stage is provisional, and says so.
        assert results.tnm_line.text() == (f"TNM stage {stage} (provisional) (AJCC/UICC 8th edition). "
                                           f"{word}: TNM stage {stage}, ensemble {predicted}")
        assert results.tnm_discordant is (not agree)
        window.grab().save(str(artifacts_dir / f"tnm_dock_{word.lower()}.png"))
        window.results_dock.raise_()
        QApplication.processEvents()
        assert results.tnm_line.isVisible()
        results.grab().save(str(artifacts_dir / f"tnm_line_results_{word.lower()}.png"))
        window.tnm_dock.raise_()
        QApplication.processEvents()
    # A provisional stage does not fill the patient label (a training label must not rest on open
    # evidence); the clinician settles N, here by an override with a note.
    assert not box.use.isEnabled() and box.use_reason.text().startswith("TNM stage IVA is provisional: ")
    section = panel.sections[next(a for a in panel.sections if a.value == "N")]
    choose(qtbot, panel, section.category, "N1")
    section.note.setFocus()
    qtbot.keyClicks(section.note, "nodes measured on CT: all under 6 cm, above the cricoid")
    click(qtbot, panel, section.apply)
    # Now T4 N1 M0, no longer provisional: stage IVA fills the label as IVa, from TNM, in one undo step.
    annotations = window.session.annotations
    assert box.use.isEnabled() and box.use_reason.text() == "Sets the patient stage to IVa (from TNM stage IVA)"
    click(qtbot, panel, box.use)
    label = annotations.current.label
    assert label.stage is Stage.IVA and label.source == "tnm:IVA"
    assert window.label_panel.stage_buttons[Stage.IVA].isChecked()
    assert "from TNM stage IVA" in window.label_panel.status.text()
    assert not box.use.isEnabled() and box.use_reason.text() == "The patient stage is IVa, from TNM stage IVA"
    window.grab().save(str(artifacts_dir / "tnm_used_as_patient_stage.png"))
    canvas = window.grid.active_viewport().canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    label = annotations.current.label
    assert label.stage is Stage.UNKNOWN and label.source is None
    assert box.use.isEnabled()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert annotations.current.label.source == "tnm:IVA"
    # The clinician's own choice of stage drops the record that it came from TNM.
    qtbot.mouseClick(window.label_panel.stage_buttons[Stage.III], Qt.MouseButton.LeftButton)
    label = annotations.current.label
    assert label.stage is Stage.III and label.source is None
    assert "from TNM" not in window.label_panel.status.text()
    # A ROI change makes the ensemble's result stale, and the dock says so.
    tumour = next(roi for roi in annotations.current.rois if roi.kind.value == "tumour")
    annotations.set_roi_box(tumour.id, (tumour.row0 + 1, tumour.col0, tumour.row1 + 1, tumour.col1))
    QApplication.processEvents()
    assert "stale: the ROIs changed after staging" in box.ensemble.text()
    window.close()
