"""The annotations of the open studies: loading, autosave, undo/redo, selection, drawing kind.

:class:`AnnotationModel` belongs to the :class:`~npc_desktop.gui.session.SessionModel`. It keeps
one :class:`~npc_desktop.core.annotation.annotation_set.AnnotationSet` per study, loaded from the
:class:`~npc_desktop.core.annotation.store.AnnotationStore` the first time a series of that study is
shown, and saved by an :class:`~npc_desktop.core.annotation.autosave.Autosaver` on every change. Every
change goes through one QUndoStack. Widgets call its methods and subscribe to its signals.

Nothing the user made is dropped because of an error: a set whose last save failed stays in
memory when another study is opened, and it is used (and saved) again if its study reopens.

While a study is loaded its advisory lock is held, so another NPC Desktop window shows that
study read-only instead of overwriting it. If another program changes the file anyway, the
edits are written to a conflict file and the user chooses which version to keep
(:meth:`AnnotationModel.resolve_conflict`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Optional, Sequence, Union

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from npc_desktop.core.annotation.validation import AnnotationError, utc_now
from npc_desktop.core.annotation.events import AnnotationEvent, LabelChanged, RoiRemoved
from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.labels import Stage
from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.annotation.store_results import (
    AnnotationConflict,
    AnnotationSaveError,
    CorruptAnnotationFile,
    LoadSource,
    UnreadableAnnotationFile,
)
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.autosave import Autosaver
from npc_desktop.core.annotation.study_lock import StudyLock, StudyLocked
from npc_desktop.gui.annotation_commands import AnnotationCommand, Operation
from npc_desktop.gui.roi_style import KIND_NAMES

_SAVE_ADVICE = ("Your edits are kept in memory and saving is retried with every change "
                "(or File > Save Annotations Now). Check the disk space and the permissions of {folder}.")
_CONFLICT_ADVICE = ("Choose File > Save Annotations Now (Ctrl+S) to keep your version or load the "
                    "other one; neither is lost.")
_READ_ONLY_ADVICE = ("Its annotations are shown read-only here, so neither window overwrites the other's "
                     "work. To edit here, close the study there and open it again here.")


@dataclass
class StudyAnnotations:
    """The annotations of one study with the autosaver that writes them (None when the study is
    read-only here) and the study's lock (None when it could not be taken)."""

    annotations: AnnotationSet
    autosaver: Optional[Autosaver]
    source: LoadSource
    lock: Optional[StudyLock] = None
    read_only: Optional[str] = None
    """Why the study cannot be edited in this window, or None."""

    @property
    def unsaved(self) -> bool:
        """Whether changes are waiting to be written (the last save failed)."""
        return self.autosaver is not None and self.autosaver.pending

    def close(self) -> None:
        """Stop saving (without a last save) and release the lock."""
        if self.autosaver is not None:
            self.autosaver.pending = False
            self.autosaver.close()
        if self.lock is not None:
            self.lock.release()


