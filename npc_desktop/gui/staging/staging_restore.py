"""The last staging result of a study, kept in its annotation file and shown again when it reopens.

Plain functions between a :class:`~npc_desktop.gui.staging.staging_state.StagedResult` and the
:class:`~npc_desktop.core.staging.record.StagingRecord` stored in the study's
:class:`~npc_desktop.core.annotation.annotation_set.AnnotationSet` (no Qt).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.dicom import Volume
from npc_desktop.core.staging.record import StagingRecord, StagingRecordError
from npc_desktop.gui.staging.staging_state import StagedResult


def record_for(staged: StagedResult, *, when: Optional[datetime] = None) -> dict[str, Any]:
    """The JSON form of ``staged`` to store with its study's annotations (``when``: now by default)."""
    record = StagingRecord(staged.result, staged.signature, when or datetime.now(timezone.utc), staged.roi_ids)
    return record.to_dict()


def restore_staged(annotations: AnnotationSet, source: str,
                   volumes: Mapping[str, Volume]) -> tuple[Optional[StagedResult], Optional[str]]:
    """The last staging result stored in ``annotations``, and a message if it cannot be read.

    Parameters
    ----------
    annotations
        The study's annotations as loaded.
    source
        The annotation file, named in the message.
    volumes
        Loaded volumes by SeriesInstanceUID; those the result's patches lie on are kept with it
        (the panel names their series).

    Returns
    -------
    tuple
        ``(result, None)``; ``(None, None)`` when nothing is stored; ``(None, message)`` when the
        stored result is unreadable (the ROIs are not affected; the next staging replaces it).
    """
    if annotations.last_staging is None:
        return None, None
    try:
        record = StagingRecord.from_dict(annotations.last_staging)
    except StagingRecordError as exc:
        return None, (f"The last staging result stored in {source} cannot be read ({exc}). "
                      "The ROIs and the label are not affected; staging again replaces it.")
    copy = AnnotationSet.from_dict(annotations.to_dict())
    used = {patch.series_instance_uid for patch in record.result.patches}
    kept = {uid: volume for uid, volume in volumes.items() if uid in used}
    return StagedResult(record.result, copy, kept, record.roi_revision, None, record.roi_ids,
                        stored_at=record.staged_at), None


def add_volume(staged: StagedResult, volume: Volume) -> bool:
    """Keep a volume that loaded after ``staged`` was restored, when one of its patches lies on it."""
    uid = volume.meta.series_instance_uid
    if staged.stored_at is None or uid in staged.volumes:
        return False
    if not any(patch.series_instance_uid == uid for patch in staged.result.patches):
        return False
    staged.volumes[uid] = volume
    return True


def stored_note(staged: StagedResult) -> str:
    """One line for the results panel about a result read back from the annotation file ("" otherwise)."""
    if staged.stored_at is None:
        return ""
    when = staged.stored_at.astimezone().strftime("%Y-%m-%d %H:%M")
    return (f"Stored result of {when}, from when the study was last open. Grad-CAM maps are not stored: "
            "stage again (Ctrl+R) to see them.")
