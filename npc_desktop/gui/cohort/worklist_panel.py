"""The worklist dock's widgets: folder buttons, filter, name toggle, the table, summary, batch bar."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.core.cohort.rows import FILTERS
from npc_desktop.gui.cohort.worklist_model import WorklistFilter, WorklistModel


def _button(text: str, name: str, tip: str, parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setObjectName(name)
    button.setToolTip(tip)
    return button


class WorklistPanel(QWidget):
    """The worklist's view; :class:`~npc_desktop.gui.cohort.worklist_ui.WorklistUi` connects it."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("worklistPanel")
        self.model = WorklistModel(self)
        self.proxy = WorklistFilter(self.model, self)
        self.add_folder = _button("Add Folder…", "worklistAddFolder", "Index a folder of studies into the cohort", self)
        self.reindex = _button("Re-index", "worklistReindex",
                               "Look for new, changed and deleted files in the indexed folders", self)
        self.filter = QComboBox(self)
        self.filter.setObjectName("worklistFilter")
        self.filter.addItem("All rows", None)
        for name in FILTERS:
            self.filter.addItem(name.capitalize(), name)
        self.real_names = QCheckBox("Real names", self)
        self.real_names.setObjectName("worklistRealNames")
        self.real_names.setToolTip("Show patients' names and study dates instead of pseudonyms")
        top = QHBoxLayout()
        for widget in (self.add_folder, self.reindex, self.filter, self.real_names):
            top.addWidget(widget)
        top.addStretch(1)
        self.table = QTableView(self)
        self.table.setObjectName("worklistTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(150)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.summary = QLabel("No studies indexed yet: add a folder", self)
        self.summary.setObjectName("worklistSummary")
        self.previous = _button("◀ Previous", "worklistPrevious", "Open the previous patient (Ctrl+[)", self)
        self.next = _button("Next ▶", "worklistNext", "Open the next patient (Ctrl+])", self)
        navigation = QHBoxLayout()
        navigation.addWidget(self.summary, 1)
        navigation.addWidget(self.previous)
        navigation.addWidget(self.next)
        self.stage = _button("Stage Rows", "worklistStage",
                             "Stage every shown row with ROIs with the current models (skips rows already staged)",
                             self)
        self.export_dataset = _button("Export Dataset…", "worklistExportDataset",
                                      "Export the de-identified patch dataset of the shown labelled rows", self)
        self.export_reports = _button("Export Reports…", "worklistExportReports",
                                      "Write the de-identified PDF report of every shown row with ROIs", self)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("worklistProgress")
        self.progress.hide()
        self.cancel = _button("Cancel", "worklistCancel", "Stop the batch after the current row", self)
        self.cancel.hide()
        batch = QHBoxLayout()
        for widget in (self.stage, self.export_dataset, self.export_reports, self.progress, self.cancel):
            batch.addWidget(widget)
        batch.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(navigation)
        layout.addLayout(batch)
        self.filter.currentIndexChanged.connect(lambda *_: self.proxy.set_filter(self.filter.currentData()))
        self.real_names.toggled.connect(self.model.set_real_names)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)

    def set_busy(self, label: Optional[str]) -> None:
        """Show the batch progress bar and Cancel (``label``), or hide them (None)."""
        busy = label is not None
        self.progress.setVisible(busy)
        self.cancel.setVisible(busy)
        for button in (self.stage, self.export_dataset, self.export_reports, self.add_folder, self.reindex):
            button.setEnabled(not busy)
        if busy:
            self.progress.setFormat(f"{label}: %v of %m")
            self.progress.setRange(0, 0)

    def current_proxy_row(self) -> int:
        """The selected row in view order, -1 when none."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def select_proxy_row(self, row: int) -> None:
        """Select and scroll to the row at ``row`` in view order."""
        self.table.selectRow(row)
        self.table.scrollTo(self.proxy.index(row, 0))
