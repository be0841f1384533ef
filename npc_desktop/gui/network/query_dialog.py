"""File > Query PACS…: choose a node, search, pick a study or series, retrieve it in the background.

Searching and retrieval run on the dialog's own thread pool, so the window stays responsive; the
retrieval shows per-image progress and can be cancelled (nothing of a cancelled study is kept).
When the study has arrived the dialog emits :attr:`QueryDialog.study_retrieved` with its folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.core.network import (
    DEFAULT_MOVE_PORT,
    FindQuery,
    NodeConfigError,
    RetrieveReport,
    StudyResult,
    StudyStore,
    find_studies,
    retrieve_study,
    verify_node,
)
from npc_desktop.gui.network.node_choice import NodeCombo, pacs_job
from npc_desktop.gui.workers import JobHandle, JobRunner

STUDY_COLUMNS = ("Patient", "ID", "Date", "Description", "Modalities", "Series", "Images")
SERIES_COLUMNS = ("#", "Modality", "Description", "Images")
METHODS = (("Automatic (C-GET or WADO-RS)", ""), ("C-GET", "get"), ("C-MOVE", "move"), ("WADO-RS", "wado"))


def _date_text(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


def _count(value: Optional[int]) -> str:
    return "?" if value is None else str(value)


class QueryDialog(QDialog):
    """Search a PACS and retrieve a study or series into the local study store."""

    study_retrieved = Signal(str)
    """The folder of a study that has arrived in the store."""

    def __init__(self, store: StudyStore, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryPacsDialog")
        self.setWindowTitle("Query PACS")
        self.store = store
        self.jobs = JobRunner(self, max_threads=2)
        self.studies: list[StudyResult] = []
        self.series: list = []
        self.retrieval: Optional[JobHandle] = None
        self.last_report: Optional[RetrieveReport] = None
        self._build()
        self.jobs.progress_changed.connect(self._on_progress)
        self.resize(1100, 640)

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        node_row = QHBoxLayout()
        self.node_combo = NodeCombo(self)
        self.test_button = QPushButton("Test", self)
        self.test_button.setObjectName("testButton")
        self.test_button.setToolTip("Check that the node answers (C-ECHO, or a DICOMweb search)")
        self.node_status = QLabel("", self)
        self.node_status.setObjectName("nodeStatus")
        self.node_status.setWordWrap(True)
        node_row.addWidget(QLabel("PACS node:", self))
        node_row.addWidget(self.node_combo, 1)
        node_row.addWidget(self.test_button)
        layout.addLayout(node_row)
        layout.addWidget(self.node_status)
        layout.addWidget(self._search_box())
        self.study_table = self._table("studyTable", STUDY_COLUMNS)
        self.series_table = self._table("seriesTable", SERIES_COLUMNS)
        self.series_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        tables = QHBoxLayout()
        tables.addWidget(self.study_table, 5)
        tables.addWidget(self.series_table, 3)
        layout.addLayout(tables, 1)
        layout.addLayout(self._retrieve_row())
        self.status = QLabel("Choose a node and search.", self)
        self.status.setObjectName("statusLabel")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.test_button.clicked.connect(self.test_node)
        self.search_button.clicked.connect(self.search)
        self.study_table.itemSelectionChanged.connect(self._on_study_selected)
        self.retrieve_button.clicked.connect(self.retrieve)
        self.cancel_button.clicked.connect(self.cancel_retrieval)

    def _search_box(self) -> QGroupBox:
        box = QGroupBox("Search", self)
        grid = QGridLayout(box)
        self.fields: dict[str, QLineEdit] = {}
        specs = (("patient_name", "Patient name", "DOE^J*"), ("patient_id", "Patient ID", "wildcards * ?"),
                 ("date_from", "Date from", "YYYYMMDD"), ("date_to", "Date to", "YYYYMMDD"),
                 ("modality", "Modality", "MR"), ("accession", "Accession", ""),
                 ("study_description", "Description", "*NASOPHARYNX*"), ("study_uid", "Study UID", ""))
        for position, (key, label, hint) in enumerate(specs):
            edit = QLineEdit(box)
            edit.setObjectName(f"{key}Edit")
            edit.setPlaceholderText(hint)
            edit.returnPressed.connect(self.search)
            self.fields[key] = edit
            row, column = divmod(position, 4)
            form = QFormLayout()
            form.addRow(label, edit)
            grid.addLayout(form, row, column)
        self.search_button = QPushButton("Search", box)
        self.search_button.setObjectName("searchButton")
        self.search_button.setDefault(True)
        grid.addWidget(self.search_button, 0, 4, 2, 1)
        return box

    def _table(self, name: str, columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns), self)
        table.setObjectName(name)
        table.setHorizontalHeaderLabels(list(columns))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(columns.index("Description"), QHeaderView.ResizeMode.Stretch)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        return table

    def _retrieve_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.method_combo = QComboBox(self)
        self.method_combo.setObjectName("methodCombo")
        for text, method in METHODS:
            self.method_combo.addItem(text, method)
        self.port_spin = QSpinBox(self)
        self.port_spin.setObjectName("movePortSpin")
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(DEFAULT_MOVE_PORT)
        self.port_spin.setToolTip("Our Storage SCP port for C-MOVE (the PACS must know it)")
        self.retrieve_button = QPushButton("Retrieve", self)
        self.retrieve_button.setObjectName("retrieveButton")
        self.retrieve_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("progressBar")
        self.progress.setFormat("%v / %m images")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        row.addWidget(QLabel("Method:", self))
        row.addWidget(self.method_combo)
        row.addWidget(QLabel("C-MOVE port:", self))
        row.addWidget(self.port_spin)
        row.addWidget(self.retrieve_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        return row

    # -- commands ----------------------------------------------------------------------------

    def _node_or_say(self):
        try:
            return self.node_combo.node()
        except NodeConfigError as exc:
            self.status.setText(str(exc))
            return None

    def test_node(self) -> None:
        """C-ECHO (or a DICOMweb search) in the background; the answer shows under the node."""
        node = self._node_or_say()
        if node is None:
            return
        self.node_status.setText(f"Testing {node.label}…")
        self.jobs.submit(f"Testing {node.name}", pacs_job(lambda progress, cancel: verify_node(node)),
                         lambda text: self.node_status.setText(f"✔ {text}"),
                         on_failed=lambda message: self.node_status.setText(f"✘ {message}"), foreground=False)

    def query(self) -> FindQuery:
        """The search form as a study-level query (raises NodeConfigError on a bad date)."""
        f = {key: edit.text().strip() for key, edit in self.fields.items()}
        date = f["date_from"]
        if f["date_to"]:
            date = f"{f['date_from']}-{f['date_to']}"
        return FindQuery(level="study", patient_id=f["patient_id"], patient_name=f["patient_name"], date=date,
                         modality=f["modality"], accession=f["accession"], study_uid=f["study_uid"],
                         study_description=f["study_description"])

    def search(self) -> None:
        """Search the node with the form's keys; the results fill the study table."""
        node = self._node_or_say()
        if node is None:
            return
        try:
            query = self.query()
        except NodeConfigError as exc:
            self.status.setText(str(exc))
            return
        self.search_button.setEnabled(False)
        self.status.setText(f"Searching {node.label}…")
        self.jobs.submit(f"Searching {node.name}",
                         pacs_job(lambda progress, cancel: find_studies(node, query, cancel=cancel)),
                         self._show_studies, on_failed=self._search_failed, foreground=False)

    def _search_failed(self, message: str) -> None:
        self.search_button.setEnabled(True)
        self.status.setText(message)

    def _show_studies(self, studies: list) -> None:
        self.search_button.setEnabled(True)
        self.studies = list(studies)
        self.study_table.setRowCount(len(self.studies))
        for row, study in enumerate(self.studies):
            values = (study.patient_name.replace("^", " ").strip(), study.patient_id, _date_text(study.study_date),
                      study.description, "/".join(study.modalities), _count(study.series_count),
                      _count(study.image_count))
            for column, value in enumerate(values):
                self.study_table.setItem(row, column, QTableWidgetItem(value))
        self.series_table.setRowCount(0)
        self.status.setText(f"{len(self.studies)} stud{'y' if len(self.studies) == 1 else 'ies'} found."
                            + (" Select one to see its series and retrieve it." if self.studies else ""))
        self._sync_buttons()

    def selected_study(self) -> Optional[StudyResult]:
        """The study selected in the table."""
        rows = self.study_table.selectionModel().selectedRows()
        return self.studies[rows[0].row()] if rows and rows[0].row() < len(self.studies) else None

    def selected_series(self):
        """The series selected in the series table (None: the whole study)."""
        rows = self.series_table.selectionModel().selectedRows()
        return self.series[rows[0].row()] if rows and rows[0].row() < len(self.series) else None

    def _on_study_selected(self) -> None:
        self.series, study = [], self.selected_study()
        self.series_table.setRowCount(0)
        self._sync_buttons()
        node = self._node_or_say()
        if study is None or node is None:
            return
        query = FindQuery(level="series", study_uid=study.study_uid)
        self.jobs.submit("Listing series", pacs_job(lambda progress, cancel: find_studies(node, query, cancel=cancel)),
                         lambda series: self._show_series(study.study_uid, series),
                         on_failed=lambda message: self.status.setText(f"Series not listed: {message}"),
                         foreground=False)

    def _show_series(self, study_uid: str, series: list) -> None:
        current = self.selected_study()
        if current is None or current.study_uid != study_uid:
            return
        self.series = sorted(series, key=lambda s: (s.number if s.number is not None else 1 << 30, s.series_uid))
        self.series_table.setRowCount(len(self.series))
        for row, item in enumerate(self.series):
            values = ("" if item.number is None else str(item.number), item.modality, item.description,
                      _count(item.image_count))
            for column, value in enumerate(values):
                self.series_table.setItem(row, column, QTableWidgetItem(value))

    def _sync_buttons(self) -> None:
        running = self.retrieval is not None
        self.retrieve_button.setEnabled(not running and self.selected_study() is not None)
        self.cancel_button.setEnabled(running)

    def retrieve(self) -> None:
        """Retrieve the selected series (or the whole selected study) in the background."""
        study, node = self.selected_study(), self._node_or_say()
        if study is None or node is None or self.retrieval is not None:
            return
        series = self.selected_series()
        series_uid = series.series_uid if series is not None else ""
        expected = (series.image_count if series is not None else study.image_count) or 0
        method, port, store = self.method_combo.currentData(), self.port_spin.value(), self.store
        self.progress.setRange(0, max(expected, 1))
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        what = f"series {series.number or series.series_uid}" if series is not None else "the study"
        self.status.setText(f"Retrieving {what} from {node.label}…")
        self.retrieval = self.jobs.submit(
            f"Retrieving from {node.name}",
            pacs_job(lambda progress, cancel: retrieve_study(node, store, study.study_uid, series_uid, method=method,
                                                             port=port, progress=progress, cancel=cancel)),
            self._retrieved, on_failed=self._retrieve_failed, on_cancelled=self._retrieve_cancelled)
        self._sync_buttons()

    def cancel_retrieval(self) -> None:
        """Stop the retrieval; what it stored so far is removed."""
        if self.retrieval is not None:
            self.status.setText("Cancelling…")
            self.retrieval.request_cancel()

    def _on_progress(self, _label: str, done: int, total: int) -> None:
        if self.retrieval is not None and total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _retrieved(self, report: RetrieveReport) -> None:
        self.retrieval, self.last_report = None, report
        self._sync_buttons()
        self.progress.setValue(self.progress.maximum())
        lines = [report.summary()[0].upper() + report.summary()[1:] + "."]
        lines += report.problems[:3]
        self.status.setText("\n".join(lines))
        if any(Path(report.folder).glob("*.dcm")):
            self.study_retrieved.emit(str(report.folder))

    def _retrieve_failed(self, message: str) -> None:
        self.retrieval = None
        self._sync_buttons()
        self.status.setText(f"Retrieval failed: {message}. Nothing of it was kept.")

    def _retrieve_cancelled(self) -> None:
        self.retrieval = None
        self._sync_buttons()
        self.progress.setValue(0)
        self.status.setText("Retrieval cancelled; nothing of it was kept in the study store.")

    def done(self, result: int) -> None:  # noqa: D102 - Qt API: closing cancels a running retrieval
        if self.retrieval is not None:
            self.retrieval.request_cancel()
        self.jobs.shutdown()
        super().done(result)
