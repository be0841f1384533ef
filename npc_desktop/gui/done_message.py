"""A non-blocking success message for exports, with an Open Folder button."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget


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
        # A replaced box is deleted later: only forget the box that is still the current one.
        box.destroyed.connect(lambda *_, old=box: self._forget(old))
        self.box = box
        box.open()

    def _forget(self, box: QMessageBox) -> None:
        if self.box is box:
            self.box = None
