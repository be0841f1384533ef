"""Index a folder, zip archive or DICOMDIR into patients > studies > series from headers only."""

from __future__ import annotations

import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from npc_desktop.core.dicom.errors import (
    DicomDirectoryFile,
    DicomIngestError,
    NoImagesError,
    NotDicomError,
    SeriesNotFoundError,
)
from npc_desktop.core.dicom.geometry import sort_frames
from npc_desktop.core.dicom.headers import FrameHeader, InstanceHeader, read_header
from npc_desktop.core.dicom.sources import FileRef, enumerate_sources
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled


@dataclass
class SeriesInfo:
    """One displayable stack (or one non-image object group) of a study.

    ``key`` is unique in the index: the SeriesInstanceUID, followed by ``#n`` when one
    SeriesInstanceUID held several stacks (mixed orientations, echoes or acquisitions).
    """

    key: str
    series_instance_uid: str
    study_instance_uid: str
    modality: str
    description: str
    series_number: Optional[int]
    frame_of_reference_uid: str
    is_image: bool
    frames: list[FrameHeader] = field(default_factory=list)
    instances: list[InstanceHeader] = field(default_factory=list)
    spacing_mm: Optional[float] = None
    split_note: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def image_count(self) -> int:
        """Number of 2-D images (slices or frames) in the stack."""
        return len(self.frames) if self.is_image else len(self.instances)

    @property
    def matrix(self) -> Optional[tuple[int, int]]:
        """(rows, columns) of the images, or None for non-image objects."""
        if not self.frames:
            return None
        layout = self.frames[0].instance.layout
        return (layout.rows, layout.columns) if layout else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "key": self.key,
            "series_instance_uid": self.series_instance_uid,
            "modality": self.modality,
            "description": self.description,
            "series_number": self.series_number,
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "is_image": self.is_image,
            "image_count": self.image_count,
            "matrix": list(self.matrix) if self.matrix else None,
            "slice_spacing_mm": self.spacing_mm,
            "split": self.split_note,
            "warnings": list(self.warnings),
        }


@dataclass
class StudyInfo:
    """One study of a patient."""

    study_instance_uid: str
    date: str
    time: str
    description: str
    accession_number: str
    series: list[SeriesInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "study_instance_uid": self.study_instance_uid,
            "date": self.date,
            "time": self.time,
            "description": self.description,
            "accession_number": self.accession_number,
            "series": [s.to_dict() for s in self.series],
        }


@dataclass
class PatientInfo:
    """One patient with their studies."""

    name: str
    patient_id: str
    birth_date: str
    sex: str
    studies: list[StudyInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "name": self.name,
            "patient_id": self.patient_id,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "studies": [s.to_dict() for s in self.studies],
        }


@dataclass
class SkippedFile:
    """A file that was passed over, and why."""

    name: str
    reason: str
    is_dicom: bool


@dataclass
class StudyIndex:
    """The result of indexing: patients > studies > series, and what was skipped."""

    root: Path
    patients: list[PatientInfo] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files_read: int = 0

    @property
    def non_dicom_count(self) -> int:
        """Number of files skipped because they are not DICOM."""
        return sum(1 for s in self.skipped if not s.is_dicom)

    def all_series(self) -> list[SeriesInfo]:
        """Every series, image or not, in tree order."""
        return [s for p in self.patients for st in p.studies for s in st.series]

    def image_series(self) -> list[SeriesInfo]:
        """The series that can be shown in the viewer."""
        return [s for s in self.all_series() if s.is_image]

    def study_of(self, series: SeriesInfo) -> StudyInfo:
        """The study holding ``series``."""
        for patient in self.patients:
            for study in patient.studies:
                if series in study.series:
                    return study
        raise SeriesNotFoundError(self.root, f"series {series.key} is not in this index")

    def patient_of(self, series: SeriesInfo) -> PatientInfo:
        """The patient holding ``series``."""
        for patient in self.patients:
            for study in patient.studies:
                if series in study.series:
                    return patient
        raise SeriesNotFoundError(self.root, f"series {series.key} is not in this index")

    def find_series(self, key: str) -> SeriesInfo:
        """Find a series by key or SeriesInstanceUID (the first stack of a split UID).

        Raises
        ------
        SeriesNotFoundError
        """
        for series in self.all_series():
            if series.key == key:
                return series
        for series in self.all_series():
            if series.series_instance_uid == key:
                return series
        raise SeriesNotFoundError(self.root, f"no series with UID {key}")

    def default_series(self) -> SeriesInfo:
        """The image series with the most images: what to show first.

        Raises
        ------
        NoImagesError
            If the index holds no image series.
        """
        images = self.image_series()
        if not images:
            raise NoImagesError(self.root, self.no_images_reason())
        return max(images, key=lambda s: s.image_count)

    def no_images_reason(self) -> str:
        """Explain why there is nothing to show."""
        if self.root.is_file() and self.files_read == 1 and len(self.skipped) == 1:
            return self.skipped[0].reason
        parts = [f"no image series found ({self.files_read} file(s) read"]
        if self.non_dicom_count:
            parts.append(f", {self.non_dicom_count} not DICOM")
        broken = len(self.skipped) - self.non_dicom_count
        if broken:
            parts.append(f", {broken} unreadable")
        others = sum(1 for s in self.all_series() if not s.is_image)
        if others:
            parts.append(f", {others} non-image object group(s)")
        return "".join(parts) + ")"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "root": str(self.root),
            "files_read": self.files_read,
            "patients": [p.to_dict() for p in self.patients],
            "skipped": [{"file": s.name, "reason": s.reason} for s in self.skipped],
            "non_dicom_files": self.non_dicom_count,
            "warnings": list(self.warnings),
        }


