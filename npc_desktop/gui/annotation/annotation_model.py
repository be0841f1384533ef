"""The annotations of the open studies: edits, undo/redo, selection, drawing kind.

:class:`AnnotationModel` belongs to the annotation session. Its studies' files (loading, locks,
autosave, conflicts) are handled by its base, :class:`~npc_desktop.gui.annotation.study_files.StudyFiles`;
here every change goes through one QUndoStack. Widgets call its methods and subscribe to its
signals.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping, Optional, Union

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.events import (
    AnnotationEvent,
    CricoidLevelChanged,
    LabelChanged,
    MeasurementAdded,
    MeasurementRemoved,
    MeasurementUpdated,
    RoiRemoved,
)
from npc_desktop.core.annotation.labels import Stage
from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.validation import AnnotationError, utc_now
from npc_desktop.gui.annotation.annotation_commands import AnnotationCommand, Operation
from npc_desktop.gui.annotation.measurement_edits import MeasurementEdits
from npc_desktop.gui.annotation.roi_style import KIND_NAMES
from npc_desktop.gui.annotation.study_files import READ_ONLY_ADVICE, StudyFiles

_BY_HAND = object()
"""``set_label``'s default source: the clinician chose the stage by hand."""


class AnnotationModel(MeasurementEdits, StudyFiles):
    """ROIs, measurements and patient labels of the open studies (see the module docstring); the
    parameters are :class:`~npc_desktop.gui.annotation.study_files.StudyFiles`'. The measurement
    edits come from :class:`~npc_desktop.gui.annotation.measurement_edits.MeasurementEdits`."""

    selection_changed = Signal(object)
    """The selected ROI id, or None."""
    current_study_changed = Signal(object)
    """The StudyInstanceUID the panels show, or None."""
    kind_changed = Signal(str)
    """The RoiKind value new ROIs get."""
    margin_changed = Signal(object)
    """The ContextMargin of the patch preview."""
    about_to_change_history = Signal()
    """Undo or redo is about to run: editors commit what is typed but not yet stored."""
    about_to_change_study = Signal()
    """The current study is about to change (or the model to reset): editors commit what is
    typed but not yet stored, while it still goes to the study it was typed for."""
    roi_focus_requested = Signal(str)
    """Undo or redo changed this ROI: show it."""
    measurements_changed = Signal(str)
    """StudyInstanceUID whose rulers, node axes or cricoid level changed."""
    measurement_selection_changed = Signal(object)
    """The selected measurement id (a ruler, node axes or the cricoid level), or None."""
    measurement_focus_requested = Signal(str)
    """Undo or redo changed this measurement: show it."""

    def __init__(self, store: Optional[AnnotationStore] = None, parent: Optional[QObject] = None) -> None:
        super().__init__(store, parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("annotationUndoStack")
        self.kind = RoiKind.TUMOUR
        self.margin = ContextMargin()
        self.selected_id: Optional[str] = None
        self.selected_measurement_id: Optional[str] = None
        self.current_uid: Optional[str] = None

    # -- studies ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """A new folder was opened: forget saved sets, keep unsaved ones, clear undo and selection."""
        self.about_to_change_study.emit()
        self.flush()
        for uid, study in list(self._studies.items()):
            if not study.unsaved:
                study.close()
                del self._studies[uid]
        self._refused.clear()
        self._examples.clear()
        self.undo_stack.clear()
        self.select(None)
        self.set_current_study(None)

    @property
    def current(self) -> Optional[AnnotationSet]:
        """The annotations of the current study (the one the active viewport shows)."""
        return self.study(self.current_uid)

    def set_current_study(self, study_uid: Optional[str]) -> None:
        """Make ``study_uid`` the study the ROI list and the label panel show."""
        if study_uid is not None:
            self.study(study_uid)
        if study_uid != self.current_uid:
            self.about_to_change_study.emit()
            self.current_uid = study_uid
            self.current_study_changed.emit(study_uid)

    def find(self, roi_id: Optional[str]) -> Optional[RectRoi]:
        """The ROI with that id in any loaded study, or None."""
        if roi_id is None:
            return None
        for state in self._studies.values():
            if roi_id in state.annotations:
                return state.annotations.get(roi_id)
        return None

    def rois_on(self, study_uid: str, sop_instance_uid: str, frame_number: Optional[int]) -> list[RectRoi]:
        """ROIs drawn on one image of a study."""
        annotations = self.study(study_uid)
        return annotations.for_instance(sop_instance_uid, frame_number) if annotations is not None else []

    # -- edits (each one undo step) --------------------------------------------------------------

    def add_roi(self, roi: RectRoi) -> bool:
        """Add a ROI to its study's set and select it; False if the study cannot hold ROIs."""
        annotations = self.study(roi.study_instance_uid)
        if annotations is None:
            reason = self._refused.get(roi.study_instance_uid, "its study is not open")
            self.problem.emit("Cannot add the ROI", reason)
            return False
        if self._push(annotations, f"Draw {KIND_NAMES[roi.kind]} ROI", lambda: annotations.add(roi), roi.id):
            self.select(roi.id)
            return True
        return False

    def delete_roi(self, roi_id: Optional[str] = None) -> bool:
        """Delete a ROI (the selected one by default)."""
        roi_id = roi_id or self.selected_id
        annotations = self._set_of(roi_id)
        if annotations is None or roi_id is None:
            return False
        kind = KIND_NAMES[annotations.get(roi_id).kind]
        return self._push(annotations, f"Delete {kind} ROI", lambda: annotations.remove(roi_id), roi_id)

    def set_roi_box(self, roi_id: str, box: tuple[float, float, float, float]) -> bool:
        """Give a ROI new edges (a move or a resize); nothing happens if they are unchanged."""
        annotations = self._set_of(roi_id)
        if annotations is None:
            return False
        old = annotations.get(roi_id)
        box = tuple(float(v) for v in box)  # type: ignore[assignment]
        if box == old.box:
            return False
        try:
            new = old.with_box(*box)
        except AnnotationError as exc:
            self.problem.emit("Cannot change the ROI", str(exc))
            return False
        moved = abs(new.height - old.height) < 1e-9 and abs(new.width - old.width) < 1e-9
        text = "Move ROI" if moved else "Resize ROI"
        return self._push(annotations, text, lambda: annotations.update(new), roi_id)

    def set_roi_kind(self, roi_id: str, kind: Union[RoiKind, str]) -> bool:
        """Change what a ROI outlines."""
        annotations = self._set_of(roi_id)
        kind = RoiKind(kind)
        if annotations is None or annotations.get(roi_id).kind is kind:
            return False
        return self._push(annotations, f"Mark ROI as {KIND_NAMES[kind]}",
                          lambda: annotations.set_kind(roi_id, kind), roi_id)

    def set_kind(self, kind: Union[RoiKind, str]) -> None:
        """Choose the kind the next drawn ROIs get; existing ROIs keep theirs (see :meth:`set_roi_kind`)."""
        self._show_kind(RoiKind(kind))

    def _show_kind(self, kind: RoiKind) -> None:
        if kind is not self.kind:
            self.kind = kind
            self.kind_changed.emit(kind.value)

    def set_label(self, *, stage: Optional[Union[Stage, str]] = None, reviewer: Optional[str] = None,
                  note: Optional[str] = None, source: object = _BY_HAND) -> bool:
        """Change the current study's patient label (the fields given); one undo step.

        A stage changed by hand (no ``source``) is the clinician's own: it drops the record that
        the stage came from TNM. ``source`` (``"tnm:IVA"``, see
        :func:`~npc_desktop.core.annotation.labels.tnm_source`) says where a new stage came from.
        """
        annotations = self.current
        if annotations is None:
            return False
        old = annotations.label
        changes: dict[str, Any] = {}
        if stage is not None and Stage(stage) is not old.stage:
            changes["stage"] = Stage(stage)
        if source is not _BY_HAND and source != old.source:
            changes["source"] = source
        elif "stage" in changes and source is _BY_HAND and old.source is not None:
            changes["source"] = None
        if reviewer is not None and (reviewer.strip() or None) != old.reviewer:
            changes["reviewer"] = reviewer.strip() or None
        if note is not None and note != old.note:
            changes["note"] = note
        if not changes:
            return False
        try:
            new = replace(old, modified=utc_now(), **changes)
        except AnnotationError as exc:
            self.problem.emit("Cannot change the patient label", str(exc))
            return False
        text = {"stage": "Set Stage", "source": "Set Stage", "reviewer": "Set Reviewer",
                "note": "Edit Note"}[next(iter(changes))]
        if source is not _BY_HAND and source is not None:
            text = "Use TNM Stage"
        elif len(changes) > 1 and set(changes) != {"stage", "source"}:
            text = "Edit Patient Label"
        return self._push(annotations, text, lambda: annotations.set_label(new))

    def set_tnm_form(self, form: Optional[Mapping[str, Any]], text: str = "Edit TNM Form") -> bool:
        """Store the current study's TNM form (a ``TnmForm.to_dict()``); one undo step, autosaved.

        Nothing happens when the form is unchanged. ``text`` is what the Edit menu says.
        """
        annotations = self.current
        if annotations is None or annotations.tnm_form == (None if form is None else dict(form)):
            return False
        return self._push(annotations, text, lambda: annotations.set_tnm_form(form))

    def import_rois(self, rois: Iterable[RectRoi], source: str) -> str:
        """Add imported ROIs in one undo step; returns a one-line summary (see
        :meth:`~npc_desktop.gui.annotation.measurement_edits.MeasurementEdits.import_annotations`)."""
        return self.import_annotations(rois, source)

    def _set_of(self, roi_id: Optional[str]) -> Optional[AnnotationSet]:
        for state in self._studies.values():
            if roi_id is not None and roi_id in state.annotations:
                return state.annotations
        return None

    def _push(self, annotations: AnnotationSet, text: str, operation: Operation,
              roi_id: Optional[str] = None) -> bool:
        reason = self.read_only_reason(annotations.study_instance_uid)
        if reason is not None:
            self.problem.emit("Annotations are read-only", f"{reason}\n\n{READ_ONLY_ADVICE}")
            self.rois_changed.emit(annotations.study_instance_uid)  # views show the stored state again
            return False
        command = AnnotationCommand(annotations, text, operation, roi_id)
        self.undo_stack.push(command)
        if command.error is not None:
            self.problem.emit("The change was not made", str(command.error))
            return False
        return True

    # -- selection and settings ------------------------------------------------------------------

    def select(self, roi_id: Optional[str]) -> None:
        """Select a ROI by id (None clears the selection)."""
        if roi_id is not None and self.find(roi_id) is None:
            roi_id = None
        if roi_id is not None:
            self.select_measurement(None)
        if roi_id != self.selected_id:
            self.selected_id = roi_id
            self.selection_changed.emit(roi_id)

    def set_margin(self, margin: ContextMargin) -> None:
        """The context margin of the patch preview."""
        if margin != self.margin:
            self.margin = margin
            self.margin_changed.emit(margin)

    # -- history ---------------------------------------------------------------------------------

    def undo(self) -> None:
        """Undo the last change and show the ROI it concerned."""
        self.about_to_change_history.emit()
        if self.undo_stack.canUndo():
            self.undo_stack.undo()
            self._focus(self.undo_stack.command(self.undo_stack.index()))

    def redo(self) -> None:
        """Redo the last undone change and show the ROI it concerns."""
        self.about_to_change_history.emit()
        if self.undo_stack.canRedo():
            self.undo_stack.redo()
            self._focus(self.undo_stack.command(self.undo_stack.index() - 1))

    def _focus(self, command: object) -> None:
        roi_id = _roi_of(command)
        if self._focus_measurement(roi_id):
            return
        if roi_id is not None and self.find(roi_id) is not None:
            self.select(roi_id)
            self.roi_focus_requested.emit(roi_id)

    def _forget_history(self) -> None:
        self.undo_stack.clear()
        self.select(None)
        self.select_measurement(None)

    def _on_event(self, uid: str, event: AnnotationEvent) -> None:
        super()._on_event(uid, event)
        if isinstance(event, LabelChanged):
            self.label_changed.emit(uid, event.new)
            return
        if isinstance(event, (MeasurementAdded, MeasurementRemoved, MeasurementUpdated, CricoidLevelChanged)):
            if self.find_measurement(self.selected_measurement_id) is None:
                self.select_measurement(None)
            self.measurements_changed.emit(uid)
            return
        if isinstance(event, RoiRemoved) and event.roi.id == self.selected_id:
            self.select(None)
        self.rois_changed.emit(uid)
        if getattr(event, "measurements", ()):  # a node ROI's axes left or came back with it
            if self.find_measurement(self.selected_measurement_id) is None:
                self.select_measurement(None)
            self.measurements_changed.emit(uid)


def _roi_of(command: object) -> Optional[str]:
    if isinstance(command, AnnotationCommand):
        return command.roi_id
    count = command.childCount() if hasattr(command, "childCount") else 0
    for i in range(count):
        roi_id = _roi_of(command.child(i))  # type: ignore[attr-defined]
        if roi_id is not None:
            return roi_id
    return None
