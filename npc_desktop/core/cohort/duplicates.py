"""Studies found twice: the same images in two folders, or one Study Instance UID for two patients.

Neither is merged silently. Copies of the same images (same SOP Instance UIDs) count once, from
the folder indexed first, and are reported with both folders; a Study Instance UID shared by
different patients gives one worklist row per patient and is reported.
"""

from __future__ import annotations

import os
from collections import defaultdict

from npc_desktop.core.cohort.database import CohortDatabase

__all__ = ["duplicate_warnings", "duplicated_studies"]


def duplicated_studies(db: CohortDatabase) -> dict[str, list[str]]:
    """Study Instance UID -> the folders holding copies of the same images (first-indexed folder first)."""
    rows = db.connection.execute(
        "SELECT study_uid, sop_uid, path FROM files WHERE sop_uid IN "
        "(SELECT sop_uid FROM files WHERE sop_uid IS NOT NULL GROUP BY sop_uid HAVING COUNT(*) > 1) ORDER BY rowid")
    by_sop: dict[tuple[str, str], list[str]] = defaultdict(list)
    for study_uid, sop_uid, path in rows:
        by_sop[(study_uid, sop_uid)].append(os.path.dirname(path))
    copies: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for (study_uid, _), folders in by_sop.items():
        for n, folder in enumerate(folders):
            copies[study_uid][n].add(folder)
    return {uid: [os.path.commonpath(sorted(found[n])) for n in sorted(found)] for uid, found in copies.items()}


def _shared_uids(db: CohortDatabase) -> dict[str, list[str]]:
    rows = db.connection.execute(
        "SELECT study_uid, patient_id, patient_name FROM files WHERE study_uid IN "
        "(SELECT study_uid FROM files WHERE study_uid IS NOT NULL GROUP BY study_uid "
        " HAVING COUNT(DISTINCT patient_id || '^' || patient_name) > 1) "
        "GROUP BY study_uid, patient_id, patient_name")
    patients: dict[str, list[str]] = defaultdict(list)
    for study_uid, patient_id, _ in rows:
        patients[study_uid].append(patient_id or "(no ID)")
    return patients


def duplicate_warnings(db: CohortDatabase) -> list[str]:
    """One line per study found twice, naming the folders or patients."""
    lines = []
    for uid, folders in duplicated_studies(db).items():
        lines.append(f"study {uid} is in more than one folder ({'; '.join(folders)}): the same images were "
                     f"found twice; they are counted once, from {folders[0]}, and nothing is merged")
    for uid, ids in _shared_uids(db).items():
        lines.append(f"study {uid} is used by {len(ids)} patients (IDs {', '.join(ids)}): one worklist row per "
                     "patient; check the exports, they should not share a Study Instance UID")
    return lines
