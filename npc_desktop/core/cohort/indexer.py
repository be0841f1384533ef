"""Indexing folders into the cohort database: read once, then re-read only what changed.

Opening a folder again stats its files (``os.scandir``) and compares each size and modification
time with the stored ones; only new or changed files are read, files that are gone are dropped,
all in a few transactions. Reading is committed in chunks, so a cancelled index keeps what it
read and the next one carries on from there.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Optional, Sequence

from npc_desktop.core.cohort.database import FILE_COLUMNS, CohortDatabase
from npc_desktop.core.cohort.duplicates import duplicate_warnings
from npc_desktop.core.cohort.scanning import NOT_DICOM, UNREADABLE, Walk, read_row, walk
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled

__all__ = ["CohortError", "IndexReport", "index_roots", "prefix_range"]

_CHUNK = 2000
_INSERT = f"INSERT OR REPLACE INTO files ({', '.join(FILE_COLUMNS)}) VALUES ({', '.join('?' * len(FILE_COLUMNS))})"


class CohortError(ValueError):
    """A folder or setting of the cohort that cannot be used; the message names it."""


@dataclass
class IndexReport:
    """What an index run found and did."""

    roots: list[str]
    files_found: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    not_dicom: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "roots": list(self.roots), "files_found": self.files_found, "files_read": self.files_read,
            "files_unchanged": self.files_unchanged, "files_removed": self.files_removed,
            "not_dicom": self.not_dicom, "skipped": [{"file": p, "reason": r} for p, r in self.skipped],
            "warnings": list(self.warnings), "elapsed_s": round(self.elapsed_s, 3),
        }

    def lines(self) -> list[str]:
        """The report as text lines."""
        out = [f"skipped: {path}: {reason}" for path, reason in self.skipped]
        out += [f"warning: {w}" for w in self.warnings]
        out.append(f"{self.files_found} file(s) in {len(self.roots)} folder(s): {self.files_read} read, "
                   f"{self.files_unchanged} unchanged, {self.files_removed} gone, {self.not_dicom} not DICOM, "
                   f"{len(self.skipped)} skipped ({self.elapsed_s:.2f} s)")
        return out


def prefix_range(root: str) -> tuple[str, str]:
    """Bounds ``(low, high)`` such that ``low <= path < high`` holds exactly for paths below ``root``."""
    base = root.rstrip(os.sep) + os.sep
    return base, base[:-1] + chr(ord(os.sep) + 1)


def _stored(db: CohortDatabase, root: str, is_file: bool) -> dict[str, tuple[int, int]]:
    if is_file:
        query, args = "SELECT path, size, mtime_ns FROM files WHERE path = ?", (root,)
    else:
        query, args = "SELECT path, size, mtime_ns FROM files WHERE path >= ? AND path < ?", prefix_range(root)
    return {p: (s, m) for p, s, m in db.connection.execute(query, args)}


def _walk_root(root: str) -> Walk:
    if os.path.isdir(root):
        return walk(root)
    found = Walk()
    info = os.stat(root)
    found.files[root] = (info.st_size, info.st_mtime_ns)
    return found


def _transaction(db: CohortDatabase, statements: Iterable[tuple[str, list[tuple[Any, ...]]]]) -> None:
    connection = db.connection
    connection.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in statements:
            if rows:
                connection.executemany(sql, rows)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def index_roots(db: CohortDatabase, roots: Sequence[str], *, progress: Optional[ProgressCallback] = None,
                cancel: Optional[CancelToken] = None, remember: bool = True) -> IndexReport:
    """Index (or re-index) folders or files into ``db``.

    Parameters
    ----------
    db
        The open cohort database.
    roots
        Folders (searched recursively) or single files.
    progress
        Called as ``progress(done, total)`` while headers are read.
    cancel
        Checked between chunks of files; what was read before is kept.
    remember
        List the roots among the indexed folders (False to refresh a part of one).

    Raises
    ------
    CohortError
        If a root does not exist.
    OperationCancelled
        When ``cancel`` is set.
    """
    started = time.perf_counter()
    absolute = [os.path.abspath(os.fspath(r)) for r in roots]
    for root in absolute:
        if not os.path.exists(root):
            raise CohortError(f"{root}: no such file or folder")
    report = IndexReport(roots=absolute)
    to_read: list[tuple[str, str, tuple[int, int]]] = []
    for root in absolute:
        found = _walk_root(root)
        report.skipped.extend(found.problems)
        stored = _stored(db, root, os.path.isfile(root))
        gone = [(p,) for p in stored.keys() - found.files.keys()]
        report.files_found += len(found.files)
        report.files_removed += len(gone)
        for path, stat in found.files.items():
            if stored.get(path) != stat:
                to_read.append((path, root, stat))
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        listed = [(root, now)] if remember else []
        _transaction(db, [("DELETE FROM files WHERE path = ?", gone),
                          ("INSERT OR IGNORE INTO roots (path, indexed_at) VALUES (?, ?)", listed),
                          ("UPDATE roots SET indexed_at = ? WHERE path = ?", [(now, root)] if remember else [])])
    report.files_unchanged = report.files_found - len(to_read)
    total = len(to_read)
    for start in range(0, total, _CHUNK):
        check_cancelled(cancel)
        if progress is not None:
            progress(start, total)
        rows = [read_row(path, root, stat) for path, root, stat in to_read[start:start + _CHUNK]]
        _transaction(db, [(_INSERT, rows)])
        report.files_read += len(rows)
    if progress is not None:
        progress(total, total)
    _collect_problems(db, absolute, report)
    report.elapsed_s = time.perf_counter() - started
    return report


def _collect_problems(db: CohortDatabase, roots: list[str], report: IndexReport) -> None:
    for root in roots:
        low, high = prefix_range(root)
        rows = db.connection.execute(
            "SELECT path, status, reason FROM files WHERE ((path >= ? AND path < ?) OR path = ?) AND status IN (?, ?)"
            " ORDER BY path", (low, high, root, UNREADABLE, NOT_DICOM))
        for path, status, reason in rows:
            if status == NOT_DICOM:
                report.not_dicom += 1
            else:
                report.skipped.append((path, reason or "unreadable"))
    report.warnings.extend(duplicate_warnings(db))
