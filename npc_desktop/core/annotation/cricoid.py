"""Where things lie relative to the cricoid level: patient-space points of pixel points and ROIs.

AJCC 8th edition N3 for nasopharyngeal carcinoma includes nodes that extend "below the caudal
border of the cricoid cartilage" (Amin et al., AJCC Cancer Staging Manual, 8th ed., 2017,
chapter 9; Pan et al., Cancer 2016;122:546-558, which replaced the supraclavicular fossa by this
landmark). The landmark is an anatomical level, so the rule here is stated in the patient's axes:

**A point is below the cricoid level when its coordinate along the patient's superior axis
(DICOM LPS +z) is smaller than the marked point's.** The dividing surface is the transverse
(horizontal) plane through the marked point, not the plane of the image it was marked on. The
two differ only for tilted or oblique slices: with a 15 degree gantry tilt a node 50 mm anterior
of the marked point sits 50 x tan(15 deg) = 13 mm higher or lower on the same image, so judging
"below" by slices would depend on the acquisition rather than the patient. A point exactly at the
level is not below it ("extends below" is strict).

A ROI extends below the level when the lowest point of its box does: the four corners of the
rectangle (its pixel edges, see :mod:`.rois`) are mapped to patient space through the volume's
geometry (or, when the series is not loaded, the image plane of the ROI's frame header) and the
most inferior one is compared. Heights are only comparable in one frame of reference: a ROI on a
series whose FrameOfReferenceUID differs from the cricoid level's series is refused.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from npc_desktop.core.annotation.measurements import CricoidLevel
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.dicom import Volume
from npc_desktop.core.dicom.headers import FrameHeader

__all__ = [
    "cricoid_level_at",
    "image_point_to_patient",
    "is_below_cricoid",
    "roi_corners_patient",
    "check_same_frame_of_reference",
    "roi_extends_below_cricoid",
    "roi_in_frame_extends_below_cricoid",
    "roi_lowest_point",
    "slice_index_of",
]


def slice_index_of(volume: Volume, sop_instance_uid: str, frame_number: Optional[int] = None) -> int:
    """The slice of ``volume`` that is that stored image (and frame).

    Raises
    ------
    AnnotationError
        Naming ``sop_instance_uid`` when the image is not a slice of the volume.
    """
    for index, ref in enumerate(volume.slices):
        if ref.sop_instance_uid == sop_instance_uid and ref.frame_number == frame_number:
            return index
    frame = f" frame {frame_number}" if frame_number is not None else ""
    raise AnnotationError(
        "sop_instance_uid",
        f"image {sop_instance_uid}{frame} is not a slice of series {volume.meta.series_instance_uid}",
    )


def image_point_to_patient(volume: Volume, slice_index: int, row: float, col: float) -> np.ndarray:
    """Patient coordinates (LPS mm) of a sub-pixel point ``(row, col)`` on a slice.

    ``(row, col)`` use the pixel-edge convention of ROIs and rulers, so the centre of pixel
    ``(r, c)`` is ``(r + 0.5, c + 0.5)``; the volume's indices address pixel centres.
    """
    return volume.index_to_patient(float(slice_index), row - 0.5, col - 0.5)


def cricoid_level_at(
    volume: Volume, slice_index: int, row: float, col: float, *, author: Optional[str] = None,
    id: Optional[str] = None,
) -> CricoidLevel:
    """The cricoid level marked by a click at ``(row, col)`` on a slice of ``volume``.

    Parameters
    ----------
    volume
        The (axial) series the marker is placed on.
    slice_index
        The slice shown, 0-based.
    row, col
        The click in sub-pixel coordinates.
    author, id
        Optional author; a new id by default.
    """
    if not 0 <= slice_index < volume.shape[0]:
        raise AnnotationError("slice_index", f"{slice_index} is outside the {volume.shape[0]} slices of the series")
    ref = volume.slices[slice_index]
    extra: dict[str, Any] = {"id": id} if id is not None else {}
    return CricoidLevel(
        study_instance_uid=volume.meta.study_instance_uid,
        series_instance_uid=volume.meta.series_instance_uid,
        sop_instance_uid=ref.sop_instance_uid,
        frame_number=ref.frame_number,
        position=tuple(float(v) for v in image_point_to_patient(volume, slice_index, row, col)),
        author=author,
        **extra,
    )


def is_below_cricoid(point: Sequence[float], cricoid: CricoidLevel) -> bool:
    """Whether a patient-space point (LPS mm) lies strictly inferior to the cricoid level.

    See the module notes for the rule (the transverse plane through the marked point).
    """
    z = float(np.asarray(point, dtype=float).reshape(3)[2])
    return z < cricoid.superior_mm


def _corners(roi: RectRoi, to_patient: Callable[[float, float], np.ndarray]) -> np.ndarray:
    corners = ((roi.row0, roi.col0), (roi.row0, roi.col1), (roi.row1, roi.col1), (roi.row1, roi.col0))
    return np.array([to_patient(r, c) for r, c in corners])


def roi_corners_patient(roi: RectRoi, volume: Volume) -> np.ndarray:
    """The four corners of a ROI's box in patient coordinates, shape ``(4, 3)``.

    Raises
    ------
    AnnotationError
        If the ROI's image is not a slice of ``volume``.
    """
    index = slice_index_of(volume, roi.sop_instance_uid, roi.frame_number)
    return _corners(roi, lambda r, c: image_point_to_patient(volume, index, r, c))


def roi_lowest_point(roi: RectRoi, volume: Volume) -> np.ndarray:
    """The most inferior corner of a ROI's box in patient coordinates (LPS mm)."""
    corners = roi_corners_patient(roi, volume)
    return corners[int(np.argmin(corners[:, 2]))]


