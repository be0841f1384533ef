"""The worklist dock's behaviour: indexing folders, opening a row's T1C and T2 two-up, batch actions.

Opening a row first checks its files again (a file deleted since indexing gives a message and an
updated row), then opens its folder; once the study is shown, the row's T1C goes to the left
viewport and its T2 to the right one, and the first tumour ROI (else any ROI) is shown. Batch
actions run on a worker thread with the dock's progress bar and Cancel; running one again resumes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMenu

from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.cohort.batch import export_patch_dataset, export_reports, stage_rows
from npc_desktop.core.cohort.database import CohortDatabase
from npc_desktop.core.cohort.indexer import CohortError, index_roots
from npc_desktop.core.cohort.roles import ROLES
from npc_desktop.core.cohort.rows import WorklistRow, progress_summary
from npc_desktop.core.cohort.worklist import build_worklist, refresh_row
from npc_desktop.gui.cohort.worklist_panel import WorklistPanel
from npc_desktop.gui.window_context import WindowContext
from npc_desktop.gui.workers import JobError, JobHandle

EDIT_REFRESH_MS = 300
"""How long after an edit (saved at once) the edited study's row is rebuilt."""

BatchEngine = Callable[[], tuple[Callable[[Any, threading.Event], Any], str]]
"""Returns the current models' engine factory ``factory(progress, cancel) -> engine`` and their name."""


