"""Opening a study in two background steps: index it, then load the series shown first.

The :class:`~npc_desktop.gui.viewer.viewer_session.ViewerSession` swaps a new study in only once both steps
succeeded. A study that cannot be shown (a truncated file, a series that does not decode, a folder
without images) therefore leaves the open study, its ROIs and its staging result as they were, and
never reaches the recent-studies list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from npc_desktop.core.dicom import SeriesInfo
from npc_desktop.gui.state import IngestMessage, LoadedSeries
from npc_desktop.gui.viewer import loading
from npc_desktop.gui.workers import JobHandle, JobRunner


@dataclass(frozen=True)
class ReadyStudy:
    """A study that is indexed and whose first series is loaded: ready to replace the open one."""

    opened: loading.OpenedStudy
    first: SeriesInfo
    loaded: LoadedSeries


FailureCallback = Callable[[Optional[str], str, Optional[list[IngestMessage]]], None]
"""``(path or None for the demo, message naming the path, index messages or None)``."""


def display_name(path: Optional[str]) -> str:
    """How the status bar names what is being opened."""
    return "the demo study" if path is None else (Path(path).name or str(path))


def _load_failure(root: Path, series_name: str, message: str) -> str:
    where = "" if str(root) in message else f"{root}: "
    return f"{where}the series {series_name} cannot be shown: {message}"


class StudyOpener:
    """Index a path and load its first series in the background; report the outcome once.

    Parameters
    ----------
    jobs
        The session's job runner (progress bar and cancel button).
    on_ready
        Called with the :class:`ReadyStudy` when both steps succeeded.
    on_failed
        Called when the path cannot be opened or its first series cannot be loaded.
    on_status
        Called with one-line status messages (opening, cancelled).
    """

    def __init__(self, jobs: JobRunner, *, on_ready: Callable[[ReadyStudy], None], on_failed: FailureCallback,
                 on_status: Callable[[str], None]) -> None:
        self._jobs = jobs
        self._on_ready = on_ready
        self._on_failed = on_failed
        self._on_status = on_status
        self._job: Optional[JobHandle] = None
        self._attempt = 0

    @property
    def busy(self) -> bool:
        """Whether an opening is under way."""
        return self._job is not None

    def open(self, path: Optional[str]) -> None:
        """Start opening ``path`` (the demo study when None); an opening under way is cancelled."""
        self.cancel()
        self._attempt += 1
        attempt, name = self._attempt, display_name(path)
        self._on_status(f"Opening {name}…")
        self._job = self._jobs.submit(
            f"Indexing {name}",
            lambda progress, cancel: loading.open_job(path, progress, cancel),
            lambda opened: self._indexed(attempt, path, opened),
            on_failed=lambda message: self._fail(attempt, path, message),
            on_cancelled=lambda: self._cancelled(attempt, name),
        )

    def cancel(self) -> None:
        """Stop the opening under way, if any (the open study stays)."""
        if self._job is not None:
            self._job.request_cancel()
            self._job = None

    def _indexed(self, attempt: int, path: Optional[str], opened: loading.OpenedStudy) -> None:
        if attempt != self._attempt:
            return
        index = opened.index
        if not index.image_series():
            self._fail(attempt, path, f"{index.root}: {index.no_images_reason()}", loading.index_messages(index))
            return
        first = index.default_series()
        series_name = first.description or first.modality or first.key
        self._job = self._jobs.submit(
            f"Loading {series_name}",
            lambda progress, cancel: loading.load_job(first, index, progress, cancel),
            lambda loaded: self._loaded(attempt, opened, first, loaded),
            on_failed=lambda message: self._fail(attempt, path, _load_failure(index.root, series_name, message)),
            on_cancelled=lambda: self._cancelled(attempt, display_name(path)),
        )

    def _loaded(self, attempt: int, opened: loading.OpenedStudy, first: SeriesInfo, loaded: LoadedSeries) -> None:
        if attempt == self._attempt:
            self._job = None
            self._on_ready(ReadyStudy(opened, first, loaded))

    def _fail(self, attempt: int, path: Optional[str], message: str,
              messages: Optional[list[IngestMessage]] = None) -> None:
        if attempt == self._attempt:
            self._job = None
            self._on_failed(path, message, messages)

    def _cancelled(self, attempt: int, name: str) -> None:
        if attempt == self._attempt:
            self._job = None
            self._on_status(f"Opening {name} cancelled; the open study stays")
