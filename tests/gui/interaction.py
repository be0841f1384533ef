"""Helpers for tests that drive the window as a user does: the 1600 x 1000 window, keys to the focus
widget, and menu items chosen with the mouse."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

USER_SIZE = (1600, 1000)
"""The window size the workstation was tried at."""


def at_user_size(qtbot, window) -> None:
    """Resize the window to :data:`USER_SIZE` and let the layout settle."""
    window.resize(*USER_SIZE)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == USER_SIZE, timeout=5000)
    qtbot.wait(50)


def press(qtbot, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press a key where the keyboard is: the application's focus widget, as a real keyboard does."""
    focus = QApplication.focusWidget()
    assert focus is not None, "no widget has the keyboard"
    qtbot.keyClick(focus, key, modifiers)


def choose_in_menu(qtbot, menu: QMenu, text: str) -> None:
    """Click the item of an open menu whose text starts with ``text``."""
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    action = next(a for a in menu.actions() if a.text().replace("&", "").startswith(text))
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=5000)


def open_menu_bar_menu(qtbot, window, title: str) -> QMenu:
    """Click a menu of the window's menu bar open and return it."""
    bar = window.menuBar()
    entry: QAction = next(a for a in bar.actions() if a.text().replace("&", "") == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(entry).center())
    menu = entry.menu()
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    return menu


def row_point(window, roi_id: str) -> QPoint:
    """The centre of a ROI's row in the ROI list (tree viewport coordinates)."""
    tree = window.roi_list.tree
    return tree.visualItemRect(window.roi_list.item_for(roi_id)).center()


def context_click(qtbot, widget, pos: QPoint) -> None:
    """A right click on a Qt widget: the button events, then the context-menu event that the
    window system sends with them (QTest's button events alone do not make one)."""
    qtbot.mouseClick(widget, Qt.MouseButton.RightButton, pos=pos)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)