def check_same_frame_of_reference(roi: RectRoi, roi_frame_of_reference: Optional[str], cricoid: CricoidLevel,
                                  cricoid_frame_of_reference: Optional[str]) -> None:
    """Refuse to compare a ROI with the cricoid level across studies or frames of reference.

    A ROI on the level's own series is always comparable. Otherwise both series need the same,
    non-empty FrameOfReferenceUID: raw patient z of two frames of reference are unrelated.

    Raises
    ------
    AnnotationError
        Naming why the heights cannot be compared.
    """
    if roi.study_instance_uid != cricoid.study_instance_uid:
        raise AnnotationError("study_instance_uid", f"ROI {roi.id} and the cricoid level are on different studies")
    if roi.series_instance_uid == cricoid.series_instance_uid:
        return
    if not roi_frame_of_reference or not cricoid_frame_of_reference:
        raise AnnotationError("frame_of_reference_uid", "the frame of reference of the node's series or of the "
                              "cricoid level's series is not known, so their heights cannot be compared")
    if roi_frame_of_reference != cricoid_frame_of_reference:
        raise AnnotationError("frame_of_reference_uid", "the cricoid level is marked on a series in another frame "
                              "of reference, so their heights cannot be compared")


def frame_to_patient(frame: FrameHeader) -> Callable[[float, float], np.ndarray]:
    """Patient coordinates (LPS mm) of sub-pixel points ``(row, col)`` on a stored frame, from its header.

    Raises
    ------
    AnnotationError
        If the header lacks the position, orientation or pixel spacing.
    """
    if frame.position is None or frame.orientation is None or frame.pixel_spacing is None:
        raise AnnotationError("sop_instance_uid", f"image {frame.sop_instance_uid} has no image plane "
                              "(position, orientation and pixel spacing)")
    origin = np.asarray(frame.position, dtype=float)
    cosines = np.asarray(frame.orientation, dtype=float)
    along_columns = cosines[:3] / np.linalg.norm(cosines[:3])
    along_rows = cosines[3:6] / np.linalg.norm(cosines[3:6])
    row_mm, col_mm = (float(v) for v in frame.pixel_spacing)
    return lambda r, c: origin + (c - 0.5) * col_mm * along_columns + (r - 0.5) * row_mm * along_rows


def roi_in_frame_extends_below_cricoid(roi: RectRoi, frame: FrameHeader, cricoid: CricoidLevel, *,
                                       frame_of_reference: Optional[str] = None,
                                       cricoid_frame_of_reference: Optional[str] = None) -> bool:
    """:func:`roi_extends_below_cricoid` from the ROI image's header alone (no pixels loaded).

    Raises
    ------
    AnnotationError
        If the frames of reference differ (:func:`check_same_frame_of_reference`) or the header
        has no image plane.
    """
    check_same_frame_of_reference(roi, frame_of_reference, cricoid, cricoid_frame_of_reference)
    corners = _corners(roi, frame_to_patient(frame))
    return is_below_cricoid(corners[int(np.argmin(corners[:, 2]))], cricoid)


def roi_extends_below_cricoid(roi: RectRoi, volume: Volume, cricoid: CricoidLevel, *,
                              cricoid_frame_of_reference: Optional[str] = None) -> bool:
    """Whether a (node) ROI extends below the caudal border of the cricoid cartilage.

    True when the lowest point of its box (:func:`roi_lowest_point`) is below the level
    (:func:`is_below_cricoid`). The volume must be the series the ROI is drawn on; the cricoid
    may have been marked on any series of the same frame of reference.

    Parameters
    ----------
    roi, volume, cricoid
        The node, the series it is drawn on, and the level.
    cricoid_frame_of_reference
        FrameOfReferenceUID of the level's series; needed unless the level is on ``volume``.

    Raises
    ------
    AnnotationError
        If the ROI's image is not a slice of ``volume``, ROI and level belong to other studies,
        or their series are not known to share a frame of reference.
    """
    check_same_frame_of_reference(roi, volume.meta.frame_of_reference_uid, cricoid, cricoid_frame_of_reference)
    return is_below_cricoid(roi_lowest_point(roi, volume), cricoid)
