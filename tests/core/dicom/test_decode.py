"""Decoding every transfer syntax, multi-frame, bit depth, and bad input with typed errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from npc_desktop.core.dicom import (
    DicomIngestError,
    PixelDataError,
    UnreadableDicomError,
    index_path,
    load_path,
    load_series,
)

pytestmark = pytest.mark.realdata


def _load_file(path: Path) -> np.ndarray:
    return load_path(path)[1].voxels


def test_nine_transfer_syntaxes_decode_identically(dicom_dir: Path) -> None:
    folder = dicom_dir / "neurolabusc__dcm_qa_ts" / "In"
    arrays = {n: _load_file(folder / f"{n}.dcm") for n in range(1, 10)}
    syntaxes = {str(pydicom.dcmread(folder / f"{n}.dcm", stop_before_pixels=True).file_meta.TransferSyntaxUID)
                for n in arrays}
    assert len(syntaxes) >= 7  # explicit, implicit, big endian, RLE, JPEG lossless, JPEG-LS, J2K
    reference = arrays[1]
    assert reference.shape == (1, 384, 384) and reference.max() > 0
    for n, array in arrays.items():
        np.testing.assert_array_equal(array, reference, err_msg=f"{n}.dcm differs")


def test_mr_small_encodings_identical(pydicom_test_files: Path) -> None:
    names = ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm",
             "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"]
    arrays = [_load_file(pydicom_test_files / n) for n in names]
    for name, array in zip(names, arrays):
        np.testing.assert_array_equal(array, arrays[0], err_msg=name)
    # signed 16-bit values agree with pydicom's own decoder
    np.testing.assert_array_equal(arrays[0][0], pydicom.dcmread(pydicom_test_files / names[0]).pixel_array)


def test_multiframe_encodings_identical(dicom_dir: Path) -> None:
    folder = dicom_dir / "pydicom__pydicom-data" / "data_store" / "data"
    names = ["emri_small.dcm", "emri_small_big_endian.dcm", "emri_small_RLE.dcm",
             "emri_small_jpeg_2k_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm"]
    arrays = [_load_file(folder / n) for n in names]
    assert arrays[0].shape == (10, 64, 64)
    for name, array in zip(names, arrays):
        np.testing.assert_array_equal(array, arrays[0], err_msg=name)
    np.testing.assert_array_equal(arrays[0], pydicom.dcmread(folder / names[0]).pixel_array)


def test_fragmented_codestreams(dicom_dir: Path) -> None:
    for path in sorted((dicom_dir / "neurolabusc__dcm_qa_frag" / "In").rglob("*.dcm")):
        array = _load_file(path)
        np.testing.assert_array_equal(array[0], pydicom.dcmread(path).pixel_array)


@pytest.mark.parametrize("name", ["12bitUnsigned.dcm", "12bitSigned_0x0F0F.dcm"])
def test_12_bit_stored(dicom_dir: Path, name: str) -> None:
    path = dicom_dir / "neurolabusc__dcm_qa_12bit" / "In" / name
    array = _load_file(path)
    oracle = pydicom.dcmread(path).pixel_array
    np.testing.assert_array_equal(array[0], oracle)
    if "Signed" in name:
        assert array.dtype == np.int16 and array.min() < 0 and array.max() < 2048


def test_enhanced_multiframe_geometry(dicom_dir: Path) -> None:
    index, volume = load_path(dicom_dir / "neurolabusc__dcm_qa_xa30")
    assert volume.shape == (96, 128, 128)
    assert [s.frame_number for s in volume.slices] != [None] * 96
    ds = pydicom.dcmread(next((dicom_dir / "neurolabusc__dcm_qa_xa30" / "In").rglob("*.dcm")))
    positions = [
        np.array(item.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        for item in ds.PerFrameFunctionalGroupsSequence
    ]
    normal = volume.direction[:, 2]
    along = sorted(float(p @ normal) for p in positions)
    np.testing.assert_allclose(volume.slice_positions, along, atol=1e-3)
    shared = ds.SharedFunctionalGroupsSequence[0]
    groups = shared if "PixelMeasuresSequence" in shared else ds.PerFrameFunctionalGroupsSequence[0]
    measures = groups.PixelMeasuresSequence[0]
    assert volume.spacing[1] == pytest.approx(float(measures.PixelSpacing[0]))
    # each slice is the stored frame its SliceRef names
    stored = ds.pixel_array
    for k in (0, 40, 95):
        np.testing.assert_array_equal(volume.voxels[k], stored[volume.slices[k].frame_number - 1])


def test_jpeg_baseline_and_colour(dicom_dir: Path) -> None:
    ct = next((dicom_dir / "cornerstonejs__cornerstoneWADOImageLoader" / "testImages").glob("CTImage*.dcm"))
    volume = load_path(ct)[1]
    ds = pydicom.dcmread(ct)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(volume.voxels[0], expected, rtol=1e-6, atol=1e-3)
    us = next((dicom_dir / "cornerstonejs__dicomParser").rglob("*.dcm"))
    volume = load_path(us)[1]
    assert volume.shape == (8, 240, 320)
    assert any("greyscale" in w for w in volume.warnings)


@pytest.mark.parametrize(
    "name, error, text",
    [
        ("MR_truncated.dcm", PixelDataError, "truncated"),
        ("JPEG2000-embedded-sequence-delimiter.dcm", PixelDataError, "cannot be decoded"),
        ("badVR.dcm", DicomIngestError, "NumberOfFrames"),
        ("no_meta.dcm", DicomIngestError, ""),
        ("ExplVR_LitEndNoMeta.dcm", DicomIngestError, "file meta"),
        ("meta_missing_tsyntax.dcm", DicomIngestError, ""),
        ("no_meta_group_length.dcm", DicomIngestError, ""),
        ("rtplan_truncated.dcm", DicomIngestError, ""),
    ],
)
def test_malformed_files_give_typed_errors(pydicom_test_files: Path, name: str, error: type, text: str) -> None:
    with pytest.raises(error) as info:
        load_path(pydicom_test_files / name)
    message = str(info.value)
    assert name in message, "the message must name the file"
    assert text in message
    assert "\n" not in message


def test_too_short_encapsulated_data(dicom_dir: Path) -> None:
    path = dicom_dir / "pydicom__pydicom-data" / "data_store" / "data" / "emri_small_jpeg_2k_lossless_too_short.dcm"
    index = index_path(path)
    assert index.skipped and "truncated" in index.skipped[0].reason
    with pytest.raises(DicomIngestError, match="emri_small_jpeg_2k_lossless_too_short.dcm"):
        index.default_series()


def test_sr_without_pixels_is_not_an_image(dicom_dir: Path) -> None:
    path = dicom_dir / "cornerstonejs__cornerstoneWADOImageLoader" / "testImages" / "no-pixel-data.dcm"
    index = index_path(path)
    assert [s.modality for s in index.all_series()] == ["SR"]
    assert index.image_series() == []


def test_one_bad_file_in_a_series_is_skipped(tmp_path: Path, tcia_dir: Path) -> None:
    files = sorted(tcia_dir.glob("*.dcm"))[:12]
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    victim = tmp_path / files[5].name
    victim.write_bytes(victim.read_bytes()[:-100_000])  # truncated pixel data
    index = index_path(tmp_path)
    volume = load_series(index.default_series())
    assert volume.shape == (12, 512, 512)
    assert len(volume.skipped) == 1 and files[5].name in volume.skipped[0][0]
    assert "truncated" in volume.skipped[0][1]
    assert not volume.slices[5].decoded and volume.voxels[5].max() == 0
    assert all(s.decoded for i, s in enumerate(volume.slices) if i != 5)
    assert volume.voxels[6].max() > 0
    assert any("could not be decoded" in w for w in volume.warnings)


def test_garbage_file_named_dcm(tmp_path: Path) -> None:
    (tmp_path / "image.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\xff" * 64)
    index = index_path(tmp_path)
    assert index.image_series() == []
    assert index.skipped and index.skipped[0].is_dicom
    with pytest.raises(UnreadableDicomError):
        from npc_desktop.core.dicom.headers import read_header
        from npc_desktop.core.dicom.sources import FileRef

        read_header(FileRef(tmp_path / "image.dcm"))