class WorklistUi(QObject):
    """Connects the worklist panel to the cohort database and the open session."""

    rows_changed = Signal()
    row_opened = Signal(str)
    """The key of a row whose T1C and T2 are now shown (at the ROI's slice when it has one)."""
    batch_finished = Signal(object)
    """The BatchReport (or ExportResult) of a finished batch action."""
    _batch_progress = Signal(int, int)

    def __init__(self, context: WindowContext, session: Any, batch_engine: BatchEngine, *,
                 database: Optional[str] = None) -> None:
        super().__init__(context.parent)
        self.context, self.session, self.batch_engine = context, session, batch_engine
        self.panel = WorklistPanel(context.parent)
        self.db = CohortDatabase(database)
        self.annotation_dir = str(session.annotations.store.directory)
        self.current_key: Optional[str] = None
        self._pending: Optional[WorklistRow] = None
        self._requested: set[int] = set()
        self._batch: Optional[JobHandle] = None
        p = self.panel
        p.add_folder.clicked.connect(lambda: self.add_folder())
        p.reindex.clicked.connect(lambda: self.index(self.db.roots()))
        p.table.doubleClicked.connect(lambda index: self.open_proxy_row(index.row()))
        p.next.clicked.connect(self.next_patient)
        p.previous.clicked.connect(self.previous_patient)
        p.stage.clicked.connect(self.stage_rows)
        p.export_dataset.clicked.connect(lambda: self.export_dataset())
        p.export_reports.clicked.connect(lambda: self.export_reports())
        p.cancel.clicked.connect(self.cancel_batch)
        p.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        p.table.customContextMenuRequested.connect(self._show_role_menu)
        self._batch_progress.connect(self._show_progress)
        context.actions["next_patient"].triggered.connect(self.next_patient)
        context.actions["previous_patient"].triggered.connect(self.previous_patient)
        session.series_loaded.connect(self._on_series_loaded)
        # Edits are saved as they happen; the row of the edited study follows shortly after.
        self._edited: set[str] = set()
        self._edit_timer = QTimer(self)
        self._edit_timer.setSingleShot(True)
        self._edit_timer.setInterval(EDIT_REFRESH_MS)
        self._edit_timer.timeout.connect(self._refresh_edited)
        annotations = session.annotations
        annotations.label_changed.connect(lambda uid, _label: self._study_edited(uid))
        annotations.rois_changed.connect(self._study_edited)
        annotations.measurements_changed.connect(self._study_edited)
        for message in self.db.messages:
            QTimer.singleShot(0, lambda m=message: session.error_occurred.emit("Cohort database rebuilt", m))
        self.refresh()

    def close(self) -> None:
        """Stop a running batch and close the database (window closing)."""
        self.cancel_batch()
        self.db.close()

    # -- rows ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Build the rows again from the index and the annotation store."""
        worklist = build_worklist(self.db, annotation_dir=self.annotation_dir)
        self.panel.model.set_rows(worklist.rows)
        self.panel.summary.setText(worklist.summary() if worklist.rows else "No studies indexed yet: add a folder")
        self.panel.summary.setToolTip("\n".join(worklist.warnings))
        self._select_current()
        self.rows_changed.emit()

    def _study_edited(self, study_uid: str) -> None:
        if any(r.study_uid == study_uid for r in self.panel.model.rows):
            self._edited.add(study_uid)
            self._edit_timer.start()

    def _refresh_edited(self) -> None:
        edited, self._edited = sorted(self._edited), set()
        self.refresh_studies(edited)

    def refresh_studies(self, study_uids: list[str]) -> None:
        """Update the rows of these studies (after an edit in the window)."""
        fresh = build_worklist(self.db, annotation_dir=self.annotation_dir, study_uids=study_uids)
        for row in [r for r in self.panel.model.rows if r.study_uid in study_uids]:
            self.panel.model.replace_row(row.key, fresh.find(row.key))
        self.panel.summary.setText(progress_summary(self.panel.model.rows))
        self.rows_changed.emit()

    def _select_current(self) -> None:
        rows = self.panel.proxy.visible_rows()
        position = next((i for i, r in enumerate(rows) if r.key == self.current_key), None)
        if position is not None:
            self.panel.select_proxy_row(position)

    def role_menu(self, row: WorklistRow) -> QMenu:
        """A menu that corrects the roles of the row's series by hand (kept across re-indexing)."""
        menu = QMenu(self.panel)
        menu.setObjectName("worklistRoleMenu")
        for entry in row.series:
            choices = menu.addMenu(f"{entry.description or entry.series_uid}: {entry.role}"
                                   + (" (set by hand)" if entry.role_by_hand else ""))
            choices.setToolTipsVisible(True)
            for role in (*ROLES, None):
                action = choices.addAction(role or "As the headers say")
                action.setCheckable(True)
                by_hand = entry.role_by_hand
                action.setChecked(entry.role == role if by_hand else role is None)
                action.triggered.connect(lambda _=False, uid=entry.series_uid, r=role: self.set_role(uid, r))
        return menu

    def set_role(self, series_uid: str, role: Optional[str]) -> None:
        """Correct a series' role by hand (None: back to the role read from the headers)."""
        self.db.set_role(series_uid, role)
        self.refresh()

    def _show_role_menu(self, point: QPoint) -> None:
        index = self.panel.table.indexAt(point)
        if index.isValid():
            self.role_menu(self.panel.proxy.row_at(index.row())).popup(self.panel.table.viewport().mapToGlobal(point))

    # -- indexing ------------------------------------------------------------------------------

    def add_folder(self, folder: Optional[str] = None) -> None:
        """Index a folder (asked for when None) and show its studies."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.panel, "Add Folder to the Worklist",
                                                      self.context.settings.last_folder)
        if folder:
            self.index([folder])

    def index(self, roots: list[str]) -> None:
        """Index (or re-index) ``roots`` in the background."""
        if not roots:
            self.context.show_status("No folders indexed yet: add a folder", 5000)
            return

        def job(progress: Any, cancel: threading.Event) -> Any:
            try:
                with CohortDatabase(self.db.path) as db:  # a connection of its own on the worker thread
                    return index_roots(db, roots, progress=progress, cancel=cancel)
            except CohortError as exc:
                raise JobError(str(exc)) from None

        self._run("Indexing", job, self._on_indexed)

    def _on_indexed(self, report: Any) -> None:
        self.refresh()
        self.context.show_status(report.lines()[-1], 10000)
        problems = [f"{path}: {reason}" for path, reason in report.skipped] + report.warnings
        if problems:
            shown = "\n".join(problems[:20]) + (f"\n… and {len(problems) - 20} more" if len(problems) > 20 else "")
            self.session.error_occurred.emit("Some files were skipped or found twice", shown)

    # -- opening -------------------------------------------------------------------------------

    def open_proxy_row(self, position: int) -> None:
        """Open the row shown at ``position``: its T1C and T2 side by side, at the ROI's slice."""
        rows = self.panel.proxy.visible_rows()
        if not 0 <= position < len(rows):
            return
        row = rows[position]
        fresh, messages = refresh_row(self.db, row, annotation_dir=self.annotation_dir)
        self.panel.model.replace_row(row.key, fresh)
        if messages:
            self.session.error_occurred.emit("The study changed since it was indexed", "\n".join(messages))
        if fresh is None:
            return
        self.current_key = fresh.key
        self._select_current()
        self._pending, self._requested = fresh, set()
        self.session.open_path(fresh.folder)

    def _step(self, delta: int) -> None:
        rows = self.panel.proxy.visible_rows()
        if not rows:
            self.context.show_status("The worklist is empty: add a folder", 5000)
            return
        position = next((i for i, r in enumerate(rows) if r.key == self.current_key), None)
        target = (0 if delta > 0 else len(rows) - 1) if position is None else position + delta
        if not 0 <= target < len(rows):
            self.context.show_status("This is the last patient" if delta > 0 else "This is the first patient", 5000)
            return
        self.open_proxy_row(target)

    def next_patient(self) -> None:
        """Open the next row of the worklist (the first when none is open)."""
        self._step(1)

    def previous_patient(self) -> None:
        """Open the previous row of the worklist."""
        self._step(-1)

    def _wanted(self) -> dict[int, str]:
        index, row = self.session.index, self._pending
        wanted: dict[int, str] = {}
        if index is None or row is None:
            return wanted
        for viewport, entry in ((0, row.t1c), (1, row.t2)):
            if entry is None:
                continue
            try:
                wanted[viewport] = index.find_series(entry.series_uid).key
            except Exception:  # the series is not in the opened folder: show what there is
                continue
        return wanted

    def _on_series_loaded(self, vp: int, loaded: Any) -> None:
        row = self._pending
        if row is None or loaded.volume.meta.study_instance_uid != row.study_uid:
            return
        wanted = self._wanted()
        waiting = False
        for viewport, key in wanted.items():
            if self.session.viewports[viewport].series_key != key:
                waiting = True
                if viewport not in self._requested:
                    self._requested.add(viewport)
                    self.session.set_layout(2)
                    self.session.load_series(key, viewport)
        if waiting:
            return
        self._pending = None
        self.session.set_layout(2 if len(wanted) == 2 else self.session.layout)
        if row.focus_roi is not None:
            self.session.show_roi(row.focus_roi)
        self.row_opened.emit(row.key)

    # -- batch actions -------------------------------------------------------------------------

    def _run(self, label: str, job: Callable[[Any, threading.Event], Any], done: Callable[[Any], None]) -> None:
        def progress_job(progress: Any, cancel: threading.Event) -> Any:
            def report(count: int, total: int) -> None:
                progress(count, total)
                self._batch_progress.emit(count, total)
            return job(report, cancel)

        def finished(result: Any) -> None:
            self._end_batch()
            done(result)

        def failed(message: str) -> None:
            self._end_batch()
            self.session.error_occurred.emit(f"{label} failed", message)

        def cancelled() -> None:
            self._end_batch()
            self.context.show_status(f"{label} cancelled; run it again to resume", 8000)

        self.panel.set_busy(label)
        self._batch = self.session.jobs.submit(label, progress_job, finished, on_failed=failed,
                                               on_cancelled=cancelled, foreground=False)

    def _show_progress(self, done: int, total: int) -> None:
        self.panel.progress.setRange(0, max(total, 0))
        self.panel.progress.setValue(done)

    def _end_batch(self) -> None:
        self._batch = None
        self.panel.set_busy(None)

    def cancel_batch(self) -> None:
        """Stop the running batch action after the current row."""
        if self._batch is not None:
            self._batch.request_cancel()

    def _engine_job(self, work: Callable[[Any, Any, threading.Event], Any]) -> Callable[[Any, threading.Event], Any]:
        factory, _ = self.batch_engine()

        def job(progress: Any, cancel: threading.Event) -> Any:
            engine = factory(lambda *_: None, cancel)
            return work(engine, progress, cancel)
        return job

    def _on_batch(self, report: Any) -> None:
        self.refresh()
        self.context.show_status(report.summary(), 10000)
        problems = [line for line in report.lines()[:-1]]
        if problems:
            self.session.error_occurred.emit(report.summary(), "\n".join(problems[:20]))
        self.batch_finished.emit(report)

    def stage_rows(self) -> None:
        """Stage every shown row with ROIs with the current models; rows already staged are skipped."""
        rows = self.panel.proxy.visible_rows()
        _, name = self.batch_engine()
        self.context.show_status(f"Staging {len(rows)} row(s) with {name}", 5000)
        store = AnnotationStore(self.annotation_dir)
        self._run("Staging rows", self._engine_job(
            lambda engine, progress, cancel: stage_rows(rows, engine, store=store, progress=progress, cancel=cancel)),
            self._on_batch)

    def export_reports(self, folder: Optional[str] = None) -> None:
        """Write the de-identified report of every shown row with ROIs into a folder (asked for when None)."""
        folder = folder or QFileDialog.getExistingDirectory(self.panel, "Export Reports to Folder",
                                                            self.context.settings.last_folder)
        if not folder:
            return
        rows = self.panel.proxy.visible_rows()
        store = AnnotationStore(self.annotation_dir)
        self._run("Exporting reports", self._engine_job(
            lambda engine, progress, cancel: self._export_reports(rows, engine, Path(folder), store, progress, cancel)),
            self._on_batch)

    def _export_reports(self, rows: list[WorklistRow], engine: Any, folder: Path, store: AnnotationStore,
                        progress: Any, cancel: threading.Event) -> Any:
        with CohortDatabase(self.db.path) as db:  # a connection of its own on the worker thread
            return export_reports(rows, engine, folder, db, store=store, progress=progress, cancel=cancel)

    def export_dataset(self, folder: Optional[str] = None) -> None:
        """Export the patch dataset of the shown labelled rows into a new or empty folder (asked for when None)."""
        folder = folder or QFileDialog.getExistingDirectory(self.panel, "Export Patch Dataset to Folder",
                                                            self.context.settings.last_folder)
        if not folder:
            return
        rows = self.panel.proxy.visible_rows()
        store = AnnotationStore(self.annotation_dir)

        def job(progress: Any, cancel: threading.Event) -> Any:
            from npc_desktop.core.research.export_sources import ExportError

            try:
                return export_patch_dataset(rows, Path(folder), store=store, progress=progress, cancel=cancel)
            except ExportError as exc:
                raise JobError(str(exc)) from None

        def done(result: Any) -> None:
            self.context.done.show("Patch dataset exported",
                                   f"{result.patches} patch(es) of {result.patients} patient(s)", result.root)
            self.batch_finished.emit(result)

        self._run("Exporting dataset", job, done)
