"""The main window's annotation commands: drawing kind, re-labelling, delete, undo/redo, saving,
SR/CSV/COCO export and SR import.

:class:`AnnotationUi` is made by the main window with a
:class:`~npc_desktop.gui.window_context.WindowContext`; it connects the annotation actions to the
session's :class:`~npc_desktop.gui.annotation.annotation_model.AnnotationModel`, keeps Undo/Redo
and the export actions current, and asks where to export or import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.gui.annotation.annotation_io import EXPORT_FILTERS, EXPORT_LABELS, EXPORT_SUFFIXES, ExportFormat
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.conflict_dialog import ask_which_version
from npc_desktop.gui.annotation.roi_kind_commands import change_roi_kind, choose_drawing_kind
from npc_desktop.gui.window_context import WindowContext

SaveStateView = Callable[[bool, str], None]
"""Shows whether every annotation change is saved (ok, one line)."""


class AnnotationUi(QObject):
    """Annotation commands of one main window (see the module docstring).

    Parameters
    ----------
    context
        Parent, actions, settings and the pending-edit commit of the window.
    session
        The session whose annotations the commands change.
    show_save_state
        Shows the save state in the status bar.
    """

    def __init__(self, context: WindowContext, session: AnnotationSession, show_save_state: SaveStateView) -> None:
        super().__init__(context.parent)
        self.context = context
        self.session = session
        self._show_save_state = show_save_state
        a, an = context.actions, session.annotations
        announce = session.status_message.emit
        for name, kind in (("tumour", RoiKind.TUMOUR), ("node", RoiKind.LYMPH_NODE)):
            a[f"kind_{name}"].triggered.connect(lambda _=False, k=kind: choose_drawing_kind(an, k, announce))
            a[f"relabel_{name}"].triggered.connect(
                lambda _=False, k=kind: change_roi_kind(an, an.selected_id, k, announce))
        a["delete_roi"].triggered.connect(lambda: an.delete_selected())
        a["undo"].triggered.connect(an.undo)
        a["redo"].triggered.connect(an.redo)
        a["save_annotations"].triggered.connect(self.save_now)
        for fmt in ExportFormat:
            a[f"export_{fmt.value}"].triggered.connect(lambda _=False, f=fmt: self.choose_export(f))
        a["import_sr"].triggered.connect(self.choose_import)
        for signal in (an.undo_stack.canUndoChanged, an.undo_stack.canRedoChanged, an.undo_stack.indexChanged,
                       an.selection_changed, an.current_study_changed, an.rois_changed, session.study_indexed,
                       an.measurement_selection_changed, an.measurements_changed):
            signal.connect(self.sync_actions)
        an.save_state_changed.connect(self._show_save_state)
        self.sync_actions()

    def sync_actions(self, *_: object) -> None:
        """Undo/Redo texts, Delete, the exports and the import follow the annotations."""
        a, an = self.context.actions, self.session.annotations
        stack = an.undo_stack
        if not shiboken6.isValid(stack):  # QUndoStack's destructor clears it, which signals here
            return
        for name, can, text in (("undo", stack.canUndo(), stack.undoText()), ("redo", stack.canRedo(), stack.redoText())):
            a[name].setEnabled(can)
            label = name.capitalize() + (f" {text}" if can and text else "")
            a[name].setText(label)
            a[name].setToolTip(label + f"  ({a[name].shortcut().toString()})")
        a["delete_roi"].setEnabled(an.selected_id is not None or an.selected_measurement_id is not None)
        has_rois = an.current is not None and len(an.current) > 0
        has_any = has_rois or (an.current is not None and bool(an.current.measurements or an.current.cricoid_level))
        for fmt in ExportFormat:
            a[f"export_{fmt.value}"].setEnabled(has_rois if fmt is ExportFormat.COCO else has_any)
        a["import_sr"].setEnabled(self.session.index is not None)

    # -- saving ----------------------------------------------------------------------------------

    def save_now(self) -> None:
        """Retry saving every annotation change that could not be written; where another program
        changed the file, ask which version stays."""
        annotations = self.session.annotations
        self.context.commit_pending_edits()
        annotations.flush()
        for study_uid, conflict in annotations.conflicts().items():
            keep_mine = ask_which_version(self.context.parent, conflict)
            if keep_mine is not None:
                self.context.show_status(annotations.resolve_conflict(study_uid, keep_mine=keep_mine), 15000)
        if not annotations.has_unsaved:
            self.context.show_status("All annotations are saved", 5000)

    def may_close(self) -> bool:
        """Save what is pending before the window closes; where that fails, ask whether to close
        anyway (False: the window stays open)."""
        self.context.commit_pending_edits()
        annotations = self.session.annotations
        if annotations.flush():
            return True
        conflicts = annotations.conflicts()
        kept = "".join(f"\n{c.path.name} was changed by another program; your version is in "
                       f"{c.conflict_path or 'memory only'}." for c in conflicts.values())
        answer = QMessageBox.warning(
            self.context.parent, "Annotations not saved",
            "Some annotation changes could not be saved to their study file.\n"
            f"{kept}\n\nWhat is only in memory is lost if you close now. Check the folder "
            f"{annotations.store.directory} and choose Retry, or close anyway.",
            QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Close
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Retry)
        if answer == QMessageBox.StandardButton.Retry:
            self.save_now()
        return answer == QMessageBox.StandardButton.Close

    # -- export / import -------------------------------------------------------------------------

    def choose_export(self, fmt: ExportFormat) -> None:
        """Ask where (and, for CSV and COCO, under which pseudonym) to export the study's ROIs and
        measurements."""
        parent = self.context.parent
        start = str(Path(self.context.settings.last_folder) / f"annotations{EXPORT_SUFFIXES[fmt]}")
        path, _ = QFileDialog.getSaveFileName(parent, f"Export ROIs as {EXPORT_LABELS[fmt]}", start,
                                              EXPORT_FILTERS[fmt])
        if not path:
            return
        patient = "patient1"
        if fmt is not ExportFormat.SR:
            patient, ok = QInputDialog.getText(
                parent, "Pseudonymous patient ID",
                "Patient ID written into the export (letters, digits, - and _; not the real ID):", text=patient)
            if not ok:
                return
        self.session.export_annotations(fmt, path, patient=patient.strip())

    def choose_import(self) -> None:
        """Ask for a DICOM SR file and add its ROIs and measurements."""
        path, _ = QFileDialog.getOpenFileName(self.context.parent, "Import ROIs and Measurements from DICOM SR",
                                              self.context.settings.last_folder, "DICOM SR (*.dcm);;All files (*)")
        if path:
            self.session.import_sr(path)
