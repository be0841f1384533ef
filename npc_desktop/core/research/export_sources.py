"""What a dataset export reads and how it names people: study sources, options and results, the
grouping of studies into patients, and random pseudonyms.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Container, Optional, Sequence, Union

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import Stage
from npc_desktop.core.annotation.patches import ContextMargin, PatchError
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.dicom import SeriesInfo, StudyIndex, index_path
from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.research.splits import PatientSplit

_KIND_NAMES = {RoiKind.TUMOUR: "tumour", RoiKind.LYMPH_NODE: "node"}
_T2 = re.compile(r"T2|STIR")
_T1 = re.compile(r"T1")
_CONTRAST = re.compile(r"T1C|T1\s*\+|\+\s*C\b|\bC\s*\+|GD|GAD|POST|\bCE\b|CONTRAST|ENH")


class ExportError(ValueError):
    """An export cannot be made; the message names the study, file or setting."""


@dataclass(frozen=True)
class StudySource:
    """One annotated study to export.

    Parameters
    ----------
    path
        Folder, zip archive or DICOMDIR holding the study's DICOM files.
    annotations
        The study's ROIs and stage label.
    """

    path: Path
    annotations: AnnotationSet


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    """Export settings.

    Parameters
    ----------
    margin
        Context margin around each ROI.
    preprocessing
        Normalisation and CLAHE of the 8-bit images.
    train_fraction
        Share of each stage's patients in the training set (0.8: the paper's 4:1).
    seed
        Seed of the split (a whole number >= 0); recorded in ``dataset.json``. Pseudonyms are
        random, not seeded.
    kinds
        ROI kinds to export.
    mapping_file
        Where to write the pseudonym -> patient mapping (PHI); None writes none.
    """

    margin: ContextMargin = ContextMargin()
    preprocessing: PatchPreprocessing = PatchPreprocessing()
    train_fraction: float = 0.8
    seed: int = 0
    kinds: tuple[RoiKind, ...] = (RoiKind.TUMOUR, RoiKind.LYMPH_NODE)
    mapping_file: Optional[Path] = None


@dataclass
class ExportResult:
    """What an export wrote.

    Attributes
    ----------
    root, manifest
        The dataset folder and its manifest.
    patches, patients
        Counts written.
    split
        The patient-level split.
    notes
        Studies and ROIs that were skipped, and doubtful patient matches, and why (by study
        position and input path only, never by name or ID).
    mapping_file
        The mapping written, if asked for.
    """

    root: Path
    manifest: Path
    patches: int
    patients: int
    split: PatientSplit
    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    mapping_file: Optional[Path] = None


def sequence_of(description: str) -> str:
    """``"T1C"``, ``"T1"``, ``"T2"`` or ``"other"`` from a series description.

    Examples
    --------
    >>> sequence_of("AX T1 +C FS"), sequence_of("WATER T2 TSE"), sequence_of("T1 SE")
    ('T1C', 'T2', 'T1')
    """
    text = description.upper()
    if _T2.search(text):
        return "T2"
    if _T1.search(text):
        return "T1C" if _CONTRAST.search(text) else "T1"
    return "other"


# --------------------------------------------------------------------------------------------------
# Finding the studies


def sources_from_paths(
    paths: Sequence[Union[str, Path]],
    store: AnnotationStore,
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> tuple[list[StudySource], list[str]]:
    """The annotated studies found under the given paths, with the stored annotations.

    Returns
    -------
    sources, notes
        One source per study that has an annotation file; notes name paths without one.

    Raises
    ------
    ExportError
        If no given path holds an annotated study.
    """
    sources: list[StudySource] = []
    notes: list[str] = []
    for number, path in enumerate(paths):
        check_cancelled(cancel)
        index = index_path(path, cancel=cancel)
        found = 0
        for patient in index.patients:
            for study in patient.studies:
                if not store.exists(study.study_instance_uid):
                    continue
                loaded = store.load(study.study_instance_uid)
                notes.extend(str(problem) for problem in loaded.problems)
                sources.append(StudySource(Path(path), loaded.annotations))
                found += 1
        if not found:
            notes.append(f"{path}: no annotated study (no annotation file in {store.directory})")
        if progress is not None:
            progress(number + 1, len(paths))
    if not sources:
        raise ExportError(f"none of the {len(paths)} path(s) holds an annotated study; annotate in the app first")
    return sources, notes


# --------------------------------------------------------------------------------------------------
# Writing


def _series_for(index: StudyIndex, roi: RectRoi) -> SeriesInfo:
    for series in index.image_series():
        if series.series_instance_uid == roi.series_instance_uid and any(
            f.sop_instance_uid == roi.sop_instance_uid for f in series.frames
        ):
            return series
    raise PatchError("its image is not in the indexed series")


@dataclass
class _Patient:
    key: tuple[str, ...]
    pseudonym: str = ""
    stage: Optional[Stage] = None
    studies: list[tuple[int, StudySource, Any, Any]] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)
    count: int = 0


PSEUDONYM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PSEUDONYM_LENGTH = 8

_PLACEHOLDER_NAMES = re.compile(
    r"ANONYMOUS|ANONYMI[SZ]ED|ANON|DE-?IDENTIFIED|REMOVED|UNKNOWN|NO|NAME|NONAME|NONE|NULL|N/?A|PATIENT|TEST|"
    r"X+|\*+|-+|\?+|0+"
)


def normalise_patient_name(name: str) -> str:
    """A DICOM person name compared case- and padding-insensitively.

    Components (``family^given^middle^prefix^suffix``) are stripped of spaces, runs of spaces
    become one, trailing empty components are dropped and letters are upper-cased.

    Examples
    --------
    >>> normalise_patient_name("Doe^John^^^"), normalise_patient_name(" doe ^ john ")
    ('DOE^JOHN', 'DOE^JOHN')
    """
    parts = [" ".join(part.split()).upper() for part in str(name).split("^")]
    while parts and not parts[-1]:
        parts.pop()
    return "^".join(parts)


def _is_placeholder(name: str) -> bool:
    words = [w for w in re.split(r"[\s^,.]+", name) if w]
    return all(_PLACEHOLDER_NAMES.fullmatch(word) for word in words)


def new_pseudonym(taken: Container[str] = ()) -> str:
    """A random pseudonym ``P-`` + 8 characters of :data:`PSEUDONYM_ALPHABET`, not in ``taken``.

    Drawn with :mod:`secrets`: nothing recorded in a dataset (its seed, its patient order)
    reproduces it, and pseudonyms of separate exports are distinct with high probability.
    """
    while True:
        code = "P-" + "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(PSEUDONYM_LENGTH))
        if code not in taken:
            return code


def _patient_key(patient_info: Any, study_uid: str, where: str, notes: list[str]) -> tuple[str, ...]:
    """Who a study belongs to: the patient ID when there is one, else the normalised name, else the study."""
    patient_id = str(patient_info.patient_id).strip()
    if patient_id:
        return ("id", patient_id)
    name = normalise_patient_name(patient_info.name)
    if name and not _is_placeholder(name):
        return ("name", name)
    what = "a placeholder patient name" if name else "no patient name"
    notes.append(f"{where}: no patient ID and {what}; exported as a patient of its own (if another study is the "
                 "same patient, it may land in the other set: give the studies a patient ID)")
    return ("study", study_uid)


def _group_patients(
    sources: Sequence[StudySource], indexes: dict[Path, StudyIndex], notes: list[str]
) -> list[_Patient]:
    patients: dict[tuple[str, ...], _Patient] = {}
    for number, source in enumerate(sources, start=1):
        annotations = source.annotations
        where = f"study {number} ({source.path})"
        match = [
            (patient, study)
            for patient in indexes[source.path].patients
            for study in patient.studies
            if study.study_instance_uid == annotations.study_instance_uid
        ]
        if not match:
            raise ExportError(f"{where}: the annotated study is not in {source.path}")
        if annotations.label.stage is Stage.UNKNOWN:
            notes.append(f"{where}: no stage label (III or IVa); skipped")
            continue
        if not annotations.rois:
            notes.append(f"{where}: no ROIs; skipped")
            continue
        patient_info, study_info = match[0]
        key = _patient_key(patient_info, annotations.study_instance_uid, where, notes)
        entry = patients.setdefault(key, _Patient(key))
        if entry.stage is not None and entry.stage is not annotations.label.stage:
            raise ExportError(
                f"{where}: labelled {annotations.label.stage.value}, but another study of the same patient is "
                f"labelled {entry.stage.value}; a patient has one stage"
            )
        name = normalise_patient_name(patient_info.name)
        if key[0] == "id" and name and entry.names and name not in entry.names:
            notes.append(
                f"{where}: same patient ID as study {min(entry.names.values())} but another patient name; "
                "exported as one patient (check the IDs if they are different people)"
            )
        if key[0] == "name" and entry.studies:
            notes.append(f"{where}: no patient ID; matched to study {entry.studies[0][0]} by the patient name "
                         "and exported as one patient")
        if name:
            entry.names.setdefault(name, number)
        entry.stage = annotations.label.stage
        entry.studies.append((number, source, patient_info, study_info))
    ordered = sorted(patients.values(), key=lambda p: p.key)
    taken: set[str] = set()
    for entry in ordered:
        entry.pseudonym = new_pseudonym(taken)
        taken.add(entry.pseudonym)
    return ordered