def read_headers(
    refs: list[FileRef],
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> tuple[list[InstanceHeader], list[SkippedFile]]:
    """Read the headers of many files, collecting failures instead of raising.

    Parameters
    ----------
    refs
        Files to read.
    progress
        Called as ``progress(done, total)`` now and then.
    cancel
        Cancel token checked between files.
    """
    headers: list[InstanceHeader] = []
    skipped: list[SkippedFile] = []
    archives: dict[Path, zipfile.ZipFile] = {}
    total = len(refs)
    step = max(1, total // 100)
    try:
        for done, ref in enumerate(refs):
            if done % 16 == 0:
                check_cancelled(cancel)
            if progress is not None and done % step == 0:
                progress(done, total)
            archive = None
            if ref.member is not None:
                archive = archives.get(ref.path)
                if archive is None:
                    archive = archives[ref.path] = zipfile.ZipFile(ref.path)
            try:
                headers.append(read_header(ref, archive))
            except NotDicomError as exc:
                skipped.append(SkippedFile(ref.display_name, exc.problem, is_dicom=False))
            except DicomDirectoryFile:
                continue  # a DICOMDIR holds no image; the files it lists are read directly
            except DicomIngestError as exc:
                skipped.append(SkippedFile(ref.display_name, exc.problem, is_dicom=True))
    finally:
        for archive in archives.values():
            archive.close()
    if progress is not None:
        progress(total, total)
    return headers, skipped


def index_path(
    path: Union[str, Path],
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> StudyIndex:
    """Index a folder (recursively), a zip archive, a DICOMDIR or a single file.

    Only headers are read. Non-image objects are listed but marked ``is_image=False``;
    files that are not DICOM or cannot be parsed are skipped and listed with the reason.

    Parameters
    ----------
    path
        What the user opened.
    progress
        Called as ``progress(done, total)`` while headers are read.
    cancel
        A cancel token; when set, :class:`~npc_desktop.core.progress.OperationCancelled` is raised.

    Returns
    -------
    StudyIndex

    Raises
    ------
    NoImagesError
        If the path does not exist.
    DicomIngestError
        If the container itself (a zip archive) cannot be read.
    """
    root = Path(path)
    refs, warnings = enumerate_sources(root)
    headers, skipped = read_headers(refs, progress=progress, cancel=cancel)
    index = StudyIndex(root=root, skipped=skipped, warnings=warnings, files_read=len(refs))
    index.patients = build_tree(headers, index.warnings)
    return index


def build_tree(headers: Iterable[InstanceHeader], warnings: list[str]) -> list[PatientInfo]:
    """Group instance headers into patients > studies > series, splitting and sorting series."""
    patients: dict[tuple[str, str], PatientInfo] = {}
    studies: dict[str, StudyInfo] = {}
    by_series: dict[tuple[str, str], list[InstanceHeader]] = defaultdict(list)
    seen_sop: dict[str, str] = {}
    for header in headers:
        previous = seen_sop.get(header.sop_instance_uid)
        if previous is not None:
            warnings.append(
                f"{header.ref.display_name}: same SOP Instance UID as {previous}; left out"
            )
            continue
        seen_sop[header.sop_instance_uid] = header.ref.display_name
        patient_key = (header.patient_id, header.patient_name)
        patient = patients.get(patient_key)
        if patient is None:
            patient = patients[patient_key] = PatientInfo(
                header.patient_name, header.patient_id, header.patient_birth_date, header.patient_sex
            )
        study = studies.get(header.study_instance_uid)
        if study is None:
            study = studies[header.study_instance_uid] = StudyInfo(
                header.study_instance_uid,
                header.study_date,
                header.study_time,
                header.study_description,
                header.accession_number,
            )
            patient.studies.append(study)
        by_series[(header.study_instance_uid, header.series_instance_uid)].append(header)
    for (study_uid, _), members in by_series.items():
        studies[study_uid].series.extend(_make_series(members))
    for study in studies.values():
        study.series.sort(key=lambda s: (s.series_number is None, s.series_number or 0, s.key))
    for patient in patients.values():
        patient.studies.sort(key=lambda st: (st.date, st.time, st.study_instance_uid))
    return sorted(patients.values(), key=lambda p: (p.name, p.patient_id))


def _round_orientation(frame: FrameHeader) -> Optional[tuple[float, ...]]:
    return None if frame.orientation is None else tuple(round(v, 3) for v in frame.orientation)


def _stack_key(frame: FrameHeader) -> tuple[Any, ...]:
    layout = frame.instance.layout
    matrix = (layout.rows, layout.columns) if layout else None
    return (_round_orientation(frame), matrix, frame.echo)


def _describe_split(keys: list[tuple[Any, ...]]) -> list[str]:
    """Name what differs between stacks split out of one SeriesInstanceUID."""
    names = ("orientation", "matrix", "echo")
    differing = [names[i] for i in range(3) if len({k[i] for k in keys}) > 1]
    return differing


def _make_series(members: list[InstanceHeader]) -> list[SeriesInfo]:
    first = members[0]
    images = [h for h in members if h.is_image]
    others = [h for h in members if not h.is_image]
    result: list[SeriesInfo] = []

    def new_series(key: str, is_image: bool) -> SeriesInfo:
        return SeriesInfo(
            key=key,
            series_instance_uid=first.series_instance_uid,
            study_instance_uid=first.study_instance_uid,
            modality=first.modality,
            description=first.series_description,
            series_number=first.series_number,
            frame_of_reference_uid=first.frame_of_reference_uid,
            is_image=is_image,
        )

    if images:
        stacks: dict[tuple[Any, ...], list[FrameHeader]] = defaultdict(list)
        for header in images:
            for frame in header.frames:
                stacks[_stack_key(frame)].append(frame)
        groups = list(stacks.values())
        split_reasons = _describe_split(list(stacks.keys())) if len(groups) > 1 else []
        groups = [g for group in groups for g in _split_by_acquisition(group)]
        if len(groups) > 1 and not split_reasons:
            split_reasons = ["acquisition"]
        groups.sort(key=lambda g: _sort_key_of_group(g))
        for n, group in enumerate(groups, start=1):
            key = first.series_instance_uid if len(groups) == 1 else f"{first.series_instance_uid}#{n}"
            series = new_series(key, True)
            ordered = sort_frames(group)
            series.frames = ordered.frames
            series.spacing_mm = ordered.spacing_mm
            series.warnings.extend(ordered.warnings)
            series.instances = _unique_instances(ordered.frames)
            if len(groups) > 1:
                series.split_note = (
                    f"stack {n} of {len(groups)}: one SeriesInstanceUID mixes "
                    + ", ".join(split_reasons)
                )
                series.warnings.append(series.split_note)
            result.append(series)
    if others:
        key = first.series_instance_uid if not result else f"{first.series_instance_uid}#objects"
        series = new_series(key, False)
        series.modality = others[0].modality
        series.instances = others
        result.append(series)
    return result


def _sort_key_of_group(group: list[FrameHeader]) -> tuple[Any, ...]:
    numbers = [f.instance.instance_number or 0 for f in group]
    echo = group[0].echo
    return (echo if echo is not None else 0.0, min(numbers))


def _unique_instances(frames: list[FrameHeader]) -> list[InstanceHeader]:
    seen: dict[int, InstanceHeader] = {}
    for frame in frames:
        seen.setdefault(id(frame.instance), frame.instance)
    return list(seen.values())


def _split_by_acquisition(group: list[FrameHeader]) -> list[list[FrameHeader]]:
    """Split a stack by AcquisitionNumber only when that removes repeated slice positions."""
    positions = [f.position for f in group if f.position is not None]
    rounded = {tuple(round(v, 2) for v in p) for p in positions}
    if len(rounded) == len(positions):
        return [group]
    by_acq: dict[Optional[int], list[FrameHeader]] = defaultdict(list)
    for frame in group:
        by_acq[frame.instance.acquisition_number].append(frame)
    if len(by_acq) < 2:
        return [group]
    for frames in by_acq.values():
        pos = [tuple(round(v, 2) for v in f.position) for f in frames if f.position is not None]
        if len(set(pos)) != len(pos):
            return [group]
    return [by_acq[k] for k in sorted(by_acq, key=lambda k: (k is None, k or 0))]
