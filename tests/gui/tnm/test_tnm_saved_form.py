"""The TNM form is kept with the study: reopening shows it; a corrupt saved form is reported naming the
field and is replaced only when the clinician asks (undoably)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from npc_desktop.core.annotation.store import study_file_name
from tests.gui.tnm.tnm_helpers import click, open_tnm, value_text

pytestmark = pytest.mark.gui


def test_reopening_keeps_the_form_and_a_corrupt_form_is_reported(
        qtbot: Any, make_window: Any, open_study: Any, demo_study: Any, annotation_dir: Path,
        artifacts_dir: Path) -> None:
    window = make_window()
    open_study(window, demo_study.root, expected_viewports=2)
    panel = open_tnm(window, demo_study)
    click(qtbot, panel, panel.findings.boxes["t3.skull_base"])
    click(qtbot, panel, panel.m_buttons["M0"])
    window.close()

    again = make_window()
    open_study(again, demo_study.root, expected_viewports=2)
    again.tnm_dock.raise_()
    panel = again.tnm_panel
    assert panel.findings.boxes["t3.skull_base"].isChecked() and panel.m_buttons["M0"].isChecked()
    assert value_text(panel, "T") == "T3" and value_text(panel, "M") == "M0"
    assert not panel.problem.isVisible()
    again.close()

    path = annotation_dir / study_file_name(demo_study.study_instance_uid)
    saved = json.loads(path.read_text("utf-8"))
    saved["tnm_form"]["overrides"] = {"N": {"category": "N3", "note": ""}}
    path.write_text(json.dumps(saved), "utf-8")
    corrupt = saved["tnm_form"]

    third = make_window()
    open_study(third, demo_study.root, expected_viewports=2)
    third.tnm_dock.raise_()
    panel = third.tnm_panel
    qtbot.waitUntil(panel.problem.isVisible, timeout=5000)
    assert panel.problem.text().startswith(
        "The saved TNM form was not loaded: tnm_form.overrides.N.note: an override needs a note")
    assert not panel.findings.isEnabled() and not panel.stage_box.use.isEnabled()
    third.grab().save(str(artifacts_dir / "tnm_corrupt_form.png"))
    third.session.annotations.flush()
    assert json.loads(path.read_text("utf-8"))["tnm_form"] == corrupt  # never overwritten silently
    # Only on request, and undoably, an empty form replaces it.
    click(qtbot, panel, panel.replace_form)
    assert not panel.problem.isVisible() and panel.findings.isEnabled()
    assert third.session.annotations.current.tnm_form["overrides"] == {}
    canvas = third.grid.active_viewport().canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert third.session.annotations.current.tnm_form == corrupt and panel.problem.isVisible()
    third.close()
