"""The first-use hint: on the active viewer while the open study has no ROIs, gone once a ROI is
drawn, and switched off from the Help menu for good (the choice is kept in the settings)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QToolTip

from npc_desktop.gui.annotation.first_use_hint import HINT_LINES, SETTING_KEY
from tests.gui.annotating import left_drag, widget_point
from tests.gui.interaction import at_user_size, choose_in_menu, open_menu_bar_menu, press

pytestmark = pytest.mark.gui

CTRL = Qt.KeyboardModifier.ControlModifier


def _hint_point(canvas) -> QPoint:
    """A point inside the painted hint box: the middle of its first text line."""
    lines = canvas.painted_corner_lines()
    bottom_rows = max(sum(1 for line in lines if line.corner == corner) for corner in ("bl", "br"))
    line = lines[0].rect.height()
    y = canvas.viewport().height() - 8 - bottom_rows * line - 8 - 6 - (len(HINT_LINES) - 0.5) * line
    return QPoint(canvas.viewport().width() // 2, int(y))


def test_hint_shows_until_the_first_roi_and_can_be_turned_off(qtbot, demo_window, make_window, open_study,
                                                              demo_study, gui_settings, artifacts_dir) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    left, right = window.grid.viewports
    assert left.canvas.hint == HINT_LINES and right.canvas.hint == []  # only on the active viewer
    hint_text = " ".join(HINT_LINES)
    assert "D  draw a ROI" in hint_text and "T / N" in hint_text and "Ctrl+R" in hint_text
    window.grab().save(str(artifacts_dir / "first_use_hint_two_up.png"))
    # Hovering it says how to turn it off.
    qtbot.mouseMove(left.canvas.viewport(), _hint_point(left.canvas))
    qtbot.waitUntil(QToolTip.isVisible, timeout=4000)
    assert "Help > Show First-Use Hints" in QToolTip.text()
    QToolTip.hideText()
    # Clicking the other viewer moves the hint with the keyboard.
    qtbot.mouseClick(right.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(20, 300))
    assert window.session.active == 1 and right.canvas.hint == HINT_LINES and left.canvas.hint == []
    # The first ROI ends it; undoing the drawing (no ROIs again) brings it back.
    press(qtbot, Qt.Key.Key_D)
    left_drag(qtbot, right, widget_point(right, 80, 80), widget_point(right, 120, 120))
    assert len(window.session.annotations.current) == 1
    assert right.canvas.hint == [] and left.canvas.hint == []
    press(qtbot, Qt.Key.Key_Z, CTRL)
    assert len(window.session.annotations.current) == 0 and right.canvas.hint == HINT_LINES
    # Help > Show First-Use Hints, clicked with the mouse, turns it off and is remembered.
    toggle = window.actions_by_name["first_use_hints"]
    assert toggle.isChecked()
    choose_in_menu(qtbot, open_menu_bar_menu(qtbot, window, "Help"), "Show First-Use Hints")
    assert not toggle.isChecked() and right.canvas.hint == [] and left.canvas.hint == []
    window.grab().save(str(artifacts_dir / "first_use_hint_off.png"))
    window.close()
    gui_settings.sync()
    assert gui_settings.value(SETTING_KEY) in (False, "false")
    again = make_window()
    open_study(again, demo_study.root, expected_viewports=2)
    assert not again.actions_by_name["first_use_hints"].isChecked()
    assert all(v.canvas.hint == [] for v in again.grid.viewports)
    # And on again from the same menu.
    choose_in_menu(qtbot, open_menu_bar_menu(qtbot, again, "Help"), "Show First-Use Hints")
    assert again.grid.active_viewport().canvas.hint == HINT_LINES
    again.close()


@pytest.mark.realdata
def test_hint_on_the_tcia_series(qtbot, tcia_window, artifacts_dir) -> None:
    window = tcia_window
    at_user_size(qtbot, window)
    viewport = window.grid.viewports[0]
    assert viewport.canvas.hint == HINT_LINES
    viewport.canvas.viewport().grab().save(str(artifacts_dir / "first_use_hint_tcia.png"))
    press(qtbot, Qt.Key.Key_D)
    left_drag(qtbot, viewport, widget_point(viewport, 200, 200), widget_point(viewport, 240, 240))
    assert viewport.canvas.hint == []


def test_a_measurement_also_ends_the_hint(qtbot, demo_window) -> None:
    """A ruler shows the user has found the tools as much as a ROI does; undoing it brings the hint back."""
    from tests.gui.annotation.measuring import choose_tool, draw_line

    window = demo_window
    at_user_size(qtbot, window)
    left = window.grid.viewports[0]
    assert left.canvas.hint == HINT_LINES
    choose_tool(qtbot, window, left, "ruler")
    draw_line(qtbot, left, (60.0, 70.0), (150.0, 120.0))
    assert len(window.session.annotations.current.measurements) == 1
    assert left.canvas.hint == []
    qtbot.keyClick(left.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not window.session.annotations.current.measurements
    assert left.canvas.hint == HINT_LINES
