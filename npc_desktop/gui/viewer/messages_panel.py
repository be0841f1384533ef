"""Ingestion messages: skipped files, irregular spacing, split series, undecodable slices."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QHeaderView, QStyle, QTreeWidget, QTreeWidgetItem, QWidget

from npc_desktop.gui.state import IngestMessage
from npc_desktop.gui.viewer.viewer_session import ViewerSession


class MessagesPanel(QTreeWidget):
    """A list of what went wrong or was left out while indexing and loading."""

    def __init__(self, session: ViewerSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("messagesPanel")
        self.setRootIsDecorated(False)
        self.setHeaderLabels(["Concerns", "Message"])
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().resizeSection(0, 240)
        self.header().setStretchLastSection(True)
        style = self.style()
        self._icons = {
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            "info": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation),
        }
        self.warning_count = 0
        session.messages_changed.connect(self.show_messages)

    def show_messages(self, messages: list[IngestMessage]) -> None:
        """Replace the list."""
        self.clear()
        self.warning_count = sum(1 for m in messages if m.severity == "warning")
        for message in messages:
            item = QTreeWidgetItem([message.source, message.text])
            item.setIcon(0, self._icons.get(message.severity, self._icons["info"]))
            item.setToolTip(0, message.source)
            item.setToolTip(1, message.text)
            self.addTopLevelItem(item)
