"""The TNM dock on the demo study: findings give T, node sides give N, overrides need a note, M1 gives IVB."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.tnm.tnm_helpers import choose, click, open_tnm, reasons_text, value_text

pytestmark = pytest.mark.gui

CTRL = Qt.KeyboardModifier.ControlModifier


def _undo(qtbot: Any, window: Any) -> None:
    canvas = window.grid.active_viewport().canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    QApplication.processEvents()


def test_checked_findings_give_t_with_its_reason_each_one_undo_step(qtbot: Any, demo_window: Any,
                                                                   demo_study: Any) -> None:
    window = demo_window
    panel = open_tnm(window, demo_study)
    boxes = panel.findings.boxes
    assert value_text(panel, "T") == "T undetermined"
    assert reasons_text(panel, "T") == "T: no finding checked"
    click(qtbot, panel, boxes["t2.parapharyngeal"])
    assert value_text(panel, "T") == "T2"
    assert reasons_text(panel, "T") == "T2: parapharyngeal space (T2)"
    click(qtbot, panel, boxes["t3.skull_base"])
    assert value_text(panel, "T") == "T3"
    assert reasons_text(panel, "T").splitlines() == ["T3: skull base bone (T3)",
                                                     "also checked: parapharyngeal space (T2)"]
    # The wording beside a box toggles it too.
    wording = next(text for text, box in panel.findings._texts.items() if box is boxes["t4.orbit"])
    click(qtbot, panel, wording)
    assert boxes["t4.orbit"].isChecked() and value_text(panel, "T") == "T4"
    stored = window.session.annotations.current.tnm_form
    assert stored["findings"] == ["t2.parapharyngeal", "t3.skull_base", "t4.orbit"] and stored["edition"] == 8
    assert window.actions_by_name["undo"].text() == "Undo Check T Finding"
    _undo(qtbot, window)
    assert not boxes["t4.orbit"].isChecked() and value_text(panel, "T") == "T3"
    # The edition selector lists the editions of the table, the 8th chosen.
    assert [panel.edition.itemText(i) for i in range(panel.edition.count())] == ["AJCC/UICC 8th edition"]


def test_node_sides_give_n1_then_n2_with_reasons(qtbot: Any, demo_window: Any, demo_study: Any) -> None:
    window = demo_window
    panel = open_tnm(window, demo_study)
    nodes = panel.nodes
    assert [button.text() for button in nodes.name_buttons.values()] == ["node 1", "node 2", "node 3"]
    detail = nodes.details[next(iter(nodes.details))].text()
    assert detail == "long axis not measured · below cricoid: unknown (no cricoid level marked)"
    for box in nodes.side_boxes.values():
        choose(qtbot, panel, box, "left")
    assert value_text(panel, "N") == "N1"
    first = reasons_text(panel, "N").splitlines()[0]
    assert first.startswith("N1: unilateral cervical nodes (left), node 1, node 2, node 3")
    third_side = list(nodes.side_boxes.values())[2]
    choose(qtbot, panel, third_side, "right")
    assert value_text(panel, "N") == "N2"
    assert reasons_text(panel, "N").startswith("N2: bilateral cervical nodes")
    # A retropharyngeal node on the other side leaves the cervical nodes unilateral: N1.
    click(qtbot, panel, list(nodes.retro_boxes.values())[2])
    assert value_text(panel, "N") == "N1"
    assert "retropharyngeal nodes, node 3" in reasons_text(panel, "N")
    form = window.session.annotations.current.tnm_form
    assert sorted(flags["side"] for flags in form["nodes"].values()) == ["left", "left", "right"]
    # A click on a node's name shows its ROI.
    roi_id = list(nodes.side_boxes)[1]
    click(qtbot, panel, nodes.name_buttons[roi_id])
    assert window.session.annotations.selected_id == roi_id


def test_an_override_needs_a_note_and_shows_as_one(qtbot: Any, demo_window: Any, demo_study: Any) -> None:
    window = demo_window
    panel = open_tnm(window, demo_study)
    for box in panel.nodes.side_boxes.values():
        choose(qtbot, panel, box, "left")
    section = panel.sections[next(a for a in panel.sections if a.value == "N")]
    choose(qtbot, panel, section.category, "N3")
    assert not section.apply.isEnabled()
    assert section.hint.text() == "An override needs a note saying why."
    section.note.setFocus()
    qtbot.keyClicks(section.note, "   ")
    assert not section.apply.isEnabled()
    section.note.clear()
    qtbot.keyClicks(section.note, "matted nodes extend below the cricoid on CT")
    assert section.apply.isEnabled()
    click(qtbot, panel, section.apply)
    assert value_text(panel, "N") == "N3 (override by the clinician; derived N1)"
    assert "background" in section.value.styleSheet()
    assert reasons_text(panel, "N").splitlines()[-1] == (
        "N overridden to N3 by the clinician (derived: N1): matted nodes extend below the cricoid on CT")
    assert section.note.text() == "" and section.category.currentIndex() == 0
    stored = window.session.annotations.current.tnm_form["overrides"]
    assert stored == {"N": {"category": "N3", "note": "matted nodes extend below the cricoid on CT"}}
    click(qtbot, panel, section.clear)
    assert value_text(panel, "N") == "N1" and section.value.styleSheet() == ""


def test_m1_gives_ivb_which_cannot_fill_the_patient_label(qtbot: Any, demo_window: Any, demo_study: Any,
                                                         artifacts_dir: Any) -> None:
    window = demo_window
    panel = open_tnm(window, demo_study)
    click(qtbot, panel, panel.findings.boxes["t1.nasopharynx"])
    for box in panel.nodes.side_boxes.values():
        choose(qtbot, panel, box, "left")
    click(qtbot, panel, panel.m_buttons["M0"])
    # The nodes are not measured yet: a larger node could raise N, and the stage says so.
    assert panel.stage_box.stage.text() == "TNM stage II (provisional)"
    assert panel.stage_box.use.isEnabled() is False
    assert "TNM stage II has no patient label" in panel.stage_box.use_reason.text()
    click(qtbot, panel, panel.m_buttons["M1"])
    assert value_text(panel, "M") == "M1"
    assert panel.stage_box.stage.text().startswith("TNM stage IVB")
    reasons = panel.stage_box.reasons.text().splitlines()
    assert reasons[-1].startswith("→ Provisional: 6 caveat(s)")  # three nodes: no long axis, no cricoid level
    assert reasons[-2] == ("→ Stage IVB: T1 N1 M1 is in the row 'Any T / Any N / M1 -> IVB' "
                           "of the AJCC/UICC 8th edition table")
    assert not panel.stage_box.use.isEnabled()
    assert panel.stage_box.use_reason.text().startswith("TNM stage IVB has no patient label")
    assert panel.stage_box.ensemble.text() == "Ensemble: no staging result yet"
    window.grab().save(str(artifacts_dir / "tnm_dock_ivb.png"))
