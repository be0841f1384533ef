"""Text of the corner overlays of a viewport (plain functions, no Qt)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from npc_desktop.core.dicom import Volume
from npc_desktop.gui.state import ClaheSettings, CursorInfo, Window


def format_person_name(name: str) -> str:
    """DICOM PN ``Family^Given^Middle^Prefix^Suffix`` as ``FAMILY, Given Middle``."""
    parts = [p.strip() for p in name.split("=")[0].split("^")]
    while parts and not parts[-1]:
        parts.pop()
    if not parts:
        return "(no name)"
    if len(parts) == 1:
        return parts[0]
    given = " ".join(p for p in parts[1:3] if p)
    return f"{parts[0]}, {given}" if given else parts[0]


def format_date(value: str) -> str:
    """DICOM DA ``YYYYMMDD`` as ISO ``YYYY-MM-DD`` (unambiguous in every locale)."""
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def format_value(value: float, integer: bool) -> str:
    """A voxel value: integers as such, floats with four significant digits."""
    return str(int(round(value))) if integer else f"{value:.4g}"


def top_left(volume: Volume) -> list[str]:
    """Patient and study identity."""
    meta = volume.meta
    lines = [format_person_name(meta.patient_name)]
    identity = f"ID {meta.patient_id or '-'}"
    if meta.patient_sex:
        identity += f"   Sex {meta.patient_sex}"
    if meta.patient_birth_date:
        identity += f"   DOB {format_date(meta.patient_birth_date)}"
    lines.append(identity)
    study = format_date(meta.study_date) or "no study date"
    if meta.study_description:
        study += f"   {meta.study_description}"
    lines.append(study)
    return lines


def top_right(volume: Volume) -> list[str]:
    """Series identity and acquisition geometry."""
    meta = volume.meta
    _, rows, cols = volume.shape
    series = f"{meta.modality}"
    if meta.series_number is not None:
        series += f"   Se {meta.series_number}"
    lines = [
        meta.series_description or "(no description)",
        series,
        f"{cols} × {rows}   {volume.spacing[0]:.2f} × {volume.spacing[1]:.2f} mm",
    ]
    if volume.shape[0] > 1:
        lines.append(f"Slice spacing {volume.spacing[2]:.2f} mm")
    return lines


def bottom_left(volume: Volume, slice_index: int, cursor: Optional[CursorInfo]) -> list[str]:
    """Slice number and position, then the voxel under the pointer."""
    count = volume.shape[0]
    position = float(volume.slice_positions[slice_index])
    lines = [f"Im {slice_index + 1} / {count}", f"Loc {position:.1f} mm"]
    if not volume.slices[slice_index].decoded:
        lines.append("slice could not be decoded (shown blank)")
    if cursor is not None:
        x, y, z = cursor.patient_mm
        integer = volume.voxels.dtype.kind in "iu"
        lines.append(f"x {x:.1f}  y {y:.1f}  z {z:.1f} mm")
        lines.append(f"Val {format_value(cursor.value, integer)}   [{cursor.column}, {cursor.row}]")
    return lines


def bottom_right(window: Optional[Window], zoom: float, clahe: ClaheSettings, integer: bool) -> list[str]:
    """Window/level, zoom and the CLAHE preview state."""
    lines = []
    if window is not None:
        centre, width = window
        lines.append(f"W {format_value(width, integer)}   L {format_value(centre, integer)}")
    if np.isfinite(zoom) and zoom > 0:
        lines.append(f"Zoom {zoom:.2f}×")
    if clahe.enabled:
        lines.append(f"CLAHE {clahe.clip_limit:g} / {clahe.tile_grid}×{clahe.tile_grid}")
    return lines
