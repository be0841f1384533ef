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
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Optional, Sequence, Union

from npc_desktop import __version__
from npc_desktop.core.annotation.labels import Stage
from npc_desktop.core.annotation.patches import PatchError
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.validation import utc_now
from npc_desktop.core.dicom import SeriesInfo, StudyIndex, Volume, index_path, load_series
from npc_desktop.core.models.patch_preprocessing import PreparedPatch, prepare_patches
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.research.export_manifest import (
    MANIFEST_COLUMNS,
    MAPPING_COLUMNS,
    csv_bytes,
    manifest_row,
    raw_uint16,
)
from npc_desktop.core.research.export_sources import (
    _KIND_NAMES,
    PSEUDONYM_LENGTH,
    ExportError,
    ExportOptions,
    ExportResult,
    StudySource,
    _group_patients,
    _Patient,
    _series_for,
    sequence_of,
)
from npc_desktop.core.research.patchset import EXPORT_FORMAT
from npc_desktop.core.research.pngio import write_png
from npc_desktop.core.research.splits import PatientSplit, SplitError, split_patients

__all__ = [
    "export_dataset",
]
"""Crockford's base 32: no I, L, O or U, so a pseudonym read aloud or retyped stays the same."""
"""Random characters per pseudonym: 32**8 (about 1.1e12) codes, so pseudonyms of separate
exports collide with probability about n**2 / 2.2e12 for n patients in all (under 1e-6 for 1,000)."""


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
