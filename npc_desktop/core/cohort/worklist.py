"""Building the worklist: one row per patient and study, from the index and the annotation store."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional, Sequence

from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.cohort.annotation_status import fill_annotation_status
from npc_desktop.core.cohort.database import CohortDatabase
from npc_desktop.core.cohort.duplicates import duplicate_warnings, duplicated_studies
from npc_desktop.core.cohort.indexer import index_roots, prefix_range
from npc_desktop.core.cohort.roles import SeriesHeaders, classify_study
from npc_desktop.core.cohort.rows import SeriesEntry, WorklistRow, matches, progress_summary
from npc_desktop.core.cohort.scanning import IMAGE

__all__ = ["Worklist", "build_worklist", "pseudonym_secret", "refresh_row"]

_SERIES_QUERY = (
    "SELECT study_uid, patient_id, patient_name, series_uid, MAX(modality), MAX(series_description), MAX(protocol),"
    " MAX(sequence_name), MAX(contrast_agent), MAX(tr), MAX(te), MAX(study_date), MAX(study_description),"
    " MIN(series_number), COUNT(DISTINCT sop_uid), MIN(rowid)"
    " FROM files WHERE status = ? GROUP BY study_uid, patient_id, patient_name, series_uid"
)


@dataclass
class Worklist:
    """The rows of the worklist and the warnings about the index (duplicate studies)."""

    rows: list[WorklistRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def filtered(self, name: Optional[str]) -> list[WorklistRow]:
        """The rows passing the filter ``name`` (see :data:`npc_desktop.core.cohort.rows.FILTERS`)."""
        return [row for row in self.rows if matches(row, name)]

    def summary(self) -> str:
        """``"38 of 200 labelled, ..."``."""
        return progress_summary(self.rows)

    def find(self, key: str) -> Optional[WorklistRow]:
        """The row with ``key``, or None."""
        return next((row for row in self.rows if row.key == key), None)


def pseudonym_secret(db: CohortDatabase) -> bytes:
    """This database's random key for pseudonyms (made on first use), so they are stable but not guessable."""
    row = db.connection.execute("SELECT value FROM meta WHERE key = 'pseudonym_secret'").fetchone()
    if row is not None:
        return bytes.fromhex(row[0])
    value = secrets.token_hex(16)
    db.connection.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('pseudonym_secret', ?)", (value,))
    return pseudonym_secret(db)


def _pseudonym(secret: bytes, patient_id: str, patient_name: str) -> str:
    digest = hmac.new(secret, f"{patient_id}\x00{patient_name}".encode("utf-8"), hashlib.sha256).hexdigest()
    return f"PT-{digest[:8].upper()}"


def _folders(db: CohortDatabase, rowids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    ids = list(rowids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        query = f"SELECT rowid, path FROM files WHERE rowid IN ({','.join('?' * len(chunk))})"
        found.update({rowid: os.path.dirname(path) for rowid, path in db.connection.execute(query, chunk)})
    return found


def build_worklist(db: CohortDatabase, *, annotation_dir: Optional[str] = None,
                   study_uids: Optional[Sequence[str]] = None) -> Worklist:
    """The worklist of everything indexed in ``db``.

    Parameters
    ----------
    db
        The cohort database.
    annotation_dir
        The annotation store's folder (the workstation's by default).
    study_uids
        Build only the rows of these studies (for refreshing a few rows).
    """
    store = AnnotationStore(annotation_dir)
    secret = pseudonym_secret(db)
    overrides = db.role_overrides()
    grouped: dict[tuple[str, str, str], list[tuple]] = defaultdict(list)
    wanted = None if study_uids is None else set(study_uids)
    series_rows = [r for r in db.connection.execute(_SERIES_QUERY, (IMAGE,)) if wanted is None or r[0] in wanted]
    folders = _folders(db, [r[15] for r in series_rows])
    for r in series_rows:
        grouped[(r[0], r[1], r[2])].append(r)
    duplicates = duplicated_studies(db)
    worklist = Worklist(warnings=duplicate_warnings(db))
    for (study_uid, patient_id, patient_name), members in grouped.items():
        members.sort(key=lambda r: (r[13] is None, r[13] or 0, r[5] or "", r[3]))
        headers = [SeriesHeaders(modality=r[4] or "", description=r[5] or "", protocol=r[6] or "",
                                 sequence_name=r[7] or "", contrast_agent=r[8] or "", repetition_time=r[9],
                                 echo_time=r[10]) for r in members]
        calls = classify_study(headers)
        entries = []
        for r, call in zip(members, calls):
            by_hand = overrides.get(r[3])
            entries.append(SeriesEntry(r[3], r[5] or r[6] or "", by_hand or call.role,
                                       "corrected by hand" if by_hand else call.reason, by_hand is not None,
                                       r[14], folders.get(r[15], "")))
        series_folders = [e.folder for e in entries if e.folder]
        folder = os.path.commonpath(series_folders) if series_folders else ""
        row = WorklistRow(
            key=f"{study_uid}|{patient_id}|{patient_name}", patient_id=patient_id or "",
            patient_name=patient_name or "",
            pseudonym=_pseudonym(secret, patient_id or "", patient_name or ""), study_uid=study_uid,
            study_date=members[0][11] or "", study_description=members[0][12] or "", folder=folder,
            series=tuple(entries))
        if study_uid in duplicates:
            row.problems.append("the same images are also in " + "; ".join(duplicates[study_uid][1:]))
        fill_annotation_status(row, store)
        worklist.rows.append(row)
    worklist.rows.sort(key=lambda row: (row.patient_name, row.patient_id, row.study_date, row.study_uid))
    return worklist


def refresh_row(db: CohortDatabase, row: WorklistRow, *,
                annotation_dir: Optional[str] = None) -> tuple[Optional[WorklistRow], list[str]]:
    """Check a row's folder again before opening it: ``(the row as it is now or None, messages)``.

    Files deleted since indexing are dropped from the index and the messages say how many; when
    nothing of the study is left the row is None.
    """
    messages = []
    if row.folder and os.path.isdir(row.folder):
        report = index_roots(db, [row.folder], remember=False)
        if report.files_removed:
            messages.append(f"{report.files_removed} file(s) of this study were deleted from {row.folder} since it "
                            "was indexed; the row was updated")
    else:
        low, high = prefix_range(row.folder)
        db.connection.execute("DELETE FROM files WHERE path >= ? AND path < ?", (low, high))
        messages.append(f"the folder {row.folder} of this study is gone (moved or deleted since it was indexed); "
                        "its row was removed")
    fresh = build_worklist(db, annotation_dir=annotation_dir, study_uids=[row.study_uid]).find(row.key)
    if fresh is None and row.folder and os.path.isdir(row.folder):
        messages.append(f"no images of this study are left in {row.folder}; its row was removed")
    return fresh, messages
