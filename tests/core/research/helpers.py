"""Synthetic patch sets for the research-loop tests (imported by the test modules that need them).

Two classes that differ learnably: class ``"III"`` patches hold a bright filled blob, class
``"IVa"`` a bright ring with a dark centre, on noisy tissue-like background, with random sizes,
positions and contrasts, so a tiny model must learn the shape, not a constant.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from npc_desktop.core.research.pngio import write_png

if TYPE_CHECKING:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet

CLASSES = ("III", "IVa")


def synthetic_patch(rng: np.random.Generator, label: int, *, sixteen_bit: bool = False) -> np.ndarray:
    """One patch of class ``label`` (0: blob, 1: ring), 8- or 16-bit."""
    rows, cols = (int(v) for v in rng.integers(28, 56, size=2))
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cy = rows / 2 + rng.uniform(-3, 3)
    cx = cols / 2 + rng.uniform(-3, 3)
    radius = min(rows, cols) * rng.uniform(0.25, 0.35)
    distance = np.hypot(yy - cy, xx - cx) / radius
    background = rng.uniform(60, 100)
    image = background + rng.normal(0, 12, size=(rows, cols))
    bright = rng.uniform(90, 130)
    if label == 0:
        image += bright * np.exp(-(distance ** 2) * 1.5)
    else:
        image += bright * np.exp(-((distance - 1.0) ** 2) * 12.0)
    image = np.clip(image, 0, 255)
    if sixteen_bit:
        return (image * 257).astype(np.uint16)
    return image.astype(np.uint8)


def write_patch_set(
    root: Path, *, patients_per_class: int = 10, patches_per_patient: int = 6, seed: int = 0,
    sixteen_bit: bool = False, manifest: bool = True,
) -> Path:
    """Class folders ``III/`` and ``IVa/`` of PNG patches plus ``manifest.csv`` (file, patient, fold)."""
    rng = np.random.default_rng(seed)
    rows = []
    number = 0
    for label, name in enumerate(CLASSES):
        for _ in range(patients_per_class):
            number += 1
            patient = f"S{number:03d}"
            for k in range(patches_per_patient):
                file = f"{name}/{patient}_{k:02d}.png"
                write_png(root / file, synthetic_patch(rng, label, sixteen_bit=sixteen_bit))
                rows.append({"file": file, "patient": patient, "fold": str(1 + number % 3)})
    if manifest:
        with open(root / "manifest.csv", "w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=["file", "patient", "fold"])
            writer.writeheader()
            writer.writerows(rows)
    return root


# --------------------------------------------------------------------------------------------------
# Demo-study copies with planted PHI


@dataclass
class PlantedStudy:
    """A copy of the demo study re-written as another patient with planted identifiers."""

    root: Path
    annotations: "AnnotationSet"
    planted: dict[str, str]
    uids: list[str]


def plant_phi(
    demo_study, out_dir: Path, number: int, stage: str, *, patient_id: Optional[str] = None,
    name: Optional[str] = None, max_rois: Optional[int] = None,
) -> PlantedStudy:
    """Re-write the demo study as patient ``number`` with planted names, IDs, dates and new UIDs.

    The ROIs are the demo's ground-truth lesion boxes on the new UIDs (the first ``max_rois``
    of them if given); the label is ``stage``. ``patient_id`` and ``name`` replace the planted
    PatientID and PatientName (``""`` leaves them empty).
    """
    import pydicom
    from pydicom.uid import generate_uid

    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.labels import PatientLabel
    from npc_desktop.core.annotation.rois import RectRoi

    planted = {
        "name": f"Plantedname{number}^Secretgiven{number}",
        "family": f"Plantedname{number}",
        "given": f"Secretgiven{number}",
        "patient_id": f"PID{number}734591",
        "birth_date": f"194{number}0317",
        "accession": f"ACC{number}99817",
        "study_date": f"201{number}0412",
        "institution": f"Hospital{number}Secretville",
        "physician": f"Drphys{number}^Secret",
        "description_word": f"Descword{number}",
    }
    if patient_id is not None:
        planted["patient_id"] = patient_id
    if name is not None:
        planted["name"] = name
    uid_map: dict[str, str] = {}

    def new_uid(old: str) -> str:
        return uid_map.setdefault(old, generate_uid(prefix="1.2.826.0.1.3680043.8.498."))

    for series_key, files in demo_study.series_files.items():
        for file in files:
            ds = pydicom.dcmread(file)
            ds.PatientName = planted["name"]
            ds.PatientID = planted["patient_id"]
            ds.PatientBirthDate = planted["birth_date"]
            ds.AccessionNumber = planted["accession"]
            ds.StudyDate = planted["study_date"]
            ds.SeriesDate = planted["study_date"]
            ds.InstitutionName = planted["institution"]
            ds.ReferringPhysicianName = planted["physician"]
            ds.StudyDescription = f"MR NASOPHARYNX {planted['description_word']}"
            ds.SeriesDescription = f"{ds.SeriesDescription} {planted['description_word']}"
            for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
                setattr(ds, keyword, new_uid(getattr(ds, keyword)))
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            target = out_dir / series_key / file.name
            target.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(target, enforce_file_format=True)
    study_uid = uid_map[demo_study.study_instance_uid]
    rois = []
    for lesion in demo_study.lesions[:max_rois]:
        row0, col0, row1, col1 = lesion.bbox
        rois.append(RectRoi(
            study_instance_uid=study_uid, series_instance_uid=uid_map[demo_study.series_uids[lesion.series_key]],
            sop_instance_uid=uid_map[lesion.sop_instance_uid], row0=row0, col0=col0, row1=row1, col1=col1,
            kind="tumour" if lesion.kind == "tumour" else "lymph_node",
        ))
    annotations = AnnotationSet(study_uid, rois, PatientLabel(stage=stage, reviewer="dr-a", note="stage by TNM"))
    return PlantedStudy(out_dir, annotations, planted, sorted(uid_map.values()))
