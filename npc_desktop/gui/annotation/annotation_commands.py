"""QUndoCommands around :class:`~npc_desktop.core.annotation.annotation_set.AnnotationSet` operations.

A command performs its operation once (on the first ``redo``, which ``QUndoStack.push`` calls)
and keeps the event the set returned; undo and redo then replay that event exactly with
:meth:`AnnotationSet.revert` and :meth:`AnnotationSet.apply`. Commands never merge: every
drawing, move, resize, kind change, deletion and label change is its own undo step (the label
panel commits a note in whole edits, not per keystroke).
"""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtGui import QUndoCommand

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.events import AnnotationEvent

Operation = Callable[[], AnnotationEvent]


class AnnotationCommand(QUndoCommand):
    """One undoable change of an annotation set.

    Parameters
    ----------
    annotations
        The set the operation changes.
    text
        What the Edit menu says ("Undo Move ROI").
    operation
        Performs the change on ``annotations`` and returns its event.
    roi_id
        The ROI the change concerns (None for a label change), so the GUI can select it after
        undo and redo.
    parent
        A macro command this one belongs to.
    """

    def __init__(self, annotations: AnnotationSet, text: str, operation: Operation,
                 roi_id: Optional[str] = None, parent: Optional[QUndoCommand] = None) -> None:
        super().__init__(text, parent)
        self.annotations = annotations
        self.roi_id = roi_id
        self.error: Optional[Exception] = None
        self._operation: Optional[Operation] = operation
        self._event: Optional[AnnotationEvent] = None

    @property
    def event(self) -> Optional[AnnotationEvent]:
        """The event of the performed operation (None if it failed)."""
        return self._event

    def redo(self) -> None:  # noqa: D102 - Qt API
        if self._event is not None:
            self.annotations.apply(self._event)
            return
        operation, self._operation = self._operation, None
        try:
            self._event = operation() if operation is not None else None
        except Exception as exc:  # noqa: BLE001 - handed to the caller of push, see AnnotationModel
            self.error = exc
        if self._event is None:
            # QUndoStack.push deletes an obsolete command instead of keeping it.
            self.setObsolete(True)

    def undo(self) -> None:  # noqa: D102 - Qt API
        if self._event is not None:
            self.annotations.revert(self._event)
