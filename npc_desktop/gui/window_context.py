"""What a feature's window commands get from the main window, instead of the window itself.

The staging, research and annotation commands (menus, dialogs, status) need a parent for their
dialogs, the shared actions, the settings and a few callbacks. Handing them this small object
keeps the feature packages free of the main window (no import cycle with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from npc_desktop.gui.settings import AppSettings


@dataclass(frozen=True)
class WindowContext:
    """The main window's parts a feature's commands may use.

    Parameters
    ----------
    parent
        The parent of dialogs and message boxes (the main window).
    actions
        The window's actions by name (:func:`npc_desktop.gui.actions.create_actions`).
    settings
        The application settings.
    commit_pending_edits
        Stores what is typed in an editor but not yet committed (the patient label's note),
        before an export reads it.
    """

    parent: QWidget
    actions: Mapping[str, QAction]
    settings: AppSettings
    commit_pending_edits: Callable[[], None]

    def set_checked(self, name: str, on: bool) -> None:
        """Check or uncheck an action without triggering it."""
        action = self.actions[name]
        action.blockSignals(True)
        action.setChecked(on)
        action.blockSignals(False)


class DoneMessage(QObject):
    """A non-blocking success message with an Open Folder button; a new one replaces the last."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.box: Optional[QMessageBox] = None

    def show(self, title: str, text: str, folder: Path) -> None:
        """Say that something was written into ``folder``."""
        if self.box is not None:
            self.box.close()
        box = QMessageBox(QMessageBox.Icon.Information, title, title, QMessageBox.StandardButton.Close, self._parent)
        box.setObjectName("exportDoneBox")
        box.setInformativeText(text)
        open_button = box.addButton("Open Folder", QMessageBox.ButtonRole.ActionRole)
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda *_: setattr(self, "box", None))
        self.box = box
        box.open()
