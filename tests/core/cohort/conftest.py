"""A small cohort: copies of the demo study under several patients, indexed into a fresh database."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest


def copy_as_patient(demo_study: Any, target: Path, number: int) -> str:
    """Copy the demo study to ``target`` as patient ``number`` with its own UIDs; return its Study UID."""
    study_uid = f"2.25.99{number:04d}"
    for k, path in enumerate(sorted(demo_study.root.glob("*/*.dcm"))):
        ds = pydicom.dcmread(path)
        ds.PatientName = f"TEST^PATIENT {number}"
        ds.PatientID = f"TEST-{number:04d}"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = f"{study_uid}.{1 if path.parent.name == 'T1C' else 2}"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{ds.SeriesInstanceUID}.{k + 1}"
        out = target / path.parent.name / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(out, enforce_file_format=True)
    return study_uid


@pytest.fixture(scope="session")
def cohort_template(demo_study: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three patients' studies (written once per session); copy the folder before changing it."""
    root = tmp_path_factory.mktemp("cohort-template") / "cohort"
    uids = [copy_as_patient(demo_study, root / f"patient-{n}", n) for n in range(3)]
    return root, uids


@pytest.fixture
def cohort_root(cohort_template: tuple[Path, list[str]], tmp_path: Path) -> Path:
    """A private copy of the three-patient cohort."""
    root = tmp_path / "cohort"
    shutil.copytree(cohort_template[0], root)
    return root


def tumour_roi(demo_study: Any, study_uid: str) -> Any:
    """A tumour ROI on the T1C series of a patient copied by :func:`copy_as_patient`."""
    from npc_desktop.core.annotation.rois import RectRoi

    lesion = max((les for les in demo_study.lesions_for("T1C") if les.kind == "tumour"),
                 key=lambda les: (les.bbox[2] - les.bbox[0]) * (les.bbox[3] - les.bbox[1]))
    row0, col0, row1, col1 = lesion.bbox
    return RectRoi(study_instance_uid=study_uid, series_instance_uid=f"{study_uid}.1",
                   sop_instance_uid=f"{study_uid}.1.{lesion.slice_index + 1}", row0=row0, col0=col0, row1=row1,
                   col1=col1)


@pytest.fixture(scope="session")
def small_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A two-member staging engine from a tiny random-weight bundle (built once per session)."""
    from npc_desktop.core.staging.engine import StagingEngine
    from tests.core.conftest import write_small_bundle

    return StagingEngine.load(write_small_bundle(tmp_path_factory.mktemp("cohort-bundle") / "bundle"))
