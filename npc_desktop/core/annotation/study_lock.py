"""An advisory per-study lock, so two NPC Desktop windows never edit one study's annotations.

The lock is a small JSON file next to the study's annotation file, created with
``O_CREAT | O_EXCL`` and naming the process that holds it (PID, host, process start time). A lock
whose process is gone (killed, crashed) is stale and is taken over; a PID reused by an unrelated
process is recognised by its different start time. Within one process, a lock is held by the
:class:`StudyLock` object that took it, so a second window of the same process is refused too.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Optional

__all__ = ["StudyLock", "StudyLocked"]

_log = logging.getLogger(__name__)
_UNFINISHED_SECONDS = 10.0
"""A lock file without readable content is taken over only when older than this: its creator may
be writing it right now."""
_START_TIME_TOLERANCE = 2.0
_held_here: set[Path] = set()


class StudyLocked(Exception):
    """The study is open in another NPC Desktop window.

    Attributes
    ----------
    path
        The lock file.
    pid
        The process holding it, or None if the lock file does not say.
    host
        The computer that process runs on.
    """

    def __init__(self, path: Path, pid: Optional[int], host: Optional[str]) -> None:
        self.path = Path(path)
        self.pid = pid
        self.host = host
        super().__init__(f"this study is open in another NPC Desktop window ({self.holder}); lock file {self.path}")

    @property
    def holder(self) -> str:
        """The holding process for people: ``PID n``, with the computer if it is another one."""
        who = f"PID {self.pid}" if self.pid is not None else "an unknown process"
        if self.host and self.host != socket.gethostname():
            who += f" on {self.host}"
        return who


def _process_start(pid: int) -> Optional[float]:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def _holder_alive(info: dict[str, Any]) -> bool:
    """Whether the process a lock file names still runs (a zombie or a reused PID does not count)."""
    import psutil

    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        started = info.get("started")
        if isinstance(started, (int, float)) and abs(process.create_time() - started) > _START_TIME_TOLERANCE:
            return False
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, OSError):
        return True  # it exists; we may just not look at it
    return True


class StudyLock:
    """A held lock on one study; release it with :meth:`release` (or use it as a context manager).

    Use :meth:`acquire` to take one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._held = True

    @classmethod
    def acquire(cls, path: Path) -> "StudyLock":
        """Take the lock file ``path``, taking over a stale one.

        Parameters
        ----------
        path
            The lock file (its folder must exist).

        Returns
        -------
        StudyLock
            The held lock.

        Raises
        ------
        StudyLocked
            If another live process, or another window of this process, holds it.
        OSError
            If the lock file cannot be created for another reason (read-only folder, ...).
        """
        path = Path(path)
        key = path.resolve()
        if key in _held_here:
            raise StudyLocked(path, os.getpid(), socket.gethostname())
        me = {"app": "npc-desktop", "pid": os.getpid(), "host": socket.gethostname(),
              "started": _process_start(os.getpid())}
        for _ in range(5):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                raw, info = cls._read(path)
                if raw is None:
                    continue  # released in the meantime
                if not cls._is_stale(path, info):
                    raise StudyLocked(path, info.get("pid"), info.get("host")) from None
                cls._take_over(path, raw)
                continue
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fp:
                    json.dump(me, fp)
            except OSError:
                path.unlink(missing_ok=True)
                raise
            _held_here.add(key)
            return cls(path)
        info = cls._read(path)[1]
        raise StudyLocked(path, info.get("pid"), info.get("host"))

    @staticmethod
    def _read(path: Path) -> tuple[Optional[bytes], dict[str, Any]]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None, {}
        try:
            info = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, huge numbers, deep nesting
            return raw, {}
        return raw, info if isinstance(info, dict) else {}

    @staticmethod
    def _is_stale(path: Path, info: dict[str, Any]) -> bool:
        """Whether a lock file (its parsed content ``info``) was left by a process that is gone."""
        if not info:
            try:
                return time.time() - path.stat().st_mtime > _UNFINISHED_SECONDS
            except FileNotFoundError:
                return True
        if info.get("host") not in (None, socket.gethostname()):
            return False  # a process on another computer cannot be checked from here
        if info.get("pid") == os.getpid():
            return True  # not in _held_here: left behind by this process
        return not _holder_alive(info)

    @staticmethod
    def _take_over(path: Path, seen: bytes) -> None:
        # Renaming first makes the check and the removal one step: if another process took the
        # stale lock over in between, the renamed file is its fresh lock, and it goes back.
        aside = path.with_name(f"{path.name}.{os.getpid()}.stale")
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return
        try:
            if aside.read_bytes() != seen:
                try:
                    os.link(aside, path)
                except OSError:
                    pass
            else:
                _log.info("took over the stale study lock %s", path)
        finally:
            try:
                aside.unlink()
            except OSError:
                pass

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._held

    def release(self) -> None:
        """Remove the lock file (if it is still ours); safe to call twice."""
        if not self._held:
            return
        self._held = False
        _held_here.discard(self.path.resolve())
        _, info = self._read(self.path)
        if info.get("pid") == os.getpid():
            try:
                self.path.unlink()
            except OSError as exc:
                _log.warning("could not remove the study lock %s: %s", self.path, exc)

    def __enter__(self) -> "StudyLock":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
