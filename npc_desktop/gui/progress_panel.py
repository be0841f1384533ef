"""Progress of indexing, loading, staging and exports, with a cancel button, for the status bar."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from npc_desktop.gui.viewer.viewer_session import ViewerSession


class ProgressPanel(QWidget):
    """Visible while a foreground job runs: what it does, how far it is, and Cancel."""

    def __init__(self, session: ViewerSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("progressPanel")
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Stop the running job: indexing, loading, staging or an export (Esc)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(session.cancel_jobs)
        session.busy_changed.connect(self.setVisible)
        session.progress_changed.connect(self._on_progress)
        self.setVisible(False)

    def _on_progress(self, label: str, done: int, total: int) -> None:
        self.label.setText(label)
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)  # busy indicator until the total is known
