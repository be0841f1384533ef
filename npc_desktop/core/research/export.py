"""Export annotated studies as a de-identified patch dataset.

For every ROI of every study with a stage label (III or IVa) the export writes the patch twice,
as the raw 16-bit crop and as the 8-bit CLAHE image the models take, in the layout
``keras.utils.image_dataset_from_directory`` reads::

    OUT/dataset.json                      format, settings, seed, split, counts
    OUT/manifest.csv                      one row per patch (see MANIFEST_COLUMNS)
    OUT/clahe/<train|test>/<stage>/P-7KQ2M9XT_T1C_tumour_001.png
    OUT/raw/<train|test>/<stage>/P-7KQ2M9XT_T1C_tumour_001.png

De-identified by default: patients get random pseudonyms (``P-`` and 8 characters, drawn with
:mod:`secrets`, so neither the recorded seed nor the order of the patients reproduces them); no
patient name, ID, birth date, accession number, DICOM UID, series description or input path
appears in a file name, the manifest, ``dataset.json`` or the PNGs (which carry no metadata
chunks). The pseudonym -> patient mapping is written only when asked for, to a file outside the
dataset.

A patient is recognised by the PatientID; without one, by the patient name compared
case- and padding-insensitively (``DOE^JOHN`` = ``Doe^John^^^``); without either (or with a
placeholder name such as ``ANONYMOUS``), each study is its own patient. Doubtful matches are
reported in the export's notes.

The split is by patient (never by patch), stratified by stage, 4:1 by default, seeded: the same
studies and seed give the same split, whatever the pseudonyms.
The output appears only complete: it is built in a temporary sibling folder and renamed.

Merging exports (copying several exports' folders into one and joining their manifests) is safe
only when their pseudonyms are distinct: each export draws its own, so one patient exported twice
gets two pseudonyms (and could land in both the training and the test set), and the same
pseudonym in two exports would be two patients. Every row carries its export's ``export_id``;
:func:`~.patchset.load_patch_set` warns when a pseudonym comes from two exports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Container, Optional, Sequence, Union

from npc_desktop import __version__
from npc_desktop.core.annotations import AnnotationSet, RectRoi, RoiKind, Stage, utc_now
from npc_desktop.core.dicom import SeriesInfo, StudyIndex, Volume, index_path, load_series
from npc_desktop.core.patches import (
    ContextMargin,
    PatchError,
    PatchPreprocessing,
    PreparedPatch,
    prepare_patches,
)
from npc_desktop.core.persistence import AnnotationStore
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.research.export_manifest import (
    MANIFEST_COLUMNS,
    MAPPING_COLUMNS,
    csv_bytes,
    manifest_row,
    raw_uint16,
)
from npc_desktop.core.research.patchset import EXPORT_FORMAT
from npc_desktop.core.research.pngio import write_png
from npc_desktop.core.research.splits import PatientSplit, SplitError, split_patients

__all__ = [
    "ExportError",
    "StudySource",
    "ExportOptions",
    "ExportResult",
    "MANIFEST_COLUMNS",
    "MAPPING_COLUMNS",
    "sequence_of",
    "sources_from_paths",
    "export_dataset",
    "new_pseudonym",
    "normalise_patient_name",
    "PSEUDONYM_ALPHABET",
    "PSEUDONYM_LENGTH",
]

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
"""Crockford's base 32: no I, L, O or U, so a pseudonym read aloud or retyped stays the same."""

PSEUDONYM_LENGTH = 8
"""Random characters per pseudonym: 32**8 (about 1.1e12) codes, so pseudonyms of separate
exports collide with probability about n**2 / 2.2e12 for n patients in all (under 1e-6 for 1,000)."""

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


def _split(patients: Sequence[_Patient], options: ExportOptions) -> PatientSplit:
    """The seeded split, made on the patients in identity order and then told by pseudonym.

    The random pseudonyms play no part, so the same studies and seed give the same split.
    """
    width = len(str(len(patients)))
    try:
        by_rank = split_patients(
            {f"{rank:0{width}d}": p.stage.value for rank, p in enumerate(patients)},  # type: ignore[union-attr]
            train_fraction=options.train_fraction, seed=options.seed,
        )
    except SplitError as exc:
        raise ExportError(str(exc)) from None
    return PatientSplit(
        tuple(patients[int(rank)].pseudonym for rank in by_rank.train),
        tuple(patients[int(rank)].pseudonym for rank in by_rank.test),
        by_rank.method, by_rank.details,
    )


