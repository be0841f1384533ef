"""Shared fixtures: the real data folder, the demo study, and quiet pydicom warnings."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.pacs_fixtures"]  # the Orthanc session fixture
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    # pydicom warns about non-conformant values in the deliberately broken test files.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom\..*")


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data``: real scanner DICOM and public test files.

    Fails in CI (``CI=true``) when the folder is missing, skips elsewhere.
    """
    if not (SHARED_DATA / "dicom").is_dir():
        message = f"real data folder {SHARED_DATA} is missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI must run with ../shared beside the clone)")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def dicom_dir(real_data_dir: Path) -> Path:
    """``../shared/data/dicom``."""
    return real_data_dir / "dicom"


@pytest.fixture(scope="session")
def tcia_dir(dicom_dir: Path) -> Path:
    """The 120-slice TCIA contrast T1 head series."""
    return dicom_dir / "mr-head-t1c-tcia-vs-seg-001"


@pytest.fixture(scope="session")
def pydicom_test_files(dicom_dir: Path) -> Path:
    """pydicom's test files folder (encodings, DICOMDIR, malformed files)."""
    return dicom_dir / "pydicom__pydicom" / "src" / "pydicom" / "data" / "test_files"


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory: pytest.TempPathFactory):
    """The synthetic demo study, written once per test session."""
    from npc_desktop.core.demo.dicom_writer import write_demo_study

    return write_demo_study(tmp_path_factory.mktemp("demo-study") / "study")


def roi_from_demo_lesion(demo_study, lesion):
    """A RectRoi on a demo lesion's ground-truth box."""
    from npc_desktop.core.annotation.rois import RectRoi

    row0, col0, row1, col1 = lesion.bbox
    return RectRoi(
        study_instance_uid=demo_study.study_instance_uid,
        series_instance_uid=demo_study.series_uids[lesion.series_key],
        sop_instance_uid=lesion.sop_instance_uid,
        row0=row0, col0=col0, row1=row1, col1=col1,
        kind="tumour" if lesion.kind == "tumour" else "lymph_node",
    )


# -- Tiny staging models, shared by tests/core and tests/gui ------------------------------------------


@pytest.fixture(scope="session")
def tiny_demo_engine():
    """The untrained demo engine (five members) at tiny input sizes, traced once per session.

    Built here rather than in tests/core so the GUI tests reuse it: building InceptionResNetV2 is
    the slow part (see tests/core/conftest.py TINY_SIZES).
    """
    from npc_desktop.core.staging.engine import StagingEngine
    from tests.core.conftest import TINY_SIZES

    engine = StagingEngine.demo(input_sizes=TINY_SIZES, batch_size=4, runtime="tf")
    engine.warm_up()
    return engine


@pytest.fixture(scope="session")
def small_onnx_bundle(tmp_path_factory):
    """The two-member test bundle (DenseNet121 + Basic CNN, 32 px) with its ONNX graphs, written once.

    Do not modify it; copy it first.
    """
    from tests.core.conftest import write_small_bundle

    return write_small_bundle(tmp_path_factory.mktemp("onnx-bundle") / "bundle")
