"""What the SR writer and readers share: the error type, tracking UIDs and reading references."""

from __future__ import annotations

import uuid
from typing import Optional

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

__all__ = ["SrError", "children", "concept", "first_frame", "id_from_tracking", "imaging_measurement_groups",
           "series_of_instances", "tracking_uid"]


class SrError(ValueError):
    """An SR cannot be written or read; the message names the file, ROI or measurement."""


def tracking_uid(item_id: str) -> str:
    """The Tracking UID of an annotation id: ``2.25.<the UUID as an integer>`` (PS3.5 B.2)."""
    return "2.25." + str(uuid.UUID(item_id).int)


def id_from_tracking(identifier: Optional[str], uid: Optional[str]) -> Optional[str]:
    """The annotation id behind a tracking identifier (a UUID) or a ``2.25.`` tracking UID."""
    if identifier:
        try:
            if str(uuid.UUID(identifier)) == identifier:
                return identifier
        except ValueError:
            pass
    text = str(uid or "")
    if text.startswith("2.25."):
        try:
            return str(uuid.UUID(int=int(text[5:])))
        except ValueError:
            pass
    return None


def first_frame(value: object) -> Optional[int]:
    """ReferencedFrameNumber (IS, VM 1-n: a value, a MultiValue or empty) as one frame or None."""
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue):
        return int(value[0]) if len(value) else None
    return int(value)  # type: ignore[call-overload]


def series_of_instances(sr: Dataset) -> dict[str, str]:
    """SOP Instance UID -> Series Instance UID of every image the SR lists as evidence."""
    series: dict[str, str] = {}
    for name in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in getattr(sr, name, []):
            for item in getattr(study, "ReferencedSeriesSequence", []):
                for sop in getattr(item, "ReferencedSOPSequence", []):
                    series[str(sop.ReferencedSOPInstanceUID)] = str(item.SeriesInstanceUID)
    return series


def concept(item: Dataset, name: str = "ConceptNameCodeSequence") -> tuple[str, str]:
    """``(code value, coding scheme)`` of a content item's concept name (or of ``name``), ``("", "")`` if none."""
    sequence = getattr(item, name, None)
    if not sequence:
        return ("", "")
    return (str(sequence[0].CodeValue), str(sequence[0].CodingSchemeDesignator))


def children(item: Dataset) -> list[Dataset]:
    """The content items an item contains."""
    return list(getattr(item, "ContentSequence", []) or [])


def imaging_measurement_groups(dataset: Dataset) -> list[Dataset]:
    """The measurement group containers under TID 1500's "Imaging Measurements" (DCM 126010)."""
    groups = []
    for container in children(dataset):
        if concept(container) == ("126010", "DCM"):
            groups.extend(c for c in children(container) if c.ValueType == "CONTAINER")
    return groups
