"""Decode compressed pixel data in reused worker processes, so that a decoder crash cannot end the app.

A native decoder that dereferences a bad pointer or aborts kills its process; no ``except`` clause
can stop that. Compressed instances are therefore decoded in a small pool of worker processes
(started once, on first use, with the ``spawn`` method so that no GUI thread state is copied).
When a worker dies, the file it was decoding is retried alone in a fresh process, which names the
culprit exactly even when several threads share the pool, and the caller gets a typed error.
Uncompressed pixel data never comes here: it is read in place.

Setting the environment variable ``NPC_DESKTOP_DECODE_IN_PROCESS=1`` decodes in the calling
process instead (faster to start; a decoder panic is still caught, a hard crash is not).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Optional

from npc_desktop.core.dicom.decoders import PROPAGATE, DecodedPixels, describe_failure, read_and_decode
from npc_desktop.core.dicom.errors import PixelDataError

_log = logging.getLogger(__name__)

IN_PROCESS_ENV = "NPC_DESKTOP_DECODE_IN_PROCESS"
DEFAULT_TIMEOUT_S = 60.0
"""Longest one instance may take to decode before its worker is stopped."""


class WorkerCrashed(Exception):
    """The worker process died (a signal or a non-zero exit) while running the call."""


class WorkerTimedOut(Exception):
    """The call did not finish in time; its worker was stopped."""


def _prepare_worker() -> None:
    # Ctrl+C reaches the whole process group; the parent decides what stops, not the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A native decoder's panic message and backtrace would land on the user's terminal; the
    # failure travels back to the parent as a one-line problem instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _exit_text(exitcode: Optional[int]) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


def _child_main(connection: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    _prepare_worker()
    connection.send(fn(*args))
    connection.close()


class DecodePool:
    """A lazily started, reused pool of worker processes that survives the death of a worker.

    Parameters
    ----------
    workers
        Number of worker processes; defaults to the CPU count, at most 4.
    timeout_s
        Longest time one call may take.
    """

    def __init__(self, workers: Optional[int] = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._executor: Optional[ProcessPoolExecutor] = None
        self.restarts = 0
        self.available: Optional[bool] = None
        """None until the first call; False when worker processes cannot start in this program."""

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                executor = ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=_prepare_worker)
                # Start a worker now, so that a call's time limit never includes a worker's start-up.
                self.available = self._starts(executor)
                self._executor = executor
            return self._executor

    def _starts(self, executor: ProcessPoolExecutor) -> bool:
        """Whether worker processes can start here at all (a ``__main__`` read from stdin cannot be re-imported)."""
        try:
            executor.submit(os.getpid).result(timeout=max(self.timeout_s, 60.0))
            return True
        except PROPAGATE:
            raise
        except BaseException as exc:  # noqa: BLE001 - any failure to start means: decode in this process
            _log.warning("decoder worker processes cannot start (%s); decoding in the app's process", exc)
            return False

    def _discard(self, executor: ProcessPoolExecutor, *, kill: bool) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
                self.restarts += 1
        if kill:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in a worker process and return its result.

        ``fn`` and its arguments and result must be picklable; ``fn`` must be a module-level
        function.

        Raises
        ------
        WorkerCrashed
            If the worker died running this call (confirmed by rerunning it alone).
        WorkerTimedOut
            If it took longer than ``timeout_s``.
        """
        for _ in range(3):
            executor = self._current()
            if not self.available:
                return fn(*args)
            try:
                future = executor.submit(fn, *args)
                break
            except (BrokenProcessPool, RuntimeError):  # broken or shut down by another thread's call
                self._discard(executor, kill=False)
        else:
            return self._call_alone(fn, args)
        try:
            return future.result(timeout=self.timeout_s)
        except BrokenProcessPool:
            # Some call crashed a worker; it may have been another thread's. Rerun this one alone.
            self._discard(executor, kill=False)
        except FutureTimeout:
            self._discard(executor, kill=True)
            raise WorkerTimedOut(f"it took longer than {self.timeout_s:g} s") from None
        return self._call_alone(fn, args)

    def _call_alone(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_child_main, args=(sender, fn, args), daemon=True)
        process.start()
        sender.close()
        try:
            if not receiver.poll(self.timeout_s):
                process.kill()
                process.join()
                raise WorkerTimedOut(f"it took longer than {self.timeout_s:g} s")
            try:
                return receiver.recv()
            except (EOFError, OSError):
                process.join(5)
                raise WorkerCrashed(_exit_text(process.exitcode)) from None
        finally:
            receiver.close()
            if process.is_alive():
                process.join(5)

    def shutdown(self) -> None:
        """Stop the worker processes (a later call starts new ones)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_shared_lock = threading.Lock()
_shared: Optional[DecodePool] = None


def shared_pool() -> DecodePool:
    """The process-wide decode pool, created on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = DecodePool()
        return _shared


def isolation_enabled() -> bool:
    """True unless ``NPC_DESKTOP_DECODE_IN_PROCESS`` is set to a true value."""
    return os.environ.get(IN_PROCESS_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def _decode_job(path: str, member: Optional[str], name: str) -> tuple[str, Any]:
    """Worker side: decode and return ``("ok", DecodedPixels)`` or ``("error", problem)``."""
    try:
        return "ok", read_and_decode(path, member, name)
    except PixelDataError as exc:
        return "error", exc.problem
    except PROPAGATE:
        raise
    except BaseException as exc:
        return "error", f"pixel data cannot be decoded: {describe_failure(exc)}"


def decode_file(path: str, member: Optional[str], name: str, syntax: str) -> DecodedPixels:
    """Decode a file's compressed pixel data, in the decode pool unless isolation is switched off.

    Parameters
    ----------
    path, member
        The file, or the zip archive and its member.
    name
        The file's name for messages.
    syntax
        The transfer syntax, for messages (``'Name (UID)'``).

    Raises
    ------
    PixelDataError
        If the data cannot be decoded, a decoder crashed its worker, or decoding took too long.
    """
    if not isolation_enabled():
        return read_and_decode(path, member, name)
    pool = shared_pool()
    try:
        status, payload = pool.call(_decode_job, path, member, name)
    except WorkerCrashed as exc:
        raise PixelDataError(name, f"the {syntax} decoder crashed ({exc}); the image was not decoded") from None
    except WorkerTimedOut as exc:
        raise PixelDataError(name, f"decoding {syntax} stopped: {exc}") from None
    if status != "ok":
        raise PixelDataError(name, str(payload))
    return payload
