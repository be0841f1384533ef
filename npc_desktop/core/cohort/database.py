"""The cohort's SQLite study index: one file in the user data folder, rebuilt when it is damaged.

The database is a cache of what the DICOM headers say (and the series roles corrected by hand).
Nothing the clinician draws or decides is kept in it: annotations stay in their own crash-safe
store. So a database that cannot be used - corrupt, of an unknown schema, or locked by another
program - is moved aside and an empty one built in its place; :attr:`CohortDatabase.messages`
says so, and the next index of the folders fills it again.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Union

from npc_desktop.core.cohort.roles import ROLES
from npc_desktop.core.fileio import user_data_dir

__all__ = ["DATABASE_NAME", "SCHEMA_VERSION", "CohortDatabase", "default_database_path"]

DATABASE_NAME = "cohort.sqlite"
SCHEMA_VERSION = 1
_LOCK_TIMEOUT_S = 2.0

FILE_COLUMNS: tuple[str, ...] = (
    "path", "root", "size", "mtime_ns", "status", "reason", "sop_uid", "study_uid", "series_uid",
    "patient_id", "patient_name", "study_date", "study_description", "modality", "series_number",
    "series_description", "protocol", "sequence_name", "contrast_agent", "tr", "te", "instance_number",
)
"""Columns of the ``files`` table, in the order :mod:`.scanning` fills them."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, indexed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL, reason TEXT, sop_uid TEXT, study_uid TEXT, series_uid TEXT,
    patient_id TEXT, patient_name TEXT, study_date TEXT, study_description TEXT, modality TEXT,
    series_number INTEGER, series_description TEXT, protocol TEXT, sequence_name TEXT,
    contrast_agent TEXT, tr REAL, te REAL, instance_number INTEGER
);
CREATE INDEX IF NOT EXISTS files_root ON files (root);
CREATE INDEX IF NOT EXISTS files_study ON files (study_uid, series_uid);
CREATE INDEX IF NOT EXISTS files_sop ON files (sop_uid);
CREATE TABLE IF NOT EXISTS role_overrides (series_uid TEXT PRIMARY KEY, role TEXT NOT NULL, set_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batch_done (
    job TEXT NOT NULL, row_key TEXT NOT NULL, outcome TEXT NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY (job, row_key)
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
"""


def default_database_path() -> Path:
    """``<user data folder>/cohort.sqlite`` (see :func:`npc_desktop.core.fileio.user_data_dir`)."""
    return user_data_dir() / DATABASE_NAME


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


class _Unusable(Exception):
    """The database file cannot be used as it is; ``kind`` is "corrupt" or "locked"."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class CohortDatabase:
    """An open cohort database.

    Parameters
    ----------
    path
        The database file; :func:`default_database_path` when None.
    lock_timeout_s
        How long to wait for another program's lock before rebuilding.

    Attributes
    ----------
    messages
        What happened on opening that the user should read (a rebuild and why); empty normally.
    """

    def __init__(self, path: Optional[Union[str, Path]] = None, *, lock_timeout_s: float = _LOCK_TIMEOUT_S) -> None:
        self.path = Path(path) if path is not None else default_database_path()
        self.messages: list[str] = []
        self._timeout = lock_timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = self._open()
        except _Unusable as problem:
            self.connection = self._rebuild(problem)

    # -- opening ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                                     check_same_thread=False)
        connection.execute("PRAGMA busy_timeout = %d" % int(self._timeout * 1000))
        return connection

    def _open(self) -> sqlite3.Connection:
        connection: Optional[sqlite3.Connection] = None
        try:
            connection = self._connect()
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("BEGIN IMMEDIATE")
            connection.executescript(_SCHEMA)  # executescript commits the open transaction first
            version = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None or version[0] != str(SCHEMA_VERSION):
                raise _Unusable("corrupt", f"schema version {version[0] if version else None!r} is not "
                                           f"{SCHEMA_VERSION}")
            check = connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise _Unusable("corrupt", f"integrity check: {check[0] if check else 'no answer'}")
            return connection
        except sqlite3.OperationalError as exc:
            if connection is not None:
                connection.close()
            text = str(exc)
            kind = "locked" if ("locked" in text or "busy" in text) else "corrupt"
            raise _Unusable(kind, text) from exc
        except sqlite3.DatabaseError as exc:
            if connection is not None:
                connection.close()
            raise _Unusable("corrupt", str(exc)) from exc
        except _Unusable:
            if connection is not None:
                connection.close()
            raise

    def _rebuild(self, problem: _Unusable) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.path.name}.{problem.kind}-{_stamp()}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(self.path) + suffix)
            if source.exists():
                os.replace(source, Path(str(aside) + suffix))
        why = ("is locked by another program" if problem.kind == "locked"
               else "is damaged or of an unknown format")
        self.messages.append(
            f"The cohort database {self.path} {why} ({problem.detail}); it was moved to {aside.name} and a new, "
            "empty one was built. Index the folders again to fill it. Annotations are stored separately and "
            "are not affected."
        )
        return self._open()

    # -- use ----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (the object is unusable afterwards)."""
        self.connection.close()

    def __enter__(self) -> "CohortDatabase":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def roots(self) -> list[str]:
        """The folders indexed so far, in the order they were first indexed."""
        return [r[0] for r in self.connection.execute("SELECT path FROM roots ORDER BY rowid")]

    def role_overrides(self) -> dict[str, str]:
        """Series roles set by hand: SeriesInstanceUID -> role."""
        return dict(self.connection.execute("SELECT series_uid, role FROM role_overrides"))

    def set_role(self, series_uid: str, role: Optional[str]) -> None:
        """Correct a series' role by hand (None goes back to the role read from the headers).

        Raises
        ------
        ValueError
            If ``role`` is not one of :data:`npc_desktop.core.cohort.roles.ROLES`.
        """
        if role is None:
            self.connection.execute("DELETE FROM role_overrides WHERE series_uid = ?", (series_uid,))
            return
        if role not in ROLES:
            raise ValueError(f"role {role!r}: choose one of {', '.join(ROLES)}")
        self.connection.execute(
            "INSERT OR REPLACE INTO role_overrides (series_uid, role, set_at) VALUES (?, ?, ?)",
            (series_uid, role, datetime.now(timezone.utc).isoformat(timespec="seconds")))
