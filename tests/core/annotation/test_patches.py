"""Patch geometry (margin, clipping), cropping from a Volume, normalisation and CLAHE."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

from npc_desktop.core.annotation.patches import (
    ContextMargin,
    PatchBox,
    PatchError,
    crop_patch,
    find_slice,
    patch_geometry,
    pixel_spacing,
)
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.dicom import SeriesMeta, SliceRef, Volume, index_path, load_series
from npc_desktop.core.models.patch_preprocessing import (
    Normalisation,
    PatchPreprocessing,
    prepare_patch,
    prepare_patches,
)
from npc_desktop.core.preprocessing import apply_clahe, percentile_to_uint8, window_to_uint8
from tests.conftest import roi_from_demo_lesion

STUDY = "1.2.826.0.1.3680043.8.498.20"
SERIES = "1.2.826.0.1.3680043.8.498.21"


def synthetic_volume(
    shape: tuple[int, int, int] = (3, 64, 80),
    spacing: tuple[float, float, float] = (0.5, 0.8, 3.0),
    *,
    invert: bool = False,
    decoded: Optional[list[bool]] = None,
    window: Optional[tuple[float, float]] = (500.0, 1000.0),
) -> Volume:
    rng = np.random.default_rng(0)
    voxels = rng.integers(0, 1200, size=shape).astype(np.uint16)
    slices = [
        SliceRef(f"{SERIES}.{k + 1}", decoded=(decoded[k] if decoded else True)) for k in range(shape[0])
    ]
    meta = SeriesMeta(
        key=SERIES, series_instance_uid=SERIES, study_instance_uid=STUDY, frame_of_reference_uid="1.2.3",
        modality="MR", series_description="synthetic", series_number=1, patient_name="", patient_id="",
        patient_birth_date="", patient_sex="", study_date="", study_description="",
    )
    return Volume(voxels=voxels, spacing=spacing, origin=(0.0, 0.0, 0.0), direction=np.eye(3),
                  slices=slices, meta=meta, window=window, invert=invert)


def roi_on(volume: Volume, k: int, box: tuple[float, float, float, float], **changes: Any) -> RectRoi:
    ref = volume.slices[k]
    return RectRoi(
        study_instance_uid=volume.meta.study_instance_uid, series_instance_uid=volume.meta.series_instance_uid,
        sop_instance_uid=ref.sop_instance_uid, frame_number=ref.frame_number,
        row0=box[0], col0=box[1], row1=box[2], col1=box[3], **changes,
    )


# ---------------------------------------------------------------------------------------------
# Geometry


def test_margin_as_fraction_of_roi_size() -> None:
    geometry = patch_geometry((20, 30, 40, 80), (100, 120), ContextMargin(fraction=0.2))
    # 20 rows -> 4 above and below; 50 columns -> 10 left and right.
    assert geometry.box == PatchBox(16, 20, 44, 90)
    assert geometry.requested == geometry.box
    assert not geometry.clipped and not geometry.roi_clipped


def test_margin_in_mm_uses_the_pixel_spacing() -> None:
    geometry = patch_geometry(
        (20, 30, 40, 80), (100, 120), ContextMargin(fraction=0.0, mm=2.0), row_spacing=0.5, col_spacing=1.0
    )
    assert geometry.box == PatchBox(16, 28, 44, 82)
    both = patch_geometry(
        (20, 30, 40, 80), (100, 120), ContextMargin(fraction=0.1, mm=1.0), row_spacing=0.5, col_spacing=1.0
    )
    assert both.box == PatchBox(16, 24, 44, 86)


def test_zero_margin_keeps_integer_boxes_and_grows_fractional_ones_outward() -> None:
    assert patch_geometry((5, 6, 15, 17), (50, 50), ContextMargin(fraction=0)).box == PatchBox(5, 6, 15, 17)
    assert patch_geometry((5.2, 6.7, 14.1, 16.9), (50, 50), ContextMargin(fraction=0)).box == PatchBox(5, 6, 15, 17)
    # 0.1 * 30 is 3.0000000000000004 in floating point: that must not grow the box by a pixel.
    assert patch_geometry((10, 10, 40, 40), (50, 50), ContextMargin(fraction=0.1)).box == PatchBox(7, 7, 43, 43)


def test_margin_clipped_at_the_border_is_reported() -> None:
    geometry = patch_geometry((1, 2, 21, 22), (64, 80), ContextMargin(fraction=0.25))
    assert geometry.requested == PatchBox(-4, -3, 26, 27)
    assert geometry.box == PatchBox(0, 0, 26, 27)
    assert geometry.clipped_sides == {"top", "left"} and not geometry.roi_clipped
    far = patch_geometry((50, 70, 64, 80), (64, 80), ContextMargin(fraction=0.2))
    assert far.clipped_sides == {"bottom", "right"} and far.box.row1 == 64 and far.box.col1 == 80


def test_roi_partly_outside_the_image() -> None:
    geometry = patch_geometry((-10, 70, 10, 95), (64, 80), ContextMargin(fraction=0.0))
    assert geometry.roi_clipped and geometry.clipped_sides == {"top", "right"}
    assert geometry.box == PatchBox(0, 70, 10, 80)


@pytest.mark.parametrize("box", [(-20, 5, -1, 10), (5, 80, 10, 90), (64, 0, 70, 5), (0, -10, 5, 0)])
def test_roi_entirely_outside_is_an_error(box: tuple[float, ...]) -> None:
    with pytest.raises(PatchError, match="outside the 64x80 image"):
        patch_geometry(box, (64, 80), ContextMargin(fraction=0.5))


@pytest.mark.parametrize("kwargs", [{"fraction": -0.1}, {"mm": float("nan")}, {"fraction": True}, {"mm": "2"}])
def test_margin_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="ContextMargin"):
        ContextMargin(**kwargs)


# ---------------------------------------------------------------------------------------------
# Cropping


def test_crop_patch_copies_stored_values() -> None:
    volume = synthetic_volume()
    roi = roi_on(volume, 1, (10, 20, 30, 40), kind="lymph_node")
    patch = crop_patch(volume, roi, ContextMargin(fraction=0.1))
    assert patch.box == PatchBox(8, 18, 32, 42)
    assert patch.slice_index == 1 and patch.sop_instance_uid == roi.sop_instance_uid
    assert patch.kind is RoiKind.LYMPH_NODE and patch.roi == roi
    assert patch.pixels.dtype == volume.voxels.dtype
    np.testing.assert_array_equal(patch.pixels, volume.voxels[1, 8:32, 18:42])
    patch.pixels[...] = 0
    assert volume.voxels[1, 8:32, 18:42].any()  # a copy, not a view
    # spacing (x=0.5 mm per column, y=0.8 mm per row)
    assert (patch.row_spacing, patch.col_spacing) == pixel_spacing(volume) == (0.8, 0.5)
    assert patch.box_mm == pytest.approx((8 * 0.8, 18 * 0.5, 32 * 0.8, 42 * 0.5))
    assert patch.size_mm == pytest.approx((24 * 0.8, 24 * 0.5))
    assert patch.roi_in_patch == (2.0, 2.0, 22.0, 22.0)


def test_crop_patch_errors_name_the_image() -> None:
    volume = synthetic_volume(decoded=[True, False, True])
    stranger = RectRoi(study_instance_uid=STUDY, series_instance_uid=SERIES, sop_instance_uid="1.2.3.4.5",
                       row0=0, col0=0, row1=5, col1=5)
    with pytest.raises(PatchError, match=r"1\.2\.3\.4\.5 is not a slice of series 'synthetic'"):
        crop_patch(volume, stranger)
    with pytest.raises(PatchError, match="could not be decoded"):
        crop_patch(volume, roi_on(volume, 1, (0, 0, 5, 5)))
    with pytest.raises(PatchError):
        find_slice(volume, volume.slices[0].sop_instance_uid, frame_number=2)


# ---------------------------------------------------------------------------------------------
# Normalisation and CLAHE


def test_slice_scope_is_the_viewer_image_cropped() -> None:
    volume = synthetic_volume()
    roi = roi_on(volume, 2, (5, 5, 25, 30))
    settings = PatchPreprocessing(normalisation="percentile", percentiles=(2, 98), clip_limit=3.0, tile_grid=(4, 4))
    prepared = prepare_patch(volume, roi, preprocessing=settings)
    whole = apply_clahe(percentile_to_uint8(volume.voxels[2], 2, 98), clip_limit=3.0, tile_grid=(4, 4))
    np.testing.assert_array_equal(prepared.image, whole[prepared.patch.box.slices])
    assert prepared.image.dtype == np.uint8 and prepared.image.shape == prepared.patch.pixels.shape


def test_patch_scope_processes_the_patch_alone() -> None:
    volume = synthetic_volume()
    roi = roi_on(volume, 0, (5, 5, 25, 30))
    settings = PatchPreprocessing(normalisation="percentile", percentiles=(1, 99), scope="patch", clahe=True)
    prepared = prepare_patch(volume, roi, preprocessing=settings)
    expected = apply_clahe(percentile_to_uint8(prepared.patch.pixels, 1, 99), tile_grid=(8, 8))
    np.testing.assert_array_equal(prepared.image, expected)


def test_window_mode_uses_the_series_window_unless_given() -> None:
    volume = synthetic_volume(window=(400.0, 600.0))
    roi = roi_on(volume, 1, (0, 0, 10, 10))
    header = prepare_patch(volume, roi, preprocessing=PatchPreprocessing(normalisation="window", clahe=False))
    np.testing.assert_array_equal(header.image, window_to_uint8(volume.voxels[1], 400, 600)[header.patch.box.slices])
    given = prepare_patch(volume, roi, preprocessing=PatchPreprocessing(normalisation=Normalisation.WINDOW,
                                                                        window=(100.0, 50.0), clahe=False))
    np.testing.assert_array_equal(given.image, window_to_uint8(volume.voxels[1], 100, 50)[given.patch.box.slices])
    with pytest.raises(ValueError, match="needs a window"):
        PatchPreprocessing(normalisation="window")(volume.voxels[0])


def test_tiny_patch_gets_a_smaller_clahe_grid() -> None:
    volume = synthetic_volume()
    roi = roi_on(volume, 0, (10, 10, 13, 12))
    prepared = prepare_patch(volume, roi, margin=ContextMargin(fraction=0), preprocessing=PatchPreprocessing(scope="patch"))
    assert prepared.image.shape == (3, 2)


def test_monochrome1_is_inverted() -> None:
    plain = synthetic_volume()
    inverted = synthetic_volume(invert=True)
    roi = roi_on(plain, 0, (10, 10, 30, 30))
    a = prepare_patch(plain, roi).image
    b = prepare_patch(inverted, roi).image
    np.testing.assert_array_equal(b, 255 - a)


def test_prepare_patches_matches_one_by_one() -> None:
    volume = synthetic_volume()
    rois = [roi_on(volume, k % 3, (k, k, k + 12, k + 20)) for k in range(6)]
    together = prepare_patches(volume, rois)
    for roi, prepared in zip(rois, together):
        np.testing.assert_array_equal(prepared.image, prepare_patch(volume, roi).image)


@pytest.mark.parametrize(
    "kwargs",
    [{"scope": "volume"}, {"percentiles": (50, 10)}, {"window": (10.0, 0.0)}, {"normalisation": "zscore"}],
)
def test_preprocessing_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PatchPreprocessing(**kwargs)


def test_preprocessing_settings_serialise() -> None:
    data = PatchPreprocessing(normalisation="foreground", percentiles=(3.0, 99.7)).to_dict()
    assert data["normalisation"] == "foreground" and data["percentiles"] == [3.0, 99.7] and data["scope"] == "slice"
    assert ContextMargin(fraction=0.25, mm=3).to_dict() == {"fraction": 0.25, "mm": 3.0}


# ---------------------------------------------------------------------------------------------
# Demo study and real data


def test_demo_lesion_patches(demo_study) -> None:
    """Ground-truth lesion boxes of the demo crop to patches that contain the bright lesion."""
    index = index_path(demo_study.root)
    volume = load_series(index.find_series(demo_study.series_uids["T1C"]))
    lesions = demo_study.lesions_for("T1C")
    rois = []
    for lesion in lesions:
        row0, col0, row1, col1 = lesion.bbox
        rois.append(roi_on(volume, lesion.slice_index, (row0, col0, row1, col1),
                           kind="tumour" if lesion.kind == "tumour" else "lymph_node"))
    prepared = prepare_patches(volume, rois, margin=ContextMargin(fraction=0.5),
                               preprocessing=PatchPreprocessing(normalisation="foreground", percentiles=(3.0, 99.7)))
    for lesion, item in zip(lesions, prepared):
        patch = item.patch
        assert patch.slice_index == lesion.slice_index
        assert patch.sop_instance_uid == lesion.sop_instance_uid
        r0, c0, r1, c1 = (int(v) for v in patch.roi_in_patch)
        np.testing.assert_array_equal(patch.pixels[r0:r1, c0:c1],
                                      volume.voxels[lesion.slice_index, lesion.bbox[0]:lesion.bbox[2], lesion.bbox[1]:lesion.bbox[3]])
        assert patch.box.height >= lesion.bbox[2] - lesion.bbox[0]
        assert item.image.dtype == np.uint8 and item.image.shape == patch.pixels.shape


@pytest.mark.realdata
def test_tcia_patches_at_the_border(tcia_dir: Path) -> None:
    index = index_path(tcia_dir)
    volume = load_series(index.default_series())
    slices, rows, cols = volume.shape
    k = slices // 2
    inside = roi_on(volume, k, (200, 220, 260, 300))
    corner = roi_on(volume, k, (-20, cols - 40, 30, cols + 15))
    patches = prepare_patches(volume, [inside, corner], margin=ContextMargin(fraction=0.2, mm=2.0))
    row_mm, col_mm = volume.spacing[1], volume.spacing[0]
    first = patches[0].patch
    assert not first.clipped and 50 <= first.box.height <= 300 and 50 <= first.box.width <= 300
    assert first.box.row0 == int(np.floor(200 - 0.2 * 60 - 2.0 / row_mm + 1e-6))
    assert first.box.col0 == int(np.floor(220 - 0.2 * 80 - 2.0 / col_mm + 1e-6))
    second = patches[1].patch
    assert second.geometry.roi_clipped and second.geometry.clipped_sides == {"top", "right"}
    assert second.box.row0 == 0 and second.box.col1 == cols
    np.testing.assert_array_equal(second.pixels, volume.voxels[k][second.box.slices])


def test_default_normalisation_keeps_an_enhancing_lesion_unsaturated(demo_study) -> None:
    from npc_desktop.core.dicom import load_path

    _, volume = load_path(demo_study.series_files["T1C"][0].parent, demo_study.series_uids["T1C"])
    tumour = next(l for l in demo_study.lesions if l.kind == "tumour" and l.series_key == "T1C")
    raw = prepare_patch(volume, roi_from_demo_lesion(demo_study, tumour), preprocessing=PatchPreprocessing(clahe=False))
    inside = raw.image
    assert np.mean(inside == 255) < 0.2, "the default window should not burn out the lesion"
    assert inside.std() > 10, "texture inside the lesion must survive normalisation"


def test_preprocessing_dict_round_trip() -> None:
    settings = PatchPreprocessing(normalisation="window", window=(300.0, 600.0), clip_limit=3.0, tile_grid=(4, 6),
                                  scope="patch")
    import json

    assert PatchPreprocessing.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