def _check_output(out_dir: Path, mapping: Optional[Path]) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportError(f"{out_dir}: the output folder exists and is not empty; choose a new folder")
    if not out_dir.parent.is_dir():
        raise ExportError(f"{out_dir}: its parent folder {out_dir.parent} does not exist")
    if mapping is not None:
        mapping = Path(mapping)
        if mapping.resolve().is_relative_to(out_dir.resolve()):
            raise ExportError(
                f"{mapping}: the pseudonym mapping holds patient identity; keep it outside the dataset folder {out_dir}"
            )
        if mapping.exists():
            raise ExportError(f"{mapping}: the mapping file exists; choose another name (it is never overwritten)")
        if not mapping.parent.is_dir():
            raise ExportError(f"{mapping}: its folder {mapping.parent} does not exist")


def export_dataset(
    sources: Sequence[StudySource],
    out_dir: Union[str, Path],
    *,
    options: ExportOptions = ExportOptions(),
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> ExportResult:
    """Write a de-identified patch dataset from annotated studies.

    Parameters
    ----------
    sources
        The annotated studies (several may belong to one patient).
    out_dir
        A new or empty folder.
    options
        Margin, preprocessing, split and mapping settings.
    progress
        Called as ``progress(done, total)`` in ROIs; safe to call from a worker thread.
    cancel
        Checked between ROIs and while series load; on cancel nothing is left behind.

    Returns
    -------
    ExportResult

    Raises
    ------
    ExportError
        For an unusable output folder or mapping path, inconsistent stage labels, or when
        no patch could be exported.
    OperationCancelled
        If cancelled.
    """
    out_dir = Path(out_dir)
    _check_output(out_dir, options.mapping_file)
    notes: list[str] = []
    indexes: dict[Path, StudyIndex] = {}
    for source in sources:
        if source.path not in indexes:
            check_cancelled(cancel)
            indexes[source.path] = index_path(source.path, cancel=cancel)
    patients = _group_patients(sources, indexes, notes)
    if not patients:
        raise ExportError("no study has both ROIs and a stage label (III or IVa); nothing to export")
    split = _split(patients, options)
    stages = [s.value for s in (Stage.III, Stage.IVA) if any(p.stage is s for p in patients)]
    export_id = secrets.token_hex(6)
    temporary = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        rows = _write_patches(patients, indexes, temporary, split, stages, options, notes, progress, cancel,
                              export_id)
        if not rows:
            raise ExportError("no ROI could be cropped; nothing to export")
        counts = _counts(rows, stages)
        (temporary / "manifest.csv").write_bytes(csv_bytes(MANIFEST_COLUMNS, rows))
        info = {
            "format": EXPORT_FORMAT,
            "version": 1,
            "export_id": export_id,
            "created": utc_now().isoformat(timespec="seconds"),
            "software": f"npc-desktop {__version__}",
            "class_names": stages,
            "margin": options.margin.to_dict(),
            "preprocessing": options.preprocessing.to_dict(),
            "kinds": [_KIND_NAMES[k] for k in options.kinds],
            "split": split.to_dict(),
            "counts": counts,
            "images": {"clahe": "8-bit PNG after normalisation and CLAHE (the model input)",
                       "raw": "16-bit PNG of the stored values; value = png * raw_scale + raw_offset"},
            "deidentified": True,
            "pseudonyms": (f"random codes P- + {PSEUDONYM_LENGTH} characters, not derived from the seed or the "
                           "patients; merge exports only if their pseudonyms are distinct (the same patient in two "
                           "exports gets two pseudonyms, and one pseudonym in two exports is two patients)"),
        }
        (temporary / "dataset.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(temporary, out_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    mapping = _write_mapping(patients, options.mapping_file) if options.mapping_file else None
    return ExportResult(out_dir, out_dir / "manifest.csv", len(rows), len(patients), split, counts, notes, mapping)


def _counts(rows: Sequence[dict[str, str]], stages: Sequence[str]) -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for side in ("train", "test"):
        out[side] = {}
        for stage in stages:
            mine = [r for r in rows if r["split"] == side and r["label"] == stage]
            out[side][stage] = {"patches": len(mine), "patients": len({r["patient"] for r in mine})}
    return out


def _write_patches(
    patients: Sequence[_Patient], indexes: dict[Path, StudyIndex], root: Path, split: PatientSplit,
    stages: Sequence[str], options: ExportOptions, notes: list[str],
    progress: Optional[ProgressCallback], cancel: Optional[CancelToken], export_id: str,
) -> list[dict[str, str]]:
    for image in ("clahe", "raw"):
        for side in ("train", "test"):
            for stage in stages:
                (root / image / side / stage).mkdir(parents=True)
    total = sum(len(source.annotations.rois) for p in patients for _, source, _, _ in p.studies)
    done = 0
    rows: list[dict[str, str]] = []
    for patient in sorted(patients, key=lambda p: p.pseudonym):
        side = split.side(patient.pseudonym) or "train"
        series_labels: dict[str, str] = {}
        for number, source, _, _ in patient.studies:
            by_series: dict[str, tuple[SeriesInfo, list[RectRoi]]] = {}
            for roi in source.annotations.rois:
                if roi.kind not in options.kinds:
                    done += 1
                    continue
                try:
                    series = _series_for(indexes[source.path], roi)
                except PatchError as exc:
                    notes.append(f"study {number} ({source.path}), ROI {roi.id}: {exc}; skipped")
                    done += 1
                    continue
                by_series.setdefault(series.key, (series, []))[1].append(roi)
            for series, rois in by_series.values():
                check_cancelled(cancel)
                volume = load_series(series, cancel=cancel)
                label = series_labels.setdefault(series.key, f"S{len(series_labels) + 1}")
                sequence = sequence_of(volume.meta.series_description)
                for prepared in _prepare(volume, rois, options, notes, f"study {number} ({source.path})"):
                    check_cancelled(cancel)
                    patient.count += 1
                    name = f"{patient.pseudonym}_{sequence}_{_KIND_NAMES[prepared.patch.kind]}_{patient.count:03d}.png"
                    stage = patient.stage.value  # type: ignore[union-attr]
                    raw = raw_uint16(prepared.patch.pixels)
                    clahe_bytes = write_png(root / "clahe" / side / stage / name, prepared.image)
                    raw_bytes = write_png(root / "raw" / side / stage / name, raw[0])
                    hashes = (hashlib.sha256(clahe_bytes).hexdigest(), hashlib.sha256(raw_bytes).hexdigest())
                    rows.append(manifest_row(
                        prepared, name=name, split=side, pseudonym=patient.pseudonym, stage=stage,
                        kind=_KIND_NAMES[prepared.patch.kind], series_label=label, sequence=sequence,
                        margin=options.margin, preprocessing=options.preprocessing, raw_scale=raw[1],
                        raw_offset=raw[2], hashes=hashes, export_id=export_id,
                    ))
                    done += 1
                    if progress is not None:
                        progress(done, total)
    return rows


def _prepare(
    volume: Volume, rois: Sequence[RectRoi], options: ExportOptions, notes: list[str], where: str
) -> list[PreparedPatch]:
    try:
        return prepare_patches(volume, rois, margin=options.margin, preprocessing=options.preprocessing)
    except PatchError:
        pass
    prepared = []
    for roi in rois:  # one bad ROI must not cost the others
        try:
            prepared.extend(prepare_patches(volume, [roi], margin=options.margin, preprocessing=options.preprocessing))
        except PatchError as exc:
            notes.append(f"{where}, ROI {roi.id}: {exc}; skipped")
    return prepared


def _write_mapping(patients: Sequence[_Patient], path: Path) -> Path:
    rows = []
    for patient in sorted(patients, key=lambda p: p.pseudonym):
        for _, _, info, study in patient.studies:
            rows.append({
                "pseudonym": patient.pseudonym, "patient_id": info.patient_id, "patient_name": info.name,
                "patient_birth_date": info.birth_date, "study_instance_uid": study.study_instance_uid,
                "accession_number": study.accession_number, "study_date": study.date,
            })
    data = csv_bytes(MAPPING_COLUMNS, rows)
    with open(path, "xb") as stream:  # never overwrite: "x" fails if it appeared meanwhile
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    return Path(path)
