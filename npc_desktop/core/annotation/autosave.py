"""Save an annotation set through the store on every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.events import AnnotationEvent
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.store_results import AnnotationSaveError, CorruptAnnotationFile, SaveResult


@dataclass
class _Stats:
    saves: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0


class Autosaver:
    """Save an annotation set on every change.

    Parameters
    ----------
    store
        Where to save.
    annotations
        The set to watch; the autosaver subscribes to its events.
    on_error
        Called with the :class:`AnnotationSaveError` when a save fails (an
        :class:`AnnotationConflict` when another program changed the file). Without it the
        error is raised from the edit operation (after every other subscriber has run). Either
        way the change stays in memory and the next change or :meth:`flush` retries.
    on_problem
        Called with a :class:`CorruptAnnotationFile` when a save found a bad file on disk and
        moved it aside.

    Notes
    -----
    Saving is synchronous: the files are a few kilobytes and a save takes about a millisecond
    (``stats`` measures it), which is less than a mouse release's worth of latency.
    """

    def __init__(
        self,
        store: AnnotationStore,
        annotations: AnnotationSet,
        *,
        on_error: Optional[Callable[[AnnotationSaveError], Any]] = None,
        on_problem: Optional[Callable[[CorruptAnnotationFile], Any]] = None,
    ) -> None:
        self.store = store
        self.annotations = annotations
        self.on_error = on_error
        self.on_problem = on_problem
        self.pending = False
        self.last_error: Optional[AnnotationSaveError] = None
        self.stats = _Stats()
        self._disconnect: Optional[Callable[[], None]] = annotations.events.connect(self._changed)

    def _changed(self, event: AnnotationEvent) -> None:
        self.pending = True
        self.flush()

    def flush(self, *, replace_changed: bool = False) -> Optional[SaveResult]:
        """Save now if there are unsaved changes; returns the save's result, or None.

        ``replace_changed`` is passed to :meth:`AnnotationStore.save` (resolving a conflict in
        favour of these annotations).
        """
        if not self.pending:
            return None
        try:
            result = self.store.save(self.annotations, replace_changed=replace_changed)
        except AnnotationSaveError as exc:
            self.last_error = exc
            if self.on_error is None:
                raise
            self.on_error(exc)
            return None
        self.pending = False
        self.last_error = None
        self.stats.saves += 1
        self.stats.total_seconds += result.seconds
        self.stats.max_seconds = max(self.stats.max_seconds, result.seconds)
        if result.moved_aside is not None and self.on_problem is not None:
            self.on_problem(result.moved_aside)
        return result

    def close(self) -> None:
        """Save anything pending and stop watching the set."""
        if self._disconnect is not None:
            self._disconnect()
            self._disconnect = None
        self.flush()

    def __enter__(self) -> "Autosaver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
