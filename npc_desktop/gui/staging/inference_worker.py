"""The long-lived inference worker (DESIGN.md section 3): one QThread that owns the ensemble.

:class:`InferenceService` lives on the GUI thread; it owns a QThread and an :class:`InferenceWorker`
moved onto it. After :meth:`InferenceService.start` the worker builds the staging engine (the
bundle, or the untrained demo) in the background on ONNX Runtime or TensorFlow, warms it up (traces
the TensorFlow graph) and emits ``ready(description)``. Every model call happens on that one thread. Requests are plain
callables ``job(engine, progress, cancel)`` run there in order; a new request supersedes the
previous one (its cancel token is set and its result, if it still arrives, is dropped).

Signals of the service (all delivered on the GUI thread):

* ``ready(str)``: the engine is loaded; the text names bundle and device (for the status bar).
* ``load_failed(str)``: the engine could not be built (one-line message).
* ``load_progress(int, int)``: building / verifying the bundle, done and total.
* ``progress(int, int)``: the current request's done and total (patch x member units).
* ``result(int, object)``: request id and its result (a :class:`~npc_desktop.core.models.results.StagingResult`).
* ``failed(int, str)``: request id and a one-line message.
* ``cancelled(int)``: the request was cancelled.

Shutdown (:meth:`InferenceService.shutdown`): set abort, quit the thread, wait for it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Mapping, Optional, Sequence

from PySide6.QtCore import QObject, QThread, Signal, Slot

from npc_desktop.core.progress import OperationCancelled, ProgressCallback
from npc_desktop.gui import qt_fixes  # noqa: F401 - PySide6 6.12 signal workaround (installed by the package)

log = logging.getLogger(__name__)

EngineFactory = Callable[[ProgressCallback, threading.Event], Any]
"""``factory(progress, cancel) -> StagingEngine``; runs on the worker thread."""
InferenceJob = Callable[[Any, ProgressCallback, threading.Event], Any]
"""``job(engine, progress, cancel) -> result``; runs on the worker thread."""


def demo_engine_factory(**options: Any) -> EngineFactory:
    """A factory building the untrained demo engine (``options`` go to ``StagingEngine.demo``)."""

    def build(progress: ProgressCallback, cancel: threading.Event) -> Any:
        from npc_desktop.core.staging.engine import StagingEngine

        return StagingEngine.demo(progress=progress, cancel=cancel, **options)

    return build


def bundle_engine_factory(path: str, **options: Any) -> EngineFactory:
    """A factory loading and verifying the bundle folder ``path``."""

    def build(progress: ProgressCallback, cancel: threading.Event) -> Any:
        from npc_desktop.core.staging.engine import StagingEngine

        return StagingEngine.load(path, progress=progress, cancel=cancel, **options)

    return build


def _message(exc: BaseException) -> str:
    from npc_desktop.core.models.errors import ModelError
    from npc_desktop.core.staging.engine import StagingInputError

    if isinstance(exc, (ModelError, StagingInputError, ValueError, OSError)):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"unexpected error: {type(exc).__name__}: {exc}"


class InferenceWorker(QObject):
    """Runs on the inference thread; only :class:`InferenceService` talks to it (through signals)."""

    ready = Signal(str)
    load_failed = Signal(str)
    load_progress = Signal(int, int)
    progress = Signal(int, int, int)
    """request id, done, total"""
    result = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)

    def __init__(self, factory: EngineFactory, abort: threading.Event, *, warm_up: bool = True) -> None:
        super().__init__()
        self._factory = factory
        self._abort = abort
        self._warm_up = warm_up
        self.engine: Any = None

    @Slot()
    def load(self) -> None:
        """Build the engine (imports TensorFlow) and trace its graph."""
        try:
            engine = self._factory(lambda d, t: self.load_progress.emit(int(d), int(t)), self._abort)
            # Tracing takes seconds and cannot be interrupted: skip it when the window is closing.
            if self._abort.is_set():
                return
            if self._warm_up:
                engine.warm_up()
        except OperationCancelled:
            return
        except Exception as exc:  # the GUI shows the message; the worker stays usable
            log.exception("loading the staging engine failed")
            self.load_failed.emit(_message(exc))
            return
        self.engine = engine
        self.ready.emit(engine.describe())

    @Slot(int, object, object)
    def run(self, request_id: int, job: InferenceJob, cancel: threading.Event) -> None:
        """Run one request unless it was cancelled while queued."""
        if cancel.is_set() or self._abort.is_set():
            self.cancelled.emit(request_id)
            return
        if self.engine is None:
            self.failed.emit(request_id, "the staging models are not loaded")
            return
        try:
            value = job(self.engine, lambda d, t: self.progress.emit(request_id, int(d), int(t)), cancel)
        except OperationCancelled:
            self.cancelled.emit(request_id)
            return
        except Exception as exc:
            log.exception("inference request %d failed", request_id)
            self.failed.emit(request_id, _message(exc))
            return
        self.result.emit(request_id, value)


class InferenceService(QObject):
    """GUI-thread front of the inference thread (see the module docstring).

    Parameters
    ----------
    factory
        Builds the engine on the worker thread; the untrained demo at native sizes when None.
    warm_up
        Trace the graph right after loading so the first request is fast.
    parent
        Qt parent.
    """

    ready = Signal(str)
    load_failed = Signal(str)
    load_progress = Signal(int, int)
    progress = Signal(int, int)
    result = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    _load_requested = Signal()
    _run_requested = Signal(int, object, object)

    def __init__(
        self, factory: Optional[EngineFactory] = None, *, warm_up: bool = True, parent: Optional[QObject] = None
    ) -> None:
        super().__init__(parent)
        self._abort = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName("npc-inference")
        self._worker = InferenceWorker(factory or demo_engine_factory(), self._abort, warm_up=warm_up)
        self._worker.moveToThread(self._thread)
        # No deleteLater on the thread's finished signal: the worker would then be destroyed on its own
        # thread, where PySide's destructor hooks wait for the GIL while holding Qt's signal lock, and a
        # GUI-thread signal emitted at that moment (holding the GIL) deadlocks both. The worker goes
        # with this service's Python object instead, on the GUI thread, after the thread has ended.
        self._load_requested.connect(self._worker.load)
        self._run_requested.connect(self._worker.run)
        self._worker.ready.connect(self._on_ready)
        self._worker.load_failed.connect(self.load_failed)
        self._worker.load_progress.connect(self.load_progress)
        self._worker.progress.connect(self._on_progress)
        self._worker.result.connect(self._on_result)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._next_id = 1
        self._current: Optional[int] = None
        self._cancel: Optional[threading.Event] = None
        self.description = ""
        self.is_ready = False

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread and load the engine in the background."""
        if not self._thread.isRunning():
            self._thread.start()
            self._load_requested.emit()

    def shutdown(self, timeout_ms: Optional[int] = 30000) -> bool:
        """Abort the running request, stop the thread and wait for it; True if it stopped.

        Parameters
        ----------
        timeout_ms
            How long to wait; None waits until the thread has stopped (the work in flight, at most
            one member build or one fused batch, finishes first).
        """
        self._abort.set()
        if self._cancel is not None:
            self._cancel.set()
        self._current = None
        self._thread.quit()
        if not self._thread.isRunning():
            return True
        if timeout_ms is None:
            return bool(self._thread.wait())
        return bool(self._thread.wait(timeout_ms))

    @property
    def busy(self) -> bool:
        """Whether a request is pending or running."""
        return self._current is not None

    # -- requests ---------------------------------------------------------------------------------

    def submit(self, job: InferenceJob) -> int:
        """Queue ``job(engine, progress, cancel)`` on the worker, superseding the current request.

        Returns
        -------
        int
            The request id carried by ``result`` / ``failed`` / ``cancelled``.
        """
        if self._cancel is not None:
            self._cancel.set()
        request_id = self._next_id
        self._next_id += 1
        self._current = request_id
        self._cancel = threading.Event()
        self._run_requested.emit(request_id, job, self._cancel)
        return request_id

    def stage(self, items: Sequence[Any]) -> int:
        """Stage :class:`~npc_desktop.core.staging.engine.StagingItem` objects; returns the request id."""
        items = list(items)
        return self.submit(lambda engine, progress, cancel: engine.stage(items, progress=progress, cancel=cancel))

    def stage_annotations(self, annotations: Any, volumes: Mapping[str, Any], **options: Any) -> int:
        """Stage every ROI of ``annotations`` (copied here, on the GUI thread) on loaded ``volumes``."""
        from npc_desktop.core.annotation.annotation_set import AnnotationSet

        snapshot = AnnotationSet.from_dict(annotations.to_dict())
        series = dict(volumes)
        return self.submit(
            lambda engine, progress, cancel: engine.stage_annotations(
                snapshot, series, progress=progress, cancel=cancel, **options
            )
        )

    def cancel(self) -> None:
        """Cancel the current request (a ``cancelled`` signal follows)."""
        if self._cancel is not None:
            self._cancel.set()

    # -- worker signals (GUI thread) --------------------------------------------------------------

    @Slot(str)
    def _on_ready(self, description: str) -> None:
        self.description = description
        self.is_ready = True
        self.ready.emit(description)

    @Slot(int, int, int)
    def _on_progress(self, request_id: int, done: int, total: int) -> None:
        if request_id == self._current:
            self.progress.emit(done, total)

    def _finish(self, request_id: int) -> bool:
        if request_id != self._current:
            return False  # superseded: drop it
        self._current = None
        self._cancel = None
        return True

    @Slot(int, object)
    def _on_result(self, request_id: int, value: Any) -> None:
        cancel = self._cancel
        if self._finish(request_id):
            if cancel is not None and cancel.is_set():
                self.cancelled.emit(request_id)
            else:
                self.result.emit(request_id, value)

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        if self._finish(request_id):
            self.failed.emit(request_id, message)

    @Slot(int)
    def _on_cancelled(self, request_id: int) -> None:
        if self._finish(request_id):
            self.cancelled.emit(request_id)
