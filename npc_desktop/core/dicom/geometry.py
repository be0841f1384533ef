"""Slice ordering and spacing checks along the slice normal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from npc_desktop.core.dicom.headers import FrameHeader

POSITION_TOLERANCE_MM = 1e-3
SPACING_TOLERANCE = 0.05
"""Relative deviation from the median slice spacing that is reported as irregular."""

# DICOM patient axes (LPS): +x is the patient's left, +y posterior, +z superior (head).
_AXIS_LETTERS = (("R", "L"), ("A", "P"), ("I", "S"))
_OBLIQUE_MIN = 0.3


def direction_label(vector: Sequence[float]) -> str:
    """Letters (R/L/A/P/S/I) naming where a patient-space direction points.

    The dominant axis comes first; a second letter is added for oblique directions whose
    next component exceeds 0.3 (about 17 degrees), as radiology viewers do.

    Parameters
    ----------
    vector
        Direction in patient (LPS) coordinates; need not be normalised.
    """
    v = np.asarray(vector, dtype=float)
    norm = np.linalg.norm(v)
    if norm == 0:
        return ""
    v = v / norm
    order = np.argsort(-np.abs(v))
    letters = []
    for rank, axis in enumerate(order[:2]):
        if rank > 0 and abs(v[axis]) < _OBLIQUE_MIN:
            break
        letters.append(_AXIS_LETTERS[axis][1 if v[axis] > 0 else 0])
    return "".join(letters)


def edge_labels(direction: np.ndarray) -> dict[str, str]:
    """Orientation labels for the left, right, top and bottom edges of a slice drawn unflipped.

    Columns run left to right and rows top to bottom, so the right edge points along the
    direction of increasing column index and the bottom edge along increasing row index.

    Parameters
    ----------
    direction
        ``(3, 3)`` matrix whose first column is the patient-space direction of increasing column
        index and whose second is that of increasing row index (a volume's ``direction``; the
        first and second halves of ImageOrientationPatient).
    """
    matrix = np.asarray(direction, dtype=float)
    along_columns, along_rows = matrix[:, 0], matrix[:, 1]
    return {
        "left": direction_label(-along_columns),
        "right": direction_label(along_columns),
        "top": direction_label(-along_rows),
        "bottom": direction_label(along_rows),
    }


def slice_normal(orientation: Sequence[float]) -> np.ndarray:
    """Unit normal of the image plane: row direction x column direction.

    Parameters
    ----------
    orientation
        ImageOrientationPatient: the row direction cosines then the column direction cosines.
    """
    row = np.asarray(orientation[:3], dtype=float)
    col = np.asarray(orientation[3:6], dtype=float)
    normal = np.cross(row, col)
    norm = np.linalg.norm(normal)
    return normal / norm if norm > 0 else np.array([0.0, 0.0, 1.0])


@dataclass
class SortedFrames:
    """Frames of one stack in slice order, with their spacing and what looked wrong."""

    frames: list[FrameHeader]
    positions_mm: Optional[np.ndarray]
    spacing_mm: Optional[float]
    warnings: list[str] = field(default_factory=list)


def _fallback_order(frame: FrameHeader) -> tuple[int, int, str]:
    return (
        frame.instance.instance_number if frame.instance.instance_number is not None else 0,
        frame.frame_index or 0,
        frame.instance.ref.display_name,
    )


def sort_frames(frames: Sequence[FrameHeader]) -> SortedFrames:
    """Sort frames along the slice normal by ImagePositionPatient projected onto it.

    Frames without position or orientation are kept in InstanceNumber / frame order.
    Duplicated positions are dropped (the first kept) and reported, as are gaps and
    irregular spacing.

    Parameters
    ----------
    frames
        Frames of one stack (same orientation and matrix).

    Returns
    -------
    SortedFrames
    """
    frames = list(frames)
    with_geometry = [f for f in frames if f.position is not None and f.orientation is not None]
    if len(with_geometry) != len(frames) or not frames:
        ordered = sorted(frames, key=_fallback_order)
        warnings = []
        if with_geometry:
            warnings.append(
                f"{len(frames) - len(with_geometry)} image(s) lack ImagePositionPatient or "
                "ImageOrientationPatient; slices ordered by InstanceNumber"
            )
        return SortedFrames(ordered, None, None, warnings)

    normal = slice_normal(with_geometry[0].orientation)  # type: ignore[arg-type]
    distance = np.array([float(np.dot(f.position, normal)) for f in frames])
    order = sorted(range(len(frames)), key=lambda i: (distance[i], _fallback_order(frames[i])))
    kept: list[int] = []
    duplicates = 0
    for i in order:
        if kept and abs(distance[i] - distance[kept[-1]]) < POSITION_TOLERANCE_MM:
            duplicates += 1
            continue
        kept.append(i)
    warnings: list[str] = []
    if duplicates:
        warnings.append(
            f"{duplicates} image(s) duplicate the position of another slice and were left out"
        )
    positions = distance[kept]
    spacing: Optional[float] = None
    if len(kept) > 1:
        steps = np.diff(positions)
        spacing = float(np.median(steps))
        irregular = np.abs(steps - spacing) > SPACING_TOLERANCE * spacing
        if np.any(irregular):
            gaps = int(np.sum(steps > (1 + SPACING_TOLERANCE) * spacing * 1.5))
            text = (
                f"irregular slice spacing: steps from {steps.min():.3g} to {steps.max():.3g} mm "
                f"(median {spacing:.3g} mm)"
            )
            if gaps:
                text += f"; {gaps} gap(s) suggest missing slices"
            warnings.append(text)
    return SortedFrames([frames[i] for i in kept], positions, spacing, warnings)
