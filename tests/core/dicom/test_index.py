"""Indexing: tree building, series splitting, slice sorting, warnings, containers, cancel."""

from __future__ import annotations

import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from npc_desktop.core.dicom import NoImagesError, index_path, load_series
from npc_desktop.core.progress import OperationCancelled

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def tcia_index(tcia_dir: Path):
    return index_path(tcia_dir)


def test_tcia_series_is_one_patient_one_series(tcia_index) -> None:
    assert len(tcia_index.patients) == 1
    series = tcia_index.image_series()
    assert len(series) == 1
    assert series[0].image_count == 120
    assert series[0].matrix == (512, 512)
    assert series[0].spacing_mm == pytest.approx(1.5)
    assert series[0].warnings == []
    assert tcia_index.non_dicom_count == 1  # ATTRIBUTION.md


def test_slice_order_matches_simpleitk(tcia_dir: Path, tcia_index) -> None:
    ours = [str(f.instance.ref.path) for f in tcia_index.image_series()[0].frames]
    oracle = list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(tcia_dir)))
    assert [Path(p).resolve() for p in ours] == [Path(p).resolve() for p in oracle]


def test_geometry_and_voxels_match_simpleitk(tcia_dir: Path, tcia_index) -> None:
    volume = load_series(tcia_index.image_series()[0])
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(tcia_dir)))
    image = reader.Execute()
    assert volume.shape == (120, 512, 512)
    np.testing.assert_array_equal(volume.voxels, sitk.GetArrayViewFromImage(image))
    np.testing.assert_allclose(volume.spacing, image.GetSpacing(), atol=1e-6)
    np.testing.assert_allclose(volume.origin, image.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(volume.direction.flatten(), image.GetDirection(), atol=1e-6)
    # index -> patient mapping agrees with ITK's
    for index in [(0, 0, 0), (17, 300, 45), (119, 511, 511)]:
        k, j, i = index
        np.testing.assert_allclose(
            volume.index_to_patient(k, j, i), image.TransformIndexToPhysicalPoint((i, j, k)), atol=1e-4
        )
    assert volume.nearest_slice(image.TransformIndexToPhysicalPoint((5, 5, 77))) == 77
    assert len({s.sop_instance_uid for s in volume.slices}) == 120
    assert volume.window == (604.0, 1167.0)
    assert volume.meta.patient_id == "VS-SEG-001"


def test_whole_data_folder(dicom_dir: Path) -> None:
    index = index_path(dicom_dir)
    descriptions = {s.description for s in index.image_series()}
    assert "t1_mpr_tra_gk_v4" in descriptions
    enhanced = [s for s in index.image_series() if s.image_count == 96]
    assert enhanced and enhanced[0].matrix == (128, 128)
    # non-image objects are listed but not offered as images
    not_images = [s for s in index.all_series() if not s.is_image]
    assert {s.modality for s in not_images} >= {"SR", "RTPLAN"}
    # README/LICENSE/CSV files are counted, broken DICOM files named with a reason
    assert index.non_dicom_count >= 10
    broken = {Path(s.name).name: s.reason for s in index.skipped if s.is_dicom}
    assert "badVR.dcm" in broken and "NumberOfFrames" in broken["badVR.dcm"]
    assert "ExplVR_LitEndNoMeta.dcm" in broken
    assert "truncated" in broken["emri_small_jpeg_2k_lossless_too_short.dcm"]
    # the DICOMDIR files themselves are not reported as broken
    assert not any(name.startswith("DICOMDIR") for name in broken)


@pytest.mark.parametrize(
    "name",
    ["DICOMDIR", "DICOMDIR-bigEnd", "DICOMDIR-implicit", "DICOMDIR-nooffset", "DICOMDIR-reordered",
     "DICOMDIR-nopatient", "DICOMDIR-empty.dcm"],
)
def test_dicomdir_file_set(pydicom_test_files: Path, name: str) -> None:
    index = index_path(pydicom_test_files / "dicomdirtests" / name)
    assert len(index.patients) == 2
    assert sum(len(p.studies) for p in index.patients) == 6
    assert len({s.series_instance_uid for s in index.all_series()}) == 13
    if name in ("DICOMDIR-nopatient", "DICOMDIR-empty.dcm"):
        assert any("searched its folder" in w for w in index.warnings)
    else:
        assert index.warnings == []
        assert index.files_read == 31


def test_localizer_with_three_orientations_is_split(pydicom_test_files: Path) -> None:
    index = index_path(pydicom_test_files / "dicomdirtests" / "DICOMDIR")
    pilots = [s for s in index.all_series() if s.description == "T/S/C RF FAST PILOT"]
    assert len(pilots) == 6  # two studies, three planes each
    assert all("orientation" in s.split_note for s in pilots)
    assert len({s.key for s in pilots}) == 6


def test_zip_archive_matches_folder(tmp_path: Path, tcia_dir: Path, tcia_index) -> None:
    archive = tmp_path / "study.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(tcia_dir.glob("*.dcm"))[:20]:
            zf.write(path, f"DICOM/{path.name}")
        zf.writestr("notes.txt", "not dicom")
    index = index_path(archive)
    series = index.image_series()[0]
    assert series.image_count == 20 and index.non_dicom_count == 1
    volume = load_series(series)
    folder_volume = load_series(tcia_index.image_series()[0])
    np.testing.assert_array_equal(volume.voxels, folder_volume.voxels[:20])


def _copy_series(files: list[Path], target: Path) -> list[Path]:
    target.mkdir(parents=True)
    return [Path(shutil.copy(f, target / f.name)) for f in files]


def test_sorting_uses_position_not_instance_number(tmp_path: Path, demo_study) -> None:
    files = _copy_series(demo_study.series_files["T1C"], tmp_path / "s")
    rng = np.random.default_rng(0)
    numbers = rng.permutation(len(files)) + 1
    for path, number in zip(files, numbers):
        ds = pydicom.dcmread(path)
        ds.InstanceNumber = int(number)
        ds.save_as(path)
    series = index_path(tmp_path / "s").image_series()[0]
    z = [f.position[2] for f in series.frames]
    assert z == sorted(z)
    assert [f.instance.ref.path.name for f in series.frames] == [p.name for p in files]


def test_mixed_echoes_in_one_uid_are_split(tmp_path: Path, demo_study) -> None:
    files = _copy_series(demo_study.series_files["T2"], tmp_path / "s")
    for path in files[: len(files) // 2]:
        echo = tmp_path / "s" / f"echo2-{path.name}"
        ds = pydicom.dcmread(path)
        ds.EchoTime = 120.0
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.save_as(echo)
    index = index_path(tmp_path / "s")
    stacks = index.image_series()
    assert len(stacks) == 2
    assert all("echo" in s.split_note for s in stacks)
    assert sorted(s.image_count for s in stacks) == [len(files) // 2, len(files)]


def test_repeated_acquisitions_are_split(tmp_path: Path, demo_study) -> None:
    files = _copy_series(demo_study.series_files["T2"][:6], tmp_path / "s")
    for path in files:
        ds = pydicom.dcmread(path)
        ds.AcquisitionNumber = 1
        ds.save_as(path)
        ds.AcquisitionNumber = 2
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.save_as(tmp_path / "s" / f"acq2-{path.name}")
    stacks = index_path(tmp_path / "s").image_series()
    assert [s.image_count for s in stacks] == [6, 6]
    assert all("acquisition" in s.split_note for s in stacks)


def test_gap_and_duplicate_are_reported(tmp_path: Path, demo_study) -> None:
    files = _copy_series(demo_study.series_files["T1C"], tmp_path / "s")
    files[10].unlink()
    ds = pydicom.dcmread(files[3])
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(tmp_path / "s" / "copy.dcm")
    series = index_path(tmp_path / "s").image_series()[0]
    text = " ".join(series.warnings)
    assert "duplicate the position" in text
    assert "gap" in text
    assert series.image_count == len(files) - 1


def test_folder_without_images_says_so(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hello")
    index = index_path(tmp_path)
    with pytest.raises(NoImagesError, match="no image series found"):
        index.default_series()
    with pytest.raises(NoImagesError, match="no such file"):
        index_path(tmp_path / "missing")


def test_progress_and_cancel(tcia_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    index_path(tcia_dir, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (121, 121) and len(calls) > 10
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(OperationCancelled):
        index_path(tcia_dir, cancel=cancel)
    series = index_path(tcia_dir).image_series()[0]
    with pytest.raises(OperationCancelled):
        load_series(series, cancel=cancel)
