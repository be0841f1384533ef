"""C-FIND / QIDO-RS search keys and results, the same for DIMSE and DICOMweb."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Optional

from pydicom.dataset import Dataset

from npc_desktop.core.network.errors import NodeConfigError

LEVELS = ("study", "series")
_DATE_RANGE = re.compile(r"^(\d{8})?(-)?(\d{8})?$")

STUDY_RETURN_KEYS = (
    "PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime", "AccessionNumber",
    "StudyInstanceUID", "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
SERIES_RETURN_KEYS = (
    "StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
)


def check_date_range(text: str) -> str:
    """Return ``YYYYMMDD`` or a range ``YYYYMMDD-YYYYMMDD`` (either end open); raise NodeConfigError otherwise."""
    value = (text or "").strip()
    match = _DATE_RANGE.match(value)
    if not value or match is None or not (match.group(1) or match.group(3)) or (
            match.group(3) and not match.group(2)):
        raise NodeConfigError(f"date {text!r} must be YYYYMMDD or YYYYMMDD-YYYYMMDD")
    return value


@dataclass(frozen=True)
class FindQuery:
    """What to search for; empty keys match anything. Names take ``*`` and ``?`` wildcards."""

    level: str = "study"
    patient_id: str = ""
    patient_name: str = ""
    date: str = ""
    modality: str = ""
    accession: str = ""
    study_uid: str = ""
    study_description: str = ""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise NodeConfigError(f"query level {self.level!r} must be one of {', '.join(LEVELS)}")
        if self.date:
            check_date_range(self.date)
        if self.level == "series" and not self.study_uid:
            raise NodeConfigError("a series-level search needs the study UID")

    def matching_keys(self) -> dict[str, str]:
        """The DICOM keywords with a value to match (the level decides modality's keyword)."""
        modality_key = "ModalitiesInStudy" if self.level == "study" else "Modality"
        keys = {
            "PatientID": self.patient_id, "PatientName": self.patient_name, "StudyDate": self.date,
            modality_key: self.modality, "AccessionNumber": self.accession, "StudyInstanceUID": self.study_uid,
            "StudyDescription": self.study_description,
        }
        return {key: value.strip() for key, value in keys.items() if value and value.strip()}

    def identifier(self) -> Dataset:
        """The C-FIND identifier: the matching keys plus empty return keys of the level."""
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level.upper()
        for keyword in STUDY_RETURN_KEYS if self.level == "study" else SERIES_RETURN_KEYS:
            setattr(ds, keyword, "")
        for keyword, value in self.matching_keys().items():
            setattr(ds, keyword, value)
        return ds


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _count(ds: Dataset, keyword: str) -> Optional[int]:
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class StudyResult:
    """One matching study."""

    study_uid: str
    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    study_date: str = ""
    study_time: str = ""
    description: str = ""
    accession: str = ""
    modalities: tuple[str, ...] = ()
    series_count: Optional[int] = None
    image_count: Optional[int] = None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> "StudyResult":
        """Read a C-FIND answer or a QIDO-RS result converted to a data set."""
        modalities = ds.get("ModalitiesInStudy", [])
        if isinstance(modalities, str):
            modalities = [m for m in modalities.split("\\") if m]
        return cls(
            study_uid=_text(ds, "StudyInstanceUID"), patient_name=_text(ds, "PatientName"),
            patient_id=_text(ds, "PatientID"), birth_date=_text(ds, "PatientBirthDate"),
            study_date=_text(ds, "StudyDate"), study_time=_text(ds, "StudyTime"),
            description=_text(ds, "StudyDescription"), accession=_text(ds, "AccessionNumber"),
            modalities=tuple(str(m) for m in modalities if str(m)),
            series_count=_count(ds, "NumberOfStudyRelatedSeries"),
            image_count=_count(ds, "NumberOfStudyRelatedInstances"),
        )

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}


@dataclass(frozen=True)
class SeriesResult:
    """One matching series."""

    study_uid: str
    series_uid: str
    modality: str = ""
    number: Optional[int] = None
    description: str = ""
    image_count: Optional[int] = None

    @classmethod
    def from_dataset(cls, ds: Dataset) -> "SeriesResult":
        """Read a C-FIND answer or a QIDO-RS result converted to a data set."""
        return cls(
            study_uid=_text(ds, "StudyInstanceUID"), series_uid=_text(ds, "SeriesInstanceUID"),
            modality=_text(ds, "Modality"), number=_count(ds, "SeriesNumber"),
            description=_text(ds, "SeriesDescription"), image_count=_count(ds, "NumberOfSeriesRelatedInstances"),
        )

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def result_from_dataset(level: str, ds: Dataset):
    """A :class:`StudyResult` or :class:`SeriesResult` for the query level."""
    return StudyResult.from_dataset(ds) if level == "study" else SeriesResult.from_dataset(ds)
