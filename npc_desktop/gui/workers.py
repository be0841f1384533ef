"""Short background jobs (indexing, loading, thumbnails) on a QThreadPool.

A job is a plain function ``fn(progress, cancel) -> result`` that runs on a pool thread; it
receives a progress callback and a :class:`threading.Event` as the core's cancel token. Only its
arguments and its result (numpy arrays, plain objects) cross threads; the callbacks given to
:meth:`JobRunner.submit` always run on the GUI thread (superqt's runnable + signals pattern).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from npc_desktop.core.dicom import DicomIngestError
from npc_desktop.core.progress import OperationCancelled, ProgressCallback

log = logging.getLogger(__name__)

JobFunction = Callable[[ProgressCallback, threading.Event], Any]


class JobError(Exception):
    """A job failed for a reason the user can act on; the message is shown as it is."""


class JobSignals(QObject):
    """Signals of one job; emitted on a pool thread, delivered queued on the GUI thread."""

    progress = Signal(int, int, int)
    """job id, done, total"""
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)


class Job(QRunnable):
    """Run one job function on a pool thread and report through :class:`JobSignals`."""

    def __init__(self, job_id: int, fn: JobFunction, cancel: threading.Event) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.job_id = job_id
        self.fn = fn
        self.cancel = cancel
        self.signals = JobSignals()
        self._last_percent = -1

    def _progress(self, done: int, total: int) -> None:
        percent = int(100 * done / total) if total > 0 else -1
        if percent != self._last_percent or done == total:
            self._last_percent = percent
            self.signals.progress.emit(self.job_id, int(done), int(total))

    def run(self) -> None:  # noqa: D102 - QRunnable API
        if self.cancel.is_set():
            self.signals.cancelled.emit(self.job_id)
            return
        try:
            result = self.fn(self._progress, self.cancel)
        except OperationCancelled:
            self.signals.cancelled.emit(self.job_id)
        except (DicomIngestError, JobError) as exc:
            self.signals.failed.emit(self.job_id, str(exc))
        except MemoryError:
            self.signals.failed.emit(self.job_id, "not enough memory for this series")
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # a native extension's panic is a BaseException; the user gets a message
            log.exception("background job %d failed", self.job_id)
            self.signals.failed.emit(self.job_id, f"unexpected error: {exc.__class__.__name__}: {exc}")
        else:
            if self.cancel.is_set():
                self.signals.cancelled.emit(self.job_id)
            else:
                self.signals.finished.emit(self.job_id, result)


@dataclass
class JobHandle:
    """A submitted job as the GUI thread sees it."""

    job_id: int
    label: str
    cancel: threading.Event
    foreground: bool
    done: int = 0
    total: int = 0
    on_done: Optional[Callable[[Any], None]] = None
    on_failed: Optional[Callable[[str], None]] = None
    on_cancelled: Optional[Callable[[], None]] = None
    job: Optional[Job] = field(default=None, repr=False)

    def request_cancel(self) -> None:
        """Ask the job to stop; its callbacks will report it cancelled."""
        self.cancel.set()


class JobRunner(QObject):
    """Submit jobs to a thread pool and route their outcome to GUI-thread callbacks.

    Foreground jobs (indexing, loading) are what the progress bar shows and the cancel button
    stops; background jobs (thumbnails) stay invisible.
    """

    progress_changed = Signal(str, int, int)
    """label of the first running foreground job, done, total (summed over foreground jobs)"""
    busy_changed = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None, max_threads: int = 3) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._jobs: dict[int, JobHandle] = {}
        self._next_id = 1
        self._busy = False

    @property
    def busy(self) -> bool:
        """True while a foreground job runs."""
        return self._busy

    def submit(
        self,
        label: str,
        fn: JobFunction,
        on_done: Callable[[Any], None],
        *,
        on_failed: Optional[Callable[[str], None]] = None,
        on_cancelled: Optional[Callable[[], None]] = None,
        foreground: bool = True,
    ) -> JobHandle:
        """Start ``fn`` on a pool thread.

        Parameters
        ----------
        label
            What the progress bar says, e.g. "Loading T2".
        fn
            ``fn(progress, cancel) -> result``; runs off the GUI thread.
        on_done, on_failed, on_cancelled
            Called on the GUI thread with the result, the user message, or nothing.
        foreground
            Whether the job shows in the progress bar and is stopped by :meth:`cancel_foreground`.
        """
        job_id = self._next_id
        self._next_id += 1
        cancel = threading.Event()
        job = Job(job_id, fn, cancel)
        handle = JobHandle(job_id, label, cancel, foreground, on_done=on_done,
                           on_failed=on_failed, on_cancelled=on_cancelled, job=job)
        job.signals.progress.connect(self._on_progress)
        job.signals.finished.connect(self._on_finished)
        job.signals.failed.connect(self._on_failed)
        job.signals.cancelled.connect(self._on_cancelled)
        self._jobs[job_id] = handle
        self.pool.start(job)
        self._report()
        return handle

    def cancel_foreground(self) -> None:
        """Cancel every running foreground job."""
        for handle in list(self._jobs.values()):
            if handle.foreground:
                handle.request_cancel()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel everything and wait for the pool threads to finish."""
        for handle in self._jobs.values():
            handle.request_cancel()
        self.pool.clear()
        self.pool.waitForDone(timeout_ms)
        self._jobs.clear()

    def _take(self, job_id: int) -> Optional[JobHandle]:
        handle = self._jobs.pop(job_id, None)
        self._report()
        return handle

    @Slot(int, int, int)
    def _on_progress(self, job_id: int, done: int, total: int) -> None:
        handle = self._jobs.get(job_id)
        if handle is not None:
            handle.done, handle.total = done, total
            if handle.foreground:
                self._report()

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: Any) -> None:
        handle = self._take(job_id)
        if handle is None:
            return
        if handle.cancel.is_set():  # cancelled after the work finished: the result is stale
            if handle.on_cancelled is not None:
                handle.on_cancelled()
        elif handle.on_done is not None:
            handle.on_done(result)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        handle = self._take(job_id)
        if handle is not None and handle.on_failed is not None:
            handle.on_failed(message)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        handle = self._take(job_id)
        if handle is not None and handle.on_cancelled is not None:
            handle.on_cancelled()

    def _report(self) -> None:
        running = [h for h in self._jobs.values() if h.foreground]
        busy = bool(running)
        if running:
            done = sum(h.done for h in running)
            total = sum(h.total for h in running)
            self.progress_changed.emit(running[0].label, done, total)
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
