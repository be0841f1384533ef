"""Display geometry of a volume: where its pixels lie in the image plane, orientation labels.

A viewport draws a slice in *plane millimetres*: x along the column direction, y along the row
direction, both measured from the patient origin. Pixel aspect is then correct by construction,
and two series in the same frame of reference with the same orientation line up, so linked
zoom and pan are anatomical.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from npc_desktop.core.dicom import SeriesInfo, StudyIndex, Volume
from npc_desktop.core.dicom.geometry import edge_labels


def orientation_labels(volume: Volume) -> dict[str, str]:
    """Labels for the left, right, top and bottom edges of the displayed slice.

    The viewer draws slices unflipped, as the PDF report's key slices are, so both use the
    core's :func:`~npc_desktop.core.dicom.geometry.edge_labels`.
    """
    return edge_labels(volume.direction)


def plane_origin(volume: Volume) -> tuple[float, float]:
    """Plane coordinates (mm) of the centre of pixel (row 0, column 0)."""
    origin = np.asarray(volume.origin, dtype=float)
    return float(origin @ volume.direction[:, 0]), float(origin @ volume.direction[:, 1])


def image_rect(volume: Volume) -> tuple[float, float, float, float]:
    """(x, y, width, height) in plane mm covered by the slice, pixel edges included."""
    x0, y0 = plane_origin(volume)
    sx, sy = volume.spacing[0], volume.spacing[1]
    _, rows, cols = volume.shape
    return x0 - sx / 2.0, y0 - sy / 2.0, cols * sx, rows * sy


def image_centre(volume: Volume) -> tuple[float, float]:
    """Centre of the slice in plane mm."""
    x, y, w, h = image_rect(volume)
    return x + w / 2.0, y + h / 2.0


def same_frame(a: Volume, b: Volume) -> bool:
    """True when both volumes declare the same, non-empty FrameOfReferenceUID."""
    uid = a.meta.frame_of_reference_uid
    return bool(uid) and uid == b.meta.frame_of_reference_uid


def same_plane(a: Volume, b: Volume, tolerance: float = 1e-3) -> bool:
    """True when both volumes share a frame of reference and their slices are parallel with the
    same in-plane axes, so plane millimetres mean the same place in both."""
    if not same_frame(a, b):
        return False
    return bool(np.allclose(a.direction[:, :2], b.direction[:, :2], atol=tolerance))


def corresponding_slice(source: Volume, slice_index: int, target: Volume) -> tuple[int, float]:
    """The target slice nearest the source slice's position, and its distance (mm).

    The centre of the source slice is projected onto the target's slice axis; the distance
    tells how far the nearest target slice is from it (large when the stacks do not overlap).
    """
    _, rows, cols = source.shape
    point = source.index_to_patient(slice_index, (rows - 1) / 2.0, (cols - 1) / 2.0)
    fractional = target.patient_to_index(point)[0]
    nearest = target.nearest_slice(point)
    return nearest, abs(float(fractional) - nearest) * float(target.spacing[2])


def same_orientation(a: SeriesInfo, b: SeriesInfo, tolerance: float = 0.01) -> bool:
    """True when two indexed series have parallel slices (from their first images' headers)."""
    oa, ob = a.frames[0].orientation if a.frames else None, b.frames[0].orientation if b.frames else None
    if oa is None or ob is None:
        return oa is None and ob is None
    na = np.cross(np.asarray(oa[:3], dtype=float), np.asarray(oa[3:6], dtype=float))
    nb = np.cross(np.asarray(ob[:3], dtype=float), np.asarray(ob[3:6], dtype=float))
    norms = float(np.linalg.norm(na) * np.linalg.norm(nb))
    return norms > 0 and abs(float(na @ nb)) / norms > 1.0 - tolerance


def slice_position(volume: Volume, slice_index: int) -> float:
    """Position (mm) of a slice along the slice normal, like DICOM SliceLocation."""
    return float(volume.slice_positions[slice_index])


def partner_series(index: StudyIndex, first: SeriesInfo) -> Optional[SeriesInfo]:
    """A second series to show beside ``first``: same study, frame of reference, modality
    and slice plane, with more than one image (localisers are not partners).

    T2 is preferred (the contrast T1 / T2 pair staging reads side by side), then the
    series with the most images.
    """
    if not first.frame_of_reference_uid:
        return None
    candidates = [
        s for s in index.image_series()
        if s is not first and s.study_instance_uid == first.study_instance_uid
        and s.frame_of_reference_uid == first.frame_of_reference_uid
        and s.modality == first.modality and s.image_count > 1 and same_orientation(s, first)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda s: ("T2" in s.description.upper(), s.image_count))
