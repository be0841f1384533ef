"""The main window's research command: File > Export Patch Dataset.

:class:`ResearchUi` asks for the dataset settings (:class:`~npc_desktop.gui.research.dataset_dialog.DatasetDialog`)
and exports the open study's ROIs as a de-identified patch dataset on the session's thread pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Protocol

from PySide6.QtCore import QObject, Qt, SignalInstance
from PySide6.QtWidgets import QMessageBox

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.dicom import StudyIndex
from npc_desktop.gui.research.dataset_dialog import DatasetDialog
from npc_desktop.gui.research.dataset_export import DatasetRequest, dataset_job, dataset_problem
from npc_desktop.gui.window_context import WindowContext
from npc_desktop.gui.workers import JobRunner


class DatasetAnnotations(Protocol):
    """The annotations a dataset export reads."""

    rois_changed: SignalInstance
    current_study_changed: SignalInstance
    margin: ContextMargin

    @property
    def current(self) -> Optional[AnnotationSet]:
        """The annotations of the study the active viewport shows."""

    def flush(self) -> bool:
        """Save what is pending; whether everything is saved."""


class DatasetHost(Protocol):
    """The session a dataset export runs in (the shell's SessionModel)."""

    index: Optional[StudyIndex]
    jobs: JobRunner
    error_occurred: SignalInstance
    status_message: SignalInstance

    @property
    def annotations(self) -> DatasetAnnotations:
        """The study's annotations."""


class ResearchUi(QObject):
    """The patch-dataset export of one main window (see the module docstring)."""

    def __init__(self, context: WindowContext, session: DatasetHost) -> None:
        super().__init__(context.parent)
        self.context = context
        self.session = session
        self.dialog: Optional[DatasetDialog] = None
        context.actions["export_dataset"].triggered.connect(self.export_dataset)
        session.annotations.rois_changed.connect(self._sync)
        session.annotations.current_study_changed.connect(self._sync)
        self._sync()

    @property
    def info_box(self) -> Optional[QMessageBox]:
        """The message saying the last dataset was written (None once closed)."""
        return self.context.done.box

    def _sync(self, *_: object) -> None:
        self.context.actions["export_dataset"].setEnabled(self.session.annotations.current is not None)

    def export_dataset(self) -> None:
        """Ask for the dataset settings and export the open study's ROIs in the background."""
        annotations = self.session.annotations.current
        problem = dataset_problem(annotations)
        if problem is not None or self.session.index is None or annotations is None:
            self.session.error_occurred.emit("Cannot export a patch dataset", problem or "Open a study first.")
            return
        rois = len(annotations.rois)
        summary = (f"{rois} ROI{'s' if rois != 1 else ''} of the open study, stage {annotations.label.stage.value}: "
                   "each patch as the raw 16-bit crop and the 8-bit CLAHE model input.")
        dialog = DatasetDialog(self.context.settings, self.session.annotations.margin, summary, self.context.parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._write_dataset(dialog.request()))
        self.dialog = dialog
        dialog.open()

    def _write_dataset(self, request: DatasetRequest) -> None:
        annotations = self.session.annotations.current
        index = self.session.index
        if annotations is None or index is None:
            return
        self.session.annotations.flush()
        snapshot = AnnotationSet.from_dict(annotations.to_dict())
        root = Path(index.root)
        self.session.jobs.submit(
            f"Exporting patches to {request.out_dir.name}",
            lambda progress, cancel: dataset_job(root, snapshot, request, progress, cancel),
            self._dataset_written,
            on_failed=lambda message: self.session.error_occurred.emit("Patch dataset not exported", message),
            on_cancelled=lambda: self.session.status_message.emit("Patch dataset export cancelled"),
        )

    def _dataset_written(self, result: Any) -> None:
        split = result.split
        text = (f"{result.patches} patch{'es' if result.patches != 1 else ''} of {result.patients} patient(s) "
                f"in {result.root}\nTraining patients: {len(split.train)}, test patients: {len(split.test)}")
        if result.mapping_file is not None:
            text += f"\nPseudonym mapping (holds patient identity): {result.mapping_file}"
        if result.notes:
            text += "\n\nNotes:\n" + "\n".join(result.notes)
        self.session.status_message.emit(f"Patch dataset written to {result.root}")
        self.context.done.show("Patch dataset exported", text, result.root)
