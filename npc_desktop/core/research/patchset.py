"""A labelled set of PNG patches: class subfolders plus a manifest naming each file's patient.

Two layouts are read:

- the app's own export (:mod:`.export`): ``dataset.json``, ``manifest.csv`` and the images
  under ``clahe/<split>/<stage>/`` and ``raw/<split>/<stage>/``; the split is the exported one;
- any folder of class subfolders of 8- or 16-bit PNG patches (the layout
  ``keras.utils.image_dataset_from_directory`` reads) plus one or more manifest CSVs with a
  ``file`` column (path relative to the folder) and a ``patient`` column. Further CSVs add
  columns (a fold column, say), joined on ``file``.

Class names come from the data (sorted folder names, as Keras orders them), so a set of
meningioma / glioma patches trains a bundle that stages "glioma / meningioma".

Merged exports: rows that carry an ``export_id`` (every export writes one) are checked, and a
patient pseudonym found in two different exports is reported in :attr:`PatchSet.warnings`,
since separate exports' pseudonyms only name the same patient by chance.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.research.pngio import PngError, read_png
from npc_desktop.core.research.splits import (
    PatientSplit,
    SplitError,
    patient_values,
    split_by_folds,
    split_patients,
)

__all__ = [
    "DatasetError",
    "EXPORT_FORMAT",
    "PatchRecord",
    "PatchSet",
    "load_patch_set",
    "read_csv_rows",
    "pseudonym_collisions",
    "SIXTEEN_BIT_PREPROCESSING",
]

EXPORT_FORMAT = "npc-desktop.patch-dataset"
"""``format`` field of an exported ``dataset.json``."""

SIXTEEN_BIT_PREPROCESSING = PatchPreprocessing(scope="patch")
"""How a 16-bit patch becomes the 8-bit model input: percentile window and CLAHE on the patch."""

_IMAGE_SUFFIXES = (".png",)


class DatasetError(ValueError):
    """A patch set cannot be read or used; the message names the file, column or setting."""


@dataclass(frozen=True)
class PatchRecord:
    """One patch file of a set.

    Attributes
    ----------
    file
        Path relative to the set's root, with forward slashes.
    label
        Class name (a stage for NPC exports).
    patient
        Pseudonymous patient identifier.
    fields
        Every manifest column of the file's row(s), as strings.
    """

    file: str
    label: str
    patient: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PatchSet:
    """Patch records with their class names and, for exports, the exported split.

    Attributes
    ----------
    root
        Folder the record paths are relative to.
    class_names
        Class names in model-output order.
    records
        The patches, sorted by file.
    split
        The split written by an export, or None for a plain folder.
    description
        What was read (for provenance).
    warnings
        Doubts about the data that do not stop its use, one line each (a pseudonym that comes
        from two different exports, say).
    """

    root: Path
    class_names: tuple[str, ...]
    records: tuple[PatchRecord, ...]
    split: Optional[PatientSplit] = None
    description: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.records)

    def path(self, record: PatchRecord) -> Path:
        """Absolute path of a record's file."""
        return self.root / record.file

    def label_indices(self, records: Optional[Sequence[PatchRecord]] = None) -> np.ndarray:
        """Class index of each record (default: all records), int64."""
        index = {name: i for i, name in enumerate(self.class_names)}
        return np.array([index[r.label] for r in (self.records if records is None else records)], dtype=np.int64)

    def patients(self) -> dict[str, str]:
        """Patient -> majority class (ties broken by class order)."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for record in self.records:
            counts[record.patient][record.label] += 1
        order = {name: i for i, name in enumerate(self.class_names)}
        return {
            patient: max(counter, key=lambda label: (counter[label], -order[label]))
            for patient, counter in sorted(counts.items())
        }

    def subset(self, patients: Iterable[str]) -> tuple[PatchRecord, ...]:
        """The records of the given patients, in file order."""
        chosen = set(patients)
        return tuple(r for r in self.records if r.patient in chosen)

    def counts(self, records: Optional[Sequence[PatchRecord]] = None) -> dict[str, dict[str, int]]:
        """``{class: {"patches": n, "patients": m}}`` for the records (default: all)."""
        chosen = self.records if records is None else records
        out: dict[str, dict[str, int]] = {}
        for name in self.class_names:
            mine = [r for r in chosen if r.label == name]
            out[name] = {"patches": len(mine), "patients": len({r.patient for r in mine})}
        return out

    # -- splits -----------------------------------------------------------------------------------

    def split_by_fraction(self, *, train_fraction: float = 0.8, seed: int = 0) -> PatientSplit:
        """A stratified patient-level split (see :func:`.splits.split_patients`)."""
        return split_patients(self.patients(), train_fraction=train_fraction, seed=seed)

    def split_by_fold_column(
        self, column: str, *, test_folds: Sequence[str], train_folds: Optional[Sequence[str]] = None
    ) -> PatientSplit:
        """A split by a manifest column holding one fold value per patient.

        Raises
        ------
        DatasetError
            If the column is missing from the manifest or the folds are inconsistent.
        """
        missing = [r.file for r in self.records if column not in r.fields]
        if missing:
            known = sorted(self.records[0].fields) if self.records else []
            raise DatasetError(
                f"fold column {column!r} is not in the manifest for {missing[0]} "
                f"(columns: {', '.join(known)})"
            )
        try:
            folds = patient_values(((r.patient, r.fields[column]) for r in self.records), what=f"{column!r}")
            return split_by_folds(folds, test_folds=test_folds, train_folds=train_folds, column=column)
        except SplitError as exc:
            raise DatasetError(str(exc)) from None

    # -- images -----------------------------------------------------------------------------------

    def load_image(
        self, record: PatchRecord, *, sixteen_bit: PatchPreprocessing = SIXTEEN_BIT_PREPROCESSING
    ) -> np.ndarray:
        """A record's image as the 8-bit patch the models take.

        8-bit files are used as stored (exports hold them after CLAHE); 16-bit files go
        through ``sixteen_bit`` (normalisation to 8 bits, then CLAHE).

        Raises
        ------
        DatasetError
            Naming the file when it cannot be read.
        """
        try:
            image = read_png(self.path(record))
        except PngError as exc:
            raise DatasetError(str(exc)) from None
        return image if image.dtype == np.uint8 else sixteen_bit(image)

    def load_images(
        self,
        records: Sequence[PatchRecord],
        *,
        sixteen_bit: PatchPreprocessing = SIXTEEN_BIT_PREPROCESSING,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
    ) -> list[np.ndarray]:
        """:meth:`load_image` for many records, with progress and cancel between files."""
        images = []
        for done, record in enumerate(records):
            check_cancelled(cancel)
            images.append(self.load_image(record, sixteen_bit=sixteen_bit))
            if progress is not None:
                progress(done + 1, len(records))
        return images


# --------------------------------------------------------------------------------------------------
# Reading


def read_csv_rows(path: Path, *, key: str = "file") -> tuple[list[str], list[dict[str, str]]]:
    """Columns and rows of a CSV file that has a ``key`` column.

    Raises
    ------
    DatasetError
        Naming the file when it is missing, not UTF-8 CSV, or lacks the key column.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            columns = list(reader.fieldnames or [])
            rows = [dict(row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read the CSV file ({getattr(exc, 'strerror', None) or exc})") from None
    if key not in columns:
        raise DatasetError(f"{path}: no {key!r} column (columns: {', '.join(columns) or 'none'})")
    for number, row in enumerate(rows, start=2):
        if None in row or any(value is None for value in row.values()):
            raise DatasetError(f"{path}, line {number}: wrong number of fields")
    return columns, rows


def pseudonym_collisions(records: Iterable[PatchRecord], where: Union[str, Path]) -> list[str]:
    """Warnings for patients whose rows come from more than one export (``export_id`` column).

    Each export draws its own random pseudonyms, so a pseudonym seen in two exports of a merged
    dataset is most likely two different patients (or one patient exported twice).
    """
    exports: dict[str, set[str]] = defaultdict(set)
    for record in records:
        export_id = record.fields.get("export_id", "").strip()
        if export_id:
            exports[record.patient].add(export_id)
    return [
        f"{where}: patient {patient} comes from {len(ids)} different exports ({', '.join(sorted(ids))}); "
        "they may be different patients under one pseudonym - merge only exports with distinct pseudonyms"
        for patient, ids in sorted(exports.items()) if len(ids) > 1
    ]


def _norm(file: str) -> str:
    name = file.strip().replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def _merge_manifests(manifests: Sequence[Path], files: set[str]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    origin: dict[tuple[str, str], Path] = {}
    for path in manifests:
        _, rows = read_csv_rows(path)
        for number, row in enumerate(rows, start=2):
            name = _norm(row["file"])
            if name not in files:
                raise DatasetError(f"{path}, line {number}: {name} is not a PNG in a class folder of the data set")
            target = merged.setdefault(name, {})
            for column, value in row.items():
                value = value.strip()
                if column in target and target[column] != value:
                    raise DatasetError(
                        f"{path}, line {number}: column {column!r} of {name} is {value!r} here "
                        f"but {target[column]!r} in {origin[(name, column)]}"
                    )
                target[column] = value
                origin.setdefault((name, column), path)
    return merged


def _class_files(root: Path) -> dict[str, list[str]]:
    classes: dict[str, list[str]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(
            p.relative_to(root).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if files:
            classes[folder.name] = files
    return classes


def _load_folder(root: Path, manifests: Sequence[Path], patient_column: str) -> PatchSet:
    classes = _class_files(root)
    if len(classes) < 2:
        raise DatasetError(
            f"{root}: expected at least two class subfolders holding PNG patches, found "
            f"{len(classes)} ({', '.join(classes) or 'none'})"
        )
    if not manifests:
        default = root / "manifest.csv"
        if not default.is_file():
            raise DatasetError(
                f"{root}: no manifest.csv; give a manifest CSV with 'file' and '{patient_column}' columns "
                "so the data can be split by patient"
            )
        manifests = [default]
    files = {name for names in classes.values() for name in names}
    merged = _merge_manifests(manifests, files)
    records = []
    for label, names in classes.items():
        for name in names:
            row = merged.get(name)
            if row is None:
                raise DatasetError(f"{root / name}: not listed in the manifest ({manifests[0]})")
            patient = row.get(patient_column, "")
            if not patient:
                raise DatasetError(f"{manifests[0]}: no {patient_column!r} value for {name}")
            for column in ("class", "label"):
                if row.get(column) and row[column] != label:
                    raise DatasetError(f"{manifests[0]}: {name} is in folder {label!r} but its {column} is {row[column]!r}")
            records.append(PatchRecord(name, label, patient, row))
    description = {
        "layout": "class folders",
        "root_name": root.name,
        "manifests": [p.name for p in manifests],
        "patient_column": patient_column,
    }
    warnings = tuple(pseudonym_collisions(records, manifests[0]))
    if warnings:
        description["warnings"] = list(warnings)
    return PatchSet(root, tuple(classes), tuple(records), None, description, warnings)


def _load_export(root: Path, image: str) -> PatchSet:
    try:
        info = json.loads((root / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{root / 'dataset.json'}: cannot read ({exc})") from None
    if info.get("format") != EXPORT_FORMAT:
        raise DatasetError(f"{root / 'dataset.json'}: not an NPC Desktop patch dataset (format {info.get('format')!r})")
    column = {"clahe": "file", "raw": "raw_file"}[image]
    _, rows = read_csv_rows(root / "manifest.csv", key=column)
    class_names = tuple(info["class_names"])
    records = []
    for number, row in enumerate(rows, start=2):
        if row["label"] not in class_names:
            raise DatasetError(f"{root / 'manifest.csv'}, line {number}: label {row['label']!r} is not one of {class_names}")
        records.append(PatchRecord(_norm(row[column]), row["label"], row["patient"], row))
    warnings = tuple(pseudonym_collisions(records, root / "manifest.csv"))
    train = {r.patient for r in records if r.fields.get("split") == "train"}
    test = {r.patient for r in records if r.fields.get("split") == "test"}
    both = sorted(train & test)
    if both:
        merged = any(f"patient {both[0]} comes from" in w for w in warnings)
        raise DatasetError(
            f"{root / 'manifest.csv'}: patient {both[0]} is in both the training and the test split"
            + ("; its rows come from different exports: merge only exports with distinct pseudonyms" if merged else "")
        )
    split = PatientSplit(tuple(train), tuple(test), "fraction", dict(info.get("split", {})))
    description = {"layout": "npc-desktop export", "root_name": root.name, "image": image,
                   "export": {k: info[k] for k in ("margin", "preprocessing", "split") if k in info}}
    if warnings:
        description["warnings"] = list(warnings)
    return PatchSet(root, class_names, tuple(sorted(records, key=lambda r: r.file)), split, description, warnings)


def load_patch_set(
    root: Union[str, Path],
    manifests: Sequence[Union[str, Path]] = (),
    *,
    patient_column: str = "patient",
    image: str = "clahe",
) -> PatchSet:
    """Read a patch set: an NPC Desktop export or any class-folder set with a manifest.

    Parameters
    ----------
    root
        The export folder, or the folder whose subfolders are the classes.
    manifests
        CSV files with a ``file`` column, joined on it; the first needs ``patient_column``.
        For a class-folder set, ``root/manifest.csv`` is used when none is given.
    patient_column
        Column naming each file's patient.
    image
        For exports: ``"clahe"`` (8-bit, the model input) or ``"raw"`` (16-bit crops).

    Raises
    ------
    DatasetError
        Naming the folder, file or column that is missing or inconsistent.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    if image not in ("clahe", "raw"):
        raise DatasetError(f"image must be 'clahe' or 'raw', got {image!r}")
    if (root / "dataset.json").is_file():
        if manifests:
            raise DatasetError(f"{root} is an NPC Desktop export with its own manifest.csv; give no other manifest")
        return _load_export(root, image)
    return _load_folder(root, [Path(m) for m in manifests], patient_column)
