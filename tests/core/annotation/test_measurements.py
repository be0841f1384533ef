"""Measurement values: ruler lengths against SimpleITK, node-axes checks, the cricoid level rule."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from npc_desktop.core.annotation.cricoid import (
    cricoid_level_at,
    image_point_to_patient,
    is_below_cricoid,
    roi_corners_patient,
    roi_extends_below_cricoid,
    roi_lowest_point,
)
from npc_desktop.core.annotation.measurements import (
    PERPENDICULAR_TOLERANCE_DEG,
    CricoidLevel,
    LineSegment,
    NodeAxes,
    Ruler,
    measurement_from_dict,
)
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.dicom import SeriesMeta, SliceRef, Volume, index_path, load_series

STUDY, SERIES = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"


def on_image(volume: Volume | None = None, k: int = 0) -> dict:
    if volume is None:
        return dict(study_instance_uid=STUDY, series_instance_uid=SERIES, sop_instance_uid=f"{SERIES}.{k + 1}")
    return dict(study_instance_uid=volume.meta.study_instance_uid,
                series_instance_uid=volume.meta.series_instance_uid,
                sop_instance_uid=volume.slices[k].sop_instance_uid, frame_number=volume.slices[k].frame_number)


def sitk_length(image: sitk.Image, k: int, start: tuple[float, float], end: tuple[float, float]) -> float:
    """The oracle: SimpleITK's physical distance between two sub-pixel points on slice k.

    SimpleITK's continuous index addresses pixel centres as (column, row, slice).
    """
    a, b = (np.array(image.TransformContinuousIndexToPhysicalPoint((c - 0.5, r - 0.5, float(k))))
            for r, c in (start, end))
    return float(np.linalg.norm(a - b))


POINTS = [((10.25, 20.5), (400.75, 33.0)), ((0.0, 0.0), (511.0, 511.0)), ((3.5, 7.0), (3.5, 9.0)),
          ((15.0, 2.0), (1.0, 14.5))]


# -- rulers against SimpleITK ---------------------------------------------------------------------


@pytest.mark.realdata
def test_ruler_length_matches_simpleitk_on_the_tcia_series(tcia_dir: Path) -> None:
    volume = load_series(index_path(tcia_dir).default_series())
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tcia_dir)))
    image = reader.Execute()
    for k in (0, 60, 119):
        for start, end in POINTS:
            ruler = Ruler(**on_image(volume, k), start=start, end=end)
            assert ruler.length_mm(pixel_spacing(volume)) == pytest.approx(sitk_length(image, k, start, end), abs=1e-6)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["6293", "6924"])
def test_ruler_length_matches_simpleitk_with_non_square_pixels(dicom_dir: Path, name: str) -> None:
    """A real CT image (pydicom's DICOMDIR test set) with 0.545 x 0.597 mm pixels, coronal or
    sagittal: the only real non-square series in the data folder."""
    path = dicom_dir / "pydicom__pydicom/src/pydicom/data/test_files/dicomdirtests/98892001/CT2N" / name
    image = sitk.ReadImage(str(path))
    volume = next(v for v in (load_series(s) for s in index_path(path.parent).image_series())
                  if v.slices[0].sop_instance_uid == image.GetMetaData("0008|0018").strip())
    row_spacing, col_spacing = pixel_spacing(volume)
    assert (row_spacing, col_spacing) == pytest.approx((0.545455, 0.596847))
    for start, end in POINTS:
        ruler = Ruler(**on_image(volume), start=start, end=end)
        expected = sitk_length(image, 0, start, end)
        assert ruler.length_mm((row_spacing, col_spacing)) == pytest.approx(expected, abs=1e-6)
        # swapping the spacings (the classic mistake) gives another answer for a slanted line
        if abs(start[0] - end[0]) not in (0, abs(start[1] - end[1])) and start[1] != end[1]:
            assert ruler.length_mm((col_spacing, row_spacing)) != pytest.approx(expected, abs=1e-3)


@pytest.mark.realdata
def test_ruler_length_matches_simpleitk_on_an_oblique_image(dicom_dir: Path) -> None:
    """A real Siemens slice tilted 5.3 degrees (ImageOrientationPatient 0, 0.9957, 0.0924)."""
    path = dicom_dir / "neurolabusc__dcm_qa_12bit/In/12bitUnsigned.dcm"
    image = sitk.ReadImage(str(path))
    assert abs(image.GetDirection()[5]) > 0.09  # oblique
    spacing = (image.GetSpacing()[1], image.GetSpacing()[0])
    for start, end in POINTS:
        ruler = Ruler(**on_image(), start=start, end=end)
        assert ruler.length_mm(spacing) == pytest.approx(sitk_length(image, 0, start, end), abs=1e-6)


def test_ruler_length_with_synthetic_non_square_oblique_geometry() -> None:
    """Resample-free synthetic geometry: 0.4 x 1.3 mm pixels on a plane rotated about two axes."""
    image = sitk.Image(64, 48, 3, sitk.sitkUInt8)
    image.SetSpacing((1.3, 0.4, 5.0))  # (column, row, slice) spacing
    rotation = sitk.VersorTransform((1.0, 2.0, 0.5), math.radians(33)).GetMatrix()
    image.SetDirection(rotation)
    image.SetOrigin((-12.0, 40.0, 7.5))
    for start, end in POINTS:
        ruler = Ruler(**on_image(), start=start, end=end)
        assert ruler.length_mm((0.4, 1.3)) == pytest.approx(sitk_length(image, 1, start, end), abs=1e-9)


def test_ruler_validation() -> None:
    with pytest.raises(AnnotationError, match="^end: must differ from start"):
        Ruler(**on_image(), start=(1, 2), end=(1, 2))
    with pytest.raises(AnnotationError, match=r"^start\[1\]: must be finite"):
        Ruler(**on_image(), start=(1, float("nan")), end=(1, 2))
    with pytest.raises(AnnotationError, match="^start: must be a pair"):
        Ruler(**on_image(), start=(1, 2, 3), end=(1, 2))
    with pytest.raises(AnnotationError, match="^frame_number"):
        Ruler(**on_image(), start=(1, 2), end=(3, 4), frame_number=0)
    with pytest.raises(ValueError, match="pixel_spacing"):
        Ruler(**on_image(), start=(1, 2), end=(3, 4)).length_mm((0.0, 1.0))
    ruler = Ruler(**on_image(), start=(1, 2), end=(4, 6))
    assert ruler.moved(1, -2).segment == LineSegment((2, 0), (5, 4))
    assert measurement_from_dict(ruler.to_dict()) == ruler


# -- node axes --------------------------------------------------------------------------------------


def axes(long_axis, short_axis, spacing=(1.0, 1.0)) -> NodeAxes:
    return NodeAxes(**on_image(), roi_id="00000000-0000-4000-8000-000000000001", long_axis=long_axis,
                    short_axis=short_axis, pixel_spacing=spacing)


def test_node_axes_lengths_in_mm() -> None:
    node = axes(((10, 10), (10, 50)), ((20, 30), (0, 30)), spacing=(0.5, 0.8))
    assert (node.long_mm, node.short_mm) == pytest.approx((32.0, 10.0))
    assert node.angle_deg == pytest.approx(90.0)
    assert measurement_from_dict(node.to_dict()) == node


def test_short_axis_may_not_be_longer() -> None:
    with pytest.raises(AnnotationError, match="^short_axis: is longer"):
        axes(((0, 0), (0, 10)), ((-6, 5), (6, 5)))
    assert axes(((0, 0), (0, 10)), ((-5, 5), (5, 5))).short_mm == 10.0  # equal is allowed


def test_perpendicularity_is_checked_in_mm_not_pixels() -> None:
    # A right angle in pixels ...
    long_axis, short_axis = ((0, 0), (10, 10)), ((10, 0), (0, 10))
    assert axes(long_axis, short_axis).angle_deg == pytest.approx(90.0)
    # ... is an angle of 2*atan(1/3) = 36.9 degrees, 53.1 off perpendicular, with 1 x 3 mm pixels.
    with pytest.raises(AnnotationError, match="^short_axis: is 53.1 degrees from perpendicular"):
        axes(long_axis, short_axis, spacing=(1.0, 3.0))
    # Within the tolerance passes, just beyond fails.
    inside = math.radians(90 - PERPENDICULAR_TOLERANCE_DEG + 0.1)
    outside = math.radians(90 - PERPENDICULAR_TOLERANCE_DEG - 0.1)
    for angle, ok in ((inside, True), (outside, False)):
        short = ((0.0, 0.0), (5 * math.sin(angle), 5 * math.cos(angle)))
        if ok:
            axes(((0, 0), (0, 20)), short)
        else:
            with pytest.raises(AnnotationError, match="from perpendicular"):
                axes(((0, 0), (0, 20)), short)


def test_node_axes_fields_are_checked() -> None:
    with pytest.raises(AnnotationError, match="^roi_id"):
        NodeAxes(**on_image(), roi_id="node-1", long_axis=((0, 0), (0, 9)), short_axis=((0, 0), (1, 0)),
                 pixel_spacing=(1, 1))
    with pytest.raises(AnnotationError, match="^pixel_spacing"):
        axes(((0, 0), (0, 9)), ((0, 0), (1, 0)), spacing=(1, -1))
    data = axes(((0, 0), (0, 9)), ((0, 0), (1, 0))).to_dict()
    data["long_axis"] = [[0, 0]]
    with pytest.raises(AnnotationError, match=r"^m\.long_axis"):
        measurement_from_dict(data, where="m")
    data["type"] = "angle"
    with pytest.raises(AnnotationError, match=r"^m\.type: 'angle' is not one of"):
        measurement_from_dict(data, where="m")


# -- the cricoid level ------------------------------------------------------------------------------


def tilted_volume(tilt_deg: float) -> Volume:
    """An axial stack tilted about the patient's left-right axis (a gantry tilt)."""
    t = math.radians(tilt_deg)
    along_columns, along_rows = np.array([1.0, 0, 0]), np.array([0, math.cos(t), -math.sin(t)])
    direction = np.column_stack([along_columns, along_rows, np.cross(along_columns, along_rows)])
    meta = SeriesMeta("k", SERIES, STUDY, "1.2.3.9", "MR", "", None, "", "", "", "", "", "")
    slices = [SliceRef(f"{SERIES}.{k + 1}") for k in range(10)]
    return Volume(np.zeros((10, 100, 80), np.int16), (0.7, 0.9, 3.0), (-30.0, -60.0, 40.0), direction, slices, meta)


def test_points_and_roi_corners_match_simpleitk() -> None:
    volume = tilted_volume(15)
    image = volume.to_sitk()
    roi = RectRoi(**on_image(volume, 4), row0=10.5, col0=20, row1=30, col1=41.25)
    expected = [image.TransformContinuousIndexToPhysicalPoint((c - 0.5, r - 0.5, 4.0))
                for r, c in ((10.5, 20), (10.5, 41.25), (30, 41.25), (30, 20))]
    np.testing.assert_allclose(roi_corners_patient(roi, volume), expected, atol=1e-9)
    np.testing.assert_allclose(image_point_to_patient(volume, 4, 30, 20), expected[3], atol=1e-9)


def test_below_is_along_the_patients_superior_axis_even_on_tilted_slices() -> None:
    volume = tilted_volume(15)
    level = cricoid_level_at(volume, 5, row=50, col=40)
    assert level.sop_instance_uid == volume.slices[5].sop_instance_uid
    assert is_below_cricoid(np.add(level.position, (0, 0, -0.01)), level)
    assert not is_below_cricoid(level.position, level)  # at the level is not below
    assert not is_below_cricoid(np.add(level.position, (0, 0, 0.01)), level)
    # On the very slice it was marked on, rows further down the image (posterior and, with the
    # tilt, inferior) are below the level; rows further up are not.
    assert is_below_cricoid(image_point_to_patient(volume, 5, 90, 40), level)
    assert not is_below_cricoid(image_point_to_patient(volume, 5, 10, 40), level)
    # A ROI extends below when its lowest corner does.
    above = RectRoi(**on_image(volume, 5), row0=10, col0=10, row1=49, col1=30, kind="lymph_node")
    across = RectRoi(**on_image(volume, 5), row0=10, col0=10, row1=60, col1=30, kind="lymph_node")
    assert not roi_extends_below_cricoid(above, volume, level)
    assert roi_extends_below_cricoid(across, volume, level)
    assert roi_lowest_point(across, volume)[2] == pytest.approx(image_point_to_patient(volume, 5, 60, 10)[2])


def test_cricoid_errors() -> None:
    volume = tilted_volume(0)
    with pytest.raises(AnnotationError, match="^slice_index: 10 is outside the 10 slices"):
        cricoid_level_at(volume, 10, 1, 1)
    stranger = RectRoi(study_instance_uid=STUDY, series_instance_uid=SERIES, sop_instance_uid="1.2.3.4.5",
                       row0=0, col0=0, row1=1, col1=1)
    with pytest.raises(AnnotationError, match=r"^sop_instance_uid: image 1\.2\.3\.4\.5 is not a slice of series"):
        roi_extends_below_cricoid(stranger, volume, cricoid_level_at(volume, 0, 1, 1))
    with pytest.raises(AnnotationError, match=r"^position: must be three"):
        CricoidLevel(**on_image(), position=(1.0, 2.0))
    level = cricoid_level_at(volume, 3, 5, 5)
    assert CricoidLevel.from_dict(level.to_dict()) == level


@pytest.mark.realdata
def test_node_roi_below_the_cricoid_on_the_tcia_series(tcia_dir: Path) -> None:
    volume = load_series(index_path(tcia_dir).default_series())
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tcia_dir)))
    image = reader.Execute()
    level = cricoid_level_at(volume, 30, row=300, col=256)
    expected = image.TransformContinuousIndexToPhysicalPoint((255.5, 299.5, 30.0))
    np.testing.assert_allclose(level.position, expected, atol=1e-4)
    superior = volume.index_to_patient(31, 0, 0)[2] > volume.index_to_patient(30, 0, 0)[2]
    lower, upper = (29, 31) if superior else (31, 29)
    for k, below in ((lower, True), (upper, False), (30, False)):
        node = RectRoi(**on_image(volume, k), row0=280, col0=150, row1=330, col1=200, kind="lymph_node")
        lowest = min((image.TransformContinuousIndexToPhysicalPoint((c - 0.5, r - 0.5, float(k)))
                      for r in (280, 330) for c in (150, 200)), key=lambda p: p[2])
        np.testing.assert_allclose(roi_lowest_point(node, volume), lowest, atol=1e-4)
        assert roi_extends_below_cricoid(node, volume, level) is below
