"""The annotation files of the open studies: loading, study locks, autosave and conflicts.

:class:`StudyFiles` keeps one :class:`~npc_desktop.core.annotation.annotation_set.AnnotationSet`
per study, loaded from the :class:`~npc_desktop.core.annotation.store.AnnotationStore` the first
time a series of that study is shown, and saved by an
:class:`~npc_desktop.core.annotation.autosave.Autosaver` on every change. It is the base of the
:class:`~npc_desktop.gui.annotation.annotation_model.AnnotationModel`, which adds the edits.

Nothing the user made is dropped because of an error: a set whose last save failed stays in
memory when another study is opened, and it is used (and saved) again if its study reopens.

While a study is loaded its advisory lock is held, so another NPC Desktop window shows that
study read-only instead of overwriting it. If another program changes the file anyway, the
edits are written to a conflict file and the user chooses which version to keep
(:meth:`StudyFiles.resolve_conflict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from PySide6.QtCore import QObject, Signal

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.autosave import Autosaver
from npc_desktop.core.annotation.events import AnnotationEvent
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.store_results import (
    AnnotationConflict,
    AnnotationSaveError,
    CorruptAnnotationFile,
    LoadSource,
    UnreadableAnnotationFile,
)
from npc_desktop.core.annotation.study_lock import StudyLock, StudyLocked
from npc_desktop.core.annotation.validation import AnnotationError

_SAVE_ADVICE = ("Your edits are kept in memory and saving is retried with every change "
                "(or File > Save Annotations Now). Check the disk space and the permissions of {folder}.")
_CONFLICT_ADVICE = ("Choose File > Save Annotations Now (Ctrl+S) to keep your version or load the "
                    "other one; neither is lost.")
READ_ONLY_ADVICE = ("Its annotations are shown read-only here, so neither window overwrites the other's "
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


class StudyFiles(QObject):
    """The open studies' annotation sets and their files (see the module docstring).

    Parameters
    ----------
    store
        Where annotation files live; the user data folder by default. Tests inject a store on a
        temporary folder.
    parent
        The owning QObject.
    """

    rois_changed = Signal(str)
    """StudyInstanceUID whose ROIs changed (added, removed, moved, kind changed, reloaded)."""
    label_changed = Signal(str, object)
    """StudyInstanceUID, its new PatientLabel."""
    save_state_changed = Signal(bool, str)
    """Whether every change is saved, and a one-line description."""
    problem = Signal(str, str)
    """title, message: something the user must know (a corrupt file moved aside, a failed save)."""

    def __init__(self, store: Optional[AnnotationStore] = None, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else AnnotationStore()
        self._studies: dict[str, StudyAnnotations] = {}
        self._refused: dict[str, str] = {}
        self._examples: dict[str, list[RectRoi]] = {}
        self._failing: set[str] = set()
        self._conflicts: dict[str, AnnotationConflict] = {}

    # -- hooks of the model ------------------------------------------------------------------------

    def _on_event(self, uid: str, event: AnnotationEvent) -> None:
        """A loaded set changed (the model announces what changed)."""
        state = self._studies.get(uid)
        if state is not None:
            self._check_saved(uid, state)

    def _forget_history(self) -> None:
        """A set was replaced by another version: undo steps and selection refer to the old one."""

    # -- studies -----------------------------------------------------------------------------------

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
                              f"{read_only}\n\n{READ_ONLY_ADVICE}\n\n(Lock file: {locked.path})")
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

    def refusal(self, study_uid: str) -> Optional[str]:
        """Why a study cannot hold annotations, or None."""
        return self._refused.get(study_uid)

    def read_only_reason(self, study_uid: Optional[str]) -> Optional[str]:
        """Why a loaded study's annotations cannot be edited here (open in another window), or None."""
        state = self._studies.get(study_uid) if study_uid else None
        return state.read_only if state is not None else None

    def record_staging(self, study_uid: str, record: Optional[dict]) -> None:
        """Keep a study's last staging result (its JSON form) in its annotation file; not an undo step."""
        state = self._studies.get(study_uid)
        if state is None:
            return
        state.annotations.last_staging = record
        if state.autosaver is not None:
            state.autosaver.pending = True
            self._flush_one(study_uid, state)

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
        self._forget_history()
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
