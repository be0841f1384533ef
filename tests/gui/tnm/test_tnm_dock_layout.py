"""The TNM dock at 1440 x 900 and 1920 x 1080: nothing overlaps, nothing is cut off sideways."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QLayout, QWidget

from tests.gui.tnm.tnm_helpers import choose, click, open_tnm

pytestmark = pytest.mark.gui


def _overlaps(holder: QWidget) -> list[str]:
    """Pairs of ``holder``'s visible child widgets whose rectangles overlap."""
    parts = [w for w in holder.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
             if w.isVisible() and w.geometry().isValid()]
    found = []
    for i, a in enumerate(parts):
        for b in parts[i + 1:]:
            if a.geometry().intersects(b.geometry()):
                found.append(f"{a.objectName() or type(a).__name__} {a.geometry().getRect()} overlaps "
                             f"{b.objectName() or type(b).__name__} {b.geometry().getRect()}")
    return found


def _inside(holder: QWidget) -> list[str]:
    """Visible children of ``holder`` that stick out of it sideways."""
    width = holder.width()
    return [f"{w.objectName() or type(w).__name__} {w.geometry().getRect()}"
            for w in holder.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if w.isVisible() and (w.geometry().left() < 0 or w.geometry().right() >= width)]


@pytest.mark.parametrize("size", [(1440, 900), (1920, 1080)], ids=["1440x900", "1920x1080"])
def test_tnm_dock_fits_without_overlap(qtbot: Any, make_window: Any, open_study: Any, demo_study: Any,
                                       artifacts_dir: Any, size: tuple[int, int]) -> None:
    window = make_window()
    window.resize(*size)
    open_study(window, demo_study.root, expected_viewports=2)
    panel = open_tnm(window, demo_study)
    click(qtbot, panel, panel.findings.boxes["t4.beyond_lateral_pterygoid"])
    for box in panel.nodes.side_boxes.values():
        choose(qtbot, panel, box, "right")
    section = panel.sections[next(a for a in panel.sections if a.value == "T")]
    choose(qtbot, panel, section.category, "T3")
    section.note.setFocus()
    qtbot.keyClicks(section.note, "bone erosion only on review")
    click(qtbot, panel, section.apply)
    click(qtbot, panel, panel.m_buttons["M0"])
    panel.scroll.verticalScrollBar().setValue(0)
    QApplication.processEvents()
    name = f"{size[0]}x{size[1]}"
    window.grab().save(str(artifacts_dir / f"tnm_dock_{name}.png"))
    panel.grab().save(str(artifacts_dir / f"tnm_panel_{name}.png"))
    assert panel.summary.text() == "T3 N1 M0: TNM stage III (provisional) (AJCC/UICC 8th edition)"
    # No part of the form overlaps another, in the form, in each section and in the node list.
    holders = [panel.content, panel.stage_box, panel.findings, panel.nodes, *panel.sections.values()]
    for holder in holders:
        assert _overlaps(holder) == [], holder.objectName()
        assert _inside(holder) == [], holder.objectName()
    # Nothing scrolls sideways and the content is as wide as the dock shows.
    assert panel.scroll.horizontalScrollBar().maximum() == 0
    assert panel.content.width() == panel.scroll.viewport().width()
    # The stage group is whole at the top; the pinned summary is in view above the scrolling form.
    top = panel.scroll.viewport()
    shown = QRect(panel.stage_box.mapTo(top, panel.stage_box.rect().topLeft()), panel.stage_box.size())
    assert top.rect().contains(shown) or shown.height() > top.height(), "the stage group is cut off"
    assert panel.summary.isVisible() and panel.summary.geometry().bottom() < panel.scroll.geometry().top() + 1
    # Every text that wraps gets the height it needs (no clipped lines).
    for layout_holder in holders:
        layout: QLayout = layout_holder.layout()
        assert layout.geometry().height() >= layout.minimumSize().height() - 1 or layout_holder is panel.content