class AnnotationModel(QObject):
    """ROIs and patient labels of the open studies (see the module docstring).

    Parameters
    ----------
    store
        Where annotation files live; the user data folder by default. Tests inject a store on a
        temporary folder.
    parent
        The owning QObject (the SessionModel).
    """

    rois_changed = Signal(str)
    """StudyInstanceUID whose ROIs changed (added, removed, moved, kind changed, reloaded)."""
    label_changed = Signal(str, object)
    """StudyInstanceUID, its new PatientLabel."""
    selection_changed = Signal(object)
    """The selected ROI id, or None."""
    current_study_changed = Signal(object)
    """The StudyInstanceUID the panels show, or None."""
    kind_changed = Signal(str)
    """The RoiKind value new ROIs get."""
    margin_changed = Signal(object)
    """The ContextMargin of the patch preview."""
    save_state_changed = Signal(bool, str)
    """Whether every change is saved, and a one-line description."""
    problem = Signal(str, str)
    """title, message: something the user must know (a corrupt file moved aside, a failed save)."""
    about_to_change_history = Signal()
    """Undo or redo is about to run: editors commit what is typed but not yet stored."""
    about_to_change_study = Signal()
    """The current study is about to change (or the model to reset): editors commit what is
    typed but not yet stored, while it still goes to the study it was typed for."""
    roi_focus_requested = Signal(str)
    """Undo or redo changed this ROI: show it."""

    def __init__(self, store: Optional[AnnotationStore] = None, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else AnnotationStore()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("annotationUndoStack")
        self.kind = RoiKind.TUMOUR
        self.margin = ContextMargin()
        self.selected_id: Optional[str] = None
        self.current_uid: Optional[str] = None
        self._studies: dict[str, StudyAnnotations] = {}
        self._refused: dict[str, str] = {}
        self._examples: dict[str, list[RectRoi]] = {}
        self._failing: set[str] = set()
        self._conflicts: dict[str, AnnotationConflict] = {}

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

    def offer_examples(self, study_uid: str, rois: Sequence[RectRoi]) -> None:
        """Give a study example ROIs, used only if it has no annotation file yet (the demo)."""
        self._examples[study_uid] = list(rois)

    def study(self, study_uid: Optional[str]) -> Optional[AnnotationSet]:
        """The annotation set of a study, loaded (and reported on) the first time; None if the
        study cannot hold annotations (no valid StudyInstanceUID)."""
        if not study_uid or study_uid in self._refused:
            return None
        state = self._studies.get(study_uid)
        if state is None:
            state = self._load(study_uid)
            if state is None:
                return None
        return state.annotations

    def _load(self, study_uid: str) -> Optional[StudyAnnotations]:
        try:
            annotations = AnnotationSet(study_uid)
        except AnnotationError as exc:
            self._refused[study_uid] = str(exc)
            return None
        lock, locked = self._lock(study_uid)
        read_only = None if locked is None else (
            f"This study is open in another NPC Desktop window ({locked.holder}).")
        source = LoadSource.NEW
        try:
            result = self.store.load(study_uid)
        except (CorruptAnnotationFile, UnreadableAnnotationFile) as exc:
            # Left where it is: the store refuses to save over it, so edits stay in memory.
            moved = "".join(f"{problem}\n" for problem in getattr(exc, "problems", ()))
            self.problem.emit("Annotation file cannot be read",
                              f"{moved}{exc}\n\nNew annotations are kept in memory and not saved over it; "
                              "saving is retried with every change (or File > Save Annotations Now).")
        else:
            annotations, source = result.annotations, result.source
            if result.message:
                self.problem.emit("Annotation file could not be read", result.message
                                  + "\n\nThe unreadable file is kept; it is never overwritten.")
        examples = self._examples.pop(study_uid, [])
        if source is LoadSource.NEW and examples and len(annotations) == 0:
            annotations = AnnotationSet(study_uid, examples, annotations.label)
        state = self._adopt(study_uid, annotations, source, lock, read_only)
        if locked is not None:
            self.problem.emit("Study open in another window",
                              f"{read_only}\n\n{_READ_ONLY_ADVICE}\n\n(Lock file: {locked.path})")
        elif source is LoadSource.NEW and len(annotations):
            state.autosaver.pending = True  # type: ignore[union-attr]
            self._flush_one(study_uid, state)
        return state

    def _lock(self, study_uid: str) -> tuple[Optional[StudyLock], Optional[StudyLocked]]:
        """The study's lock, or who holds it."""
        try:
            return self.store.lock(study_uid), None
        except StudyLocked as exc:
            return None, exc
        except OSError:
            return None, None  # no lock possible (the folder cannot be made): saving reports why

    def _adopt(self, study_uid: str, annotations: AnnotationSet, source: LoadSource,
               lock: Optional[StudyLock], read_only: Optional[str]) -> StudyAnnotations:
        saver = self._autosaver(study_uid, annotations) if read_only is None else None
        state = StudyAnnotations(annotations, saver, source, lock, read_only)
        self._studies[study_uid] = state
        annotations.events.connect(lambda event, uid=study_uid: self._on_event(uid, event))
        return state

    def _autosaver(self, study_uid: str, annotations: AnnotationSet) -> Autosaver:
        return Autosaver(
            self.store, annotations,
            on_error=lambda exc, uid=study_uid: self._on_save_error(uid, exc),
            on_problem=lambda moved: self.problem.emit(
                "Annotation file moved aside", f"{moved}\n\nThe current annotations were saved in its place."),
        )

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

    def refusal(self, study_uid: str) -> Optional[str]:
        """Why a study cannot hold annotations, or None."""
        return self._refused.get(study_uid)

    def read_only_reason(self, study_uid: Optional[str]) -> Optional[str]:
        """Why a loaded study's annotations cannot be edited here (open in another window), or None."""
        state = self._studies.get(study_uid) if study_uid else None
        return state.read_only if state is not None else None

    def loaded_sets(self) -> list[AnnotationSet]:
        """Every annotation set in memory."""
        return [s.annotations for s in self._studies.values()]

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
                  note: Optional[str] = None) -> bool:
        """Change the current study's patient label (the fields given); one undo step."""
        annotations = self.current
        if annotations is None:
            return False
        old = annotations.label
        changes = {}
        if stage is not None and Stage(stage) is not old.stage:
            changes["stage"] = Stage(stage)
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
        text = {"stage": "Set Stage", "reviewer": "Set Reviewer", "note": "Edit Note"}[next(iter(changes))]
        if len(changes) > 1:
            text = "Edit Patient Label"
        return self._push(annotations, text, lambda: annotations.set_label(new))

    def import_rois(self, rois: Iterable[RectRoi], source: str) -> str:
        """Add imported ROIs in one undo step; returns a one-line summary.

        ROIs whose id is already present are skipped (the current version is kept); ROIs of a
        study that cannot be loaded are skipped and counted.
        """
        added: list[tuple[AnnotationSet, RectRoi]] = []
        present = refused = 0
        for roi in rois:
            annotations = self.study(roi.study_instance_uid)
            if annotations is None or self.read_only_reason(roi.study_instance_uid) is not None:
                refused += 1
            elif roi.id in annotations or any(roi.id == r.id for _, r in added):
                present += 1
            else:
                added.append((annotations, roi))
        if added:
            self.undo_stack.beginMacro(f"Import {len(added)} ROI{'s' if len(added) > 1 else ''}")
            for annotations, roi in added:
                self._push(annotations, "Import ROI", lambda a=annotations, r=roi: a.add(r), roi.id)
            self.undo_stack.endMacro()
            self.select(added[0][1].id)
        parts = [f"{len(added)} ROI(s) imported from {source}"]
        if present:
            parts.append(f"{present} already present (kept as they are)")
        if refused:
            parts.append(f"{refused} skipped: their study cannot hold annotations or is read-only here")
        return "; ".join(parts)

    def _set_of(self, roi_id: Optional[str]) -> Optional[AnnotationSet]:
        for state in self._studies.values():
            if roi_id is not None and roi_id in state.annotations:
                return state.annotations
        return None

    def _push(self, annotations: AnnotationSet, text: str, operation: Operation,
              roi_id: Optional[str] = None) -> bool:
        reason = self.read_only_reason(annotations.study_instance_uid)
        if reason is not None:
            self.problem.emit("Annotations are read-only", f"{reason}\n\n{_READ_ONLY_ADVICE}")
            self.rois_changed.emit(annotations.study_instance_uid)  # views show the stored state again
            return False
        command = AnnotationCommand(annotations, text, operation, roi_id)
        self.undo_stack.push(command)
        if command.error is not None:
            self.problem.emit("The change was not made", str(command.error))
            return False
        return True

    def record_staging(self, study_uid: str, record: Optional[dict]) -> None:
        """Keep a study's last staging result (its JSON form) in its annotation file; not an undo step."""
        state = self._studies.get(study_uid)
        if state is None:
            return
        state.annotations.last_staging = record
        if state.autosaver is not None:
            state.autosaver.pending = True
            self._flush_one(study_uid, state)

    # -- selection and settings ------------------------------------------------------------------

    def select(self, roi_id: Optional[str]) -> None:
        """Select a ROI by id (None clears the selection)."""
        if roi_id is not None and self.find(roi_id) is None:
            roi_id = None
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
        if roi_id is not None and self.find(roi_id) is not None:
            self.select(roi_id)
            self.roi_focus_requested.emit(roi_id)

    # -- saving ----------------------------------------------------------------------------------

    @property
    def has_unsaved(self) -> bool:
        """Whether some change could not be written yet."""
        return any(state.unsaved for state in self._studies.values())

    def flush(self) -> bool:
        """Try to save every unsaved set now; True when everything is saved."""
        for uid, state in self._studies.items():
            self._flush_one(uid, state)
        return not self.has_unsaved

    def _flush_one(self, uid: str, state: StudyAnnotations) -> None:
        if state.unsaved and state.autosaver is not None:
            state.autosaver.flush()
            self._check_saved(uid, state)

    def close(self) -> None:
        """Save what is pending and release the study locks (window closing); the sets stay."""
        self.flush()
        for state in self._studies.values():
            if state.lock is not None:
                state.lock.release()
                state.lock = None

    def conflicts(self) -> dict[str, AnnotationConflict]:
        """Studies whose file another program changed, by StudyInstanceUID, with the conflict."""
        return dict(self._conflicts)

    def resolve_conflict(self, study_uid: str, *, keep_mine: bool) -> str:
        """Settle a conflict (see :meth:`conflicts`); returns a one-line summary.

        With ``keep_mine`` the annotations in memory replace the file (the other version is kept
        as a conflict file). Otherwise the other version is loaded; the annotations in memory
        stay in the conflict file written when the conflict was found, and the undo history is
        cleared (it refers to the replaced set). Nothing happens if they were not written there.
        """
        conflict = self._conflicts.get(study_uid)
        state = self._studies.get(study_uid)
        if conflict is None or state is None or state.autosaver is None:
            return "Nothing to resolve"
        if keep_mine:
            result = state.autosaver.flush(replace_changed=True)
            self._check_saved(study_uid, state)
            if result is None:
                return "Your annotations could not be saved"
            self._conflicts.pop(study_uid, None)
            return f"Your annotations were saved; the other version was kept as {result.replaced}"
        mine = self.store.conflict_path(study_uid)
        if mine is None or not mine.exists():
            self.problem.emit("Other version not loaded",
                              f"{conflict}\n\nYour annotations are only in memory, so they were not replaced.")
            return "Other version not loaded"
        try:
            result = self.store.load(study_uid)
        except (CorruptAnnotationFile, UnreadableAnnotationFile) as exc:
            self.problem.emit("Other version not loaded", str(exc))
            return "Other version not loaded"
        lock, state.lock = state.lock, None
        state.close()
        self._conflicts.pop(study_uid, None)
        self._failing.discard(study_uid)
        self.undo_stack.clear()
        self.select(None)
        fresh = self._adopt(study_uid, result.annotations, result.source, lock, None)
        self.save_state_changed.emit(not self._failing, "Annotations saved")
        self.rois_changed.emit(study_uid)
        self.label_changed.emit(study_uid, fresh.annotations.label)
        return f"The other version was loaded; yours is kept in {mine}"

    def _on_save_error(self, uid: str, error: AnnotationSaveError) -> None:
        conflict = isinstance(error, AnnotationConflict)
        first = uid not in self._failing or (conflict and uid not in self._conflicts)
        if isinstance(error, AnnotationConflict):
            self._conflicts[uid] = error
            title, message = "Annotations changed by another program", f"{error}\n\n{_CONFLICT_ADVICE}"
        else:
            title, message = "Annotations not saved", f"{error}\n\n" + _SAVE_ADVICE.format(folder=self.store.directory)
        self._failing.add(uid)
        if first:
            self.problem.emit(title, message)
        short = "the file was changed by another program (Ctrl+S to choose)" if conflict else error.problem
        self.save_state_changed.emit(False, f"Annotations NOT saved: {short}")

    def _check_saved(self, uid: str, state: StudyAnnotations) -> None:
        if uid in self._failing and not state.unsaved:
            self._failing.discard(uid)
            self._conflicts.pop(uid, None)
            self.save_state_changed.emit(not self._failing, "Annotations saved")

    def _on_event(self, uid: str, event: AnnotationEvent) -> None:
        state = self._studies.get(uid)
        if state is not None:
            self._check_saved(uid, state)
        if isinstance(event, LabelChanged):
            self.label_changed.emit(uid, event.new)
            return
        if isinstance(event, RoiRemoved) and event.roi.id == self.selected_id:
            self.select(None)
        self.rois_changed.emit(uid)


def _roi_of(command: object) -> Optional[str]:
    if isinstance(command, AnnotationCommand):
        return command.roi_id
    count = command.childCount() if hasattr(command, "childCount") else 0
    for i in range(count):
        roi_id = _roi_of(command.child(i))  # type: ignore[attr-defined]
        if roi_id is not None:
            return roi_id
    return None
