"""The cohort database: where it lives, and rebuilding it when it is corrupt or locked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from npc_desktop.core.cohort.database import CohortDatabase, default_database_path
from npc_desktop.core.cohort.indexer import index_roots


def test_default_path_follows_the_data_dir_variable(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NPC_DESKTOP_DATA_DIR", str(tmp_path / "elsewhere"))
    assert default_database_path() == tmp_path / "elsewhere" / "cohort.sqlite"
    with CohortDatabase() as db:
        assert db.path.is_file() and db.messages == []


def test_corrupt_database_is_moved_aside_and_rebuilt(tmp_path: Path, cohort_root: Path) -> None:
    path = tmp_path / "cohort.sqlite"
    path.write_bytes(b"this is not an SQLite database, just garbage" * 100)
    with CohortDatabase(path) as db:
        (message,) = db.messages
        assert "damaged" in message and "Annotations are stored separately" in message
        assert index_roots(db, [cohort_root]).files_read == 150
    (aside,) = tmp_path.glob("cohort.sqlite.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not")
    with CohortDatabase(path) as db:  # the rebuilt one opens cleanly and kept the index
        assert db.messages == [] and index_roots(db, [cohort_root]).files_read == 0


def test_locked_database_is_rebuilt_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "cohort.sqlite"
    CohortDatabase(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with CohortDatabase(path, lock_timeout_s=0.2) as db:
            (message,) = db.messages
            assert "locked by another program" in message
            assert db.roots() == []
        assert list(tmp_path.glob("cohort.sqlite.locked-*"))
    finally:
        holder.close()
