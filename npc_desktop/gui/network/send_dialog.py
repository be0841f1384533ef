"""File > Send to PACS: write the study's DICOM SR and report PDF, send them, and say whether it worked."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from npc_desktop.core.progress import ProgressCallback, check_cancelled
from npc_desktop.gui.network.node_choice import NodeCombo, pacs_job
from npc_desktop.gui.workers import JobRunner

if TYPE_CHECKING:
    from npc_desktop.core.network import SendReport

WriteResults = Callable[[Path, ProgressCallback, threading.Event], list[Path]]


@dataclass(frozen=True)
class ResultsToSend:
    """What File > Send to PACS sends: a description for the user and the job that writes the files.

    Attributes
    ----------
    description
        One line per object, e.g. "DICOM SR: 3 ROIs and 2 measurements".
    write
        ``write(folder, progress, cancel) -> files``; runs on a worker thread.
    """

    description: str
    write: WriteResults


class SendDialog(QDialog):
    """Choose a node and send the results; the outcome stays in the dialog."""

    def __init__(self, results: ResultsToSend, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("sendPacsDialog")
        self.setWindowTitle("Send to PACS")
        self.results = results
        self.jobs = JobRunner(self, max_threads=1)
        self.report: Optional[SendReport] = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.node_combo = NodeCombo(self)
        row.addWidget(QLabel("PACS node:", self))
        row.addWidget(self.node_combo, 1)
        layout.addLayout(row)
        what = QLabel("Will send:\n" + results.description, self)
        what.setObjectName("whatLabel")
        layout.addWidget(what)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("progressBar")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.status = QLabel("", self)
        self.status.setObjectName("statusLabel")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(True)
        self.close_button = QPushButton("Close", self)
        self.close_button.setObjectName("closeButton")
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.send_button.clicked.connect(self.send)
        self.close_button.clicked.connect(self.reject)
        self.jobs.progress_changed.connect(lambda _label, done, total: (self.progress.setRange(0, max(total, 1)),
                                                                       self.progress.setValue(done)))
        self.resize(560, 220)

    def send(self) -> None:
        """Write the files and send them in the background."""
        try:
            node = self.node_combo.node()
        except Exception as exc:  # NodeConfigError: the message names what to fix
            self.status.setText(f"✘ {exc}")
            return
        write = self.results.write

        from npc_desktop.core.network import send_files

        def job(progress: ProgressCallback, cancel: threading.Event) -> SendReport:
            with tempfile.TemporaryDirectory(prefix="npc-send-") as folder:
                files = write(Path(folder), progress, cancel)
                check_cancelled(cancel)
                report = send_files(node, files, progress=progress, cancel=cancel)
                report.sent = [Path(p.name) for p in report.sent]
                return report

        self.send_button.setEnabled(False)
        self.status.setText(f"Sending to {node.label}…")
        self.jobs.submit(f"Sending to {node.name}", pacs_job(job), lambda report: self._sent(node.label, report),
                         on_failed=self._failed, on_cancelled=lambda: self._failed("cancelled"))

    def _sent(self, label: str, report: SendReport) -> None:
        self.report = report
        self.send_button.setEnabled(True)
        if report.ok:
            self.status.setText(f"✔ Sent to {label}: {', '.join(p.name for p in report.sent)}. The PACS accepted "
                                "every object.")
        else:
            self.status.setText(f"✘ Not everything was sent to {label}: " + "; ".join(report.failed))

    def _failed(self, message: str) -> None:
        self.send_button.setEnabled(True)
        self.status.setText(f"✘ Nothing was sent: {message}")

    def done(self, result: int) -> None:  # noqa: D102 - Qt API
        self.jobs.shutdown(5000)
        super().done(result)
