"""Helpers for the TNM dock tests: show the dock, click its parts as a person would, pick combo items by key."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QWidget

from tests.gui.staging_helpers import add_demo_rois


def open_tnm(window: Any, demo: Any) -> Any:
    """Give the open demo study its example ROIs (a tumour, three nodes) and bring the TNM dock up."""
    add_demo_rois(window, demo)
    window.tnm_dock.show()
    window.tnm_dock.raise_()
    QApplication.processEvents()
    return window.tnm_panel


def click(qtbot: Any, panel: Any, widget: QWidget) -> None:
    """Scroll ``widget`` into view in the dock and click it."""
    panel.scroll.ensureWidgetVisible(widget)
    QApplication.processEvents()
    assert widget.isVisible() and widget.isEnabled(), f"{widget.objectName()} cannot be clicked"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())
    QApplication.processEvents()


def choose(qtbot: Any, panel: Any, combo: QComboBox, text: str) -> None:
    """Pick ``text`` in a combo box with the arrow keys (each key press is a choice, as in the app)."""
    panel.scroll.ensureWidgetVisible(combo)
    combo.setFocus(Qt.FocusReason.TabFocusReason)
    target = combo.findText(text)
    assert target >= 0, f"{text!r} is not in {combo.objectName()}"
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    for _ in range(abs(target - combo.currentIndex())):
        qtbot.keyClick(combo, key)
    assert combo.currentText() == text
    QApplication.processEvents()


def value_text(panel: Any, axis: str) -> str:
    """What the dock shows as the category of ``axis`` ("T", "N" or "M")."""
    return panel.findChild(QWidget, f"value{axis}").text()


def reasons_text(panel: Any, axis: str) -> str:
    """The reasons the dock shows under the category of ``axis``."""
    return panel.findChild(QWidget, f"reasons{axis}").text()
