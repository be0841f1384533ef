"""A patient label filled from an earlier TNM stage is said to be out of date when the TNM stage changes."""

from __future__ import annotations

from typing import Any

import pytest

from npc_desktop.core.annotation.labels import Stage
from tests.gui.tnm.tnm_helpers import choose, click, open_tnm

pytestmark = pytest.mark.gui


def test_a_label_from_an_earlier_tnm_stage_is_offered_an_update(qtbot: Any, demo_window: Any, demo_study: Any) -> None:
    window = demo_window
    panel = open_tnm(window, demo_study)
    boxes, box = panel.findings.boxes, panel.stage_box
    click(qtbot, panel, boxes["t3.skull_base"])
    for side in panel.nodes.side_boxes.values():
        choose(qtbot, panel, side, "left")
    click(qtbot, panel, panel.m_buttons["M0"])
    section = panel.sections[next(a for a in panel.sections if a.value == "N")]
    choose(qtbot, panel, section.category, "N1")
    section.note.setFocus()
    qtbot.keyClicks(section.note, "all nodes under 6 cm and above the cricoid on review")
    click(qtbot, panel, section.apply)
    assert box.use.isEnabled() and box.use_reason.text() == "Sets the patient stage to III (from TNM stage III)"
    click(qtbot, panel, box.use)
    label = window.session.annotations.current.label
    assert label.stage is Stage.III and label.source == "tnm:III"
    # Later the clinician finds intracranial extension: T4, TNM stage IVA; the label is out of date.
    click(qtbot, panel, boxes["t4.intracranial"])
    assert box.stage.text().startswith("TNM stage IVA")
    assert box.use.isEnabled()
    assert box.use_reason.text() == ("The patient stage III came from TNM stage III; TNM now gives IVA: "
                                     "update it to IVa")
    click(qtbot, panel, box.use)
    label = window.session.annotations.current.label
    assert label.stage is Stage.IVA and label.source == "tnm:IVA"
