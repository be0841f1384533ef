"""The permanent readouts of the main window's status bar: cursor position and value, ingestion
warnings, annotation save state, what is loaded, and the process's memory."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import psutil
from PySide6.QtCore import QObject, QSize, Qt, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QStyle, QToolButton, QWidget

from npc_desktop.gui.state import CursorInfo, IngestMessage, ViewportState
from npc_desktop.gui.viewer.overlay import format_value

MEMORY_REFRESH_MS = 2000
VIEWPORT_NAMES = ("Left", "Right")
SAVE_FAILED_STYLE = "color: #ff8a65; font-weight: bold;"


class StatusReadouts(QObject):
    """Labels in the status bar, updated by the window from the session's signals.

    Parameters
    ----------
    bar
        The window's status bar.
    leading, trailing
        Widgets of the features placed before the readouts (the progress panel) and before the
        loaded-series label (the models label).
    show_messages
        Called when the warnings button is clicked.
    """

    def __init__(self, bar: QStatusBar, leading: Sequence[QWidget], trailing: Sequence[QWidget],
                 show_messages: Callable[[], None]) -> None:
        super().__init__(bar)
        self.bar = bar
        self.cursor_label = QLabel(bar)
        self.loaded_label = QLabel("Nothing loaded", bar)
        self.memory_label = QLabel(bar)
        self.save_label = QLabel(bar)
        self.save_label.setObjectName("annotationSaveLabel")
        self.warnings_button = QToolButton(bar)
        self.warnings_button.setObjectName("warningsButton")
        self.warnings_button.setAutoRaise(True)
        self.warnings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.warnings_button.setIconSize(QSize(14, 14))
        self.warnings_button.setVisible(False)
        self.warnings_button.clicked.connect(show_messages)
        for widget in (*leading, self.cursor_label, self.warnings_button, self.save_label, *trailing,
                       self.loaded_label, self.memory_label):
            bar.addPermanentWidget(widget)
        self._process = psutil.Process()
        self._memory_timer = QTimer(self)
        self._memory_timer.timeout.connect(self.update_memory)
        self._memory_timer.start(MEMORY_REFRESH_MS)
        self.update_memory()

    def stop(self) -> None:
        """Stop the memory refresh (window closing)."""
        self._memory_timer.stop()

    def show_loaded(self, viewports: Sequence[ViewportState]) -> None:
        """Name the series each viewport shows (full details in the tooltip)."""
        parts, tips = [], []
        for vp, state in enumerate(viewports):
            volume = state.volume
            if volume is not None:
                slices, rows, cols = volume.shape
                name = volume.meta.series_description or volume.meta.modality
                tips.append(f"{VIEWPORT_NAMES[vp]}: {name}, {cols} × {rows} × {slices}, "
                            f"{volume.voxels.nbytes / 2**20:.0f} MB")
                short = name if len(name) <= 22 else name[:21] + "…"
                parts.append(f"{VIEWPORT_NAMES[vp]}: {short} {cols}×{rows}×{slices}")
        self.loaded_label.setText("   ".join(parts) if parts else "Nothing loaded")
        self.loaded_label.setToolTip("\n".join(tips))

    def update_memory(self) -> None:
        """Show the resident memory of the process."""
        try:
            rss = self._process.memory_info().rss
        except psutil.Error:
            return
        self.memory_label.setText(f"Memory {rss / 2**20:,.0f} MB")

    def show_messages(self, messages: Sequence[IngestMessage]) -> bool:
        """Count the ingestion warnings and notes on the button; whether there are warnings."""
        warnings = sum(1 for m in messages if m.severity == "warning")
        infos = len(messages) - warnings
        style = self.bar.style()
        if warnings:
            self.warnings_button.setText(f"{warnings} warning{'s' if warnings > 1 else ''}")
            self.warnings_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
        elif infos:
            self.warnings_button.setText(f"{infos} note{'s' if infos > 1 else ''}")
            self.warnings_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation))
        self.warnings_button.setToolTip("Show the ingestion messages")
        self.warnings_button.setVisible(bool(messages))
        return bool(warnings)

    def show_cursor(self, info: Optional[CursorInfo], integer_values: bool) -> None:
        """The patient position and value under the pointer (empty when it left the image)."""
        if info is None:
            self.cursor_label.setText("")
            return
        x, y, z = info.patient_mm
        value = format_value(info.value, integer_values)
        self.cursor_label.setText(f"({x:.1f}, {y:.1f}, {z:.1f}) mm   value {value}")

    def show_save_state(self, ok: bool, text: str, folder: str) -> None:
        """Warn in the bar while annotation changes are not saved; the tooltip names the folder."""
        self.save_label.setText("" if ok else "⚠ " + text)
        self.save_label.setToolTip(folder)
        self.save_label.setStyleSheet("" if ok else SAVE_FAILED_STYLE)
        self.bar.showMessage(text, 10000)
