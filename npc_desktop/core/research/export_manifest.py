"""The export's manifest: its columns, one row per patch, and the raw 16-bit encoding.

Rows carry pseudonyms, geometry and settings only: no names, IDs, dates, UIDs or descriptions.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

import numpy as np

from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing, PreparedPatch

__all__ = ["MANIFEST_COLUMNS", "MAPPING_COLUMNS", "raw_uint16", "manifest_row", "csv_bytes"]

MANIFEST_COLUMNS: tuple[str, ...] = (
    "file", "raw_file", "sha256", "raw_sha256", "patient", "export_id", "split", "label", "sequence", "kind",
    "series", "slice_index",
    "roi_row0", "roi_col0", "roi_row1", "roi_col1", "roi_height_mm", "roi_width_mm",
    "patch_row0", "patch_col0", "patch_row1", "patch_col1", "patch_height_px", "patch_width_px",
    "patch_top_mm", "patch_left_mm", "patch_bottom_mm", "patch_right_mm",
    "row_spacing_mm", "col_spacing_mm", "clipped", "roi_clipped",
    "margin_fraction", "margin_mm",
    "normalisation", "window", "percentiles", "clahe", "clip_limit", "tile_grid", "scope",
    "raw_scale", "raw_offset",
)
"""Columns of ``manifest.csv``. ``export_id`` is a random code shared by every row of one export
(it tells the exports of a merged dataset apart). Boxes are pixel edges ``(row0, col0, row1, col1)`` of the
slice; mm are from the slice's top-left corner. ``raw_scale``/``raw_offset`` map the raw PNG
back to stored values: ``value = png * raw_scale + raw_offset``."""

MAPPING_COLUMNS: tuple[str, ...] = (
    "pseudonym", "patient_id", "patient_name", "patient_birth_date", "study_instance_uid",
    "accession_number", "study_date",
)
"""Columns of the optional pseudonym -> patient mapping file (it holds PHI)."""


def raw_uint16(pixels: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Stored values as uint16 plus ``(scale, offset)`` with ``value = png * scale + offset``.

    Unsigned values up to 65535 are kept as they are (scale 1, offset 0); other integer ranges
    within 65535 are shifted; anything else (floats, wider ranges) is scaled linearly.
    """
    values = np.asarray(pixels)
    if values.dtype.kind in "ui":
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high <= 65535:
            return values.astype(np.uint16), 1.0, 0.0
        if high - low <= 65535:
            return (values.astype(np.int64) - low).astype(np.uint16), 1.0, float(low)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    scale = (high - low) / 65535.0 if high > low else 1.0
    scaled = np.rint((np.nan_to_num(values, nan=low) - low) / scale)
    return np.clip(scaled, 0, 65535).astype(np.uint16), scale, low


def _fmt(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def manifest_row(
    prepared: PreparedPatch, *, name: str, split: str, pseudonym: str, stage: str, kind: str, series_label: str,
    sequence: str, margin: ContextMargin, preprocessing: PatchPreprocessing, raw_scale: float, raw_offset: float,
    hashes: tuple[str, str], export_id: str = "",
) -> dict[str, str]:
    """One ``manifest.csv`` row (see :data:`MANIFEST_COLUMNS`) of an exported patch.

    Parameters
    ----------
    prepared
        The cropped and preprocessed patch.
    name
        File name shared by its CLAHE and raw PNGs.
    split, pseudonym, stage, kind, series_label, sequence
        Where it goes and what it is (all pseudonymous).
    margin, preprocessing
        The export settings.
    raw_scale, raw_offset
        How the raw PNG maps back to stored values.
    hashes
        SHA-256 of the CLAHE and the raw PNG.
    export_id
        The export's random code.
    """
    patch = prepared.patch
    roi = patch.roi
    box = patch.box
    top, left, bottom, right = patch.box_mm
    roi_h, roi_w = roi.size_mm(row_spacing=patch.row_spacing, col_spacing=patch.col_spacing)
    pre = preprocessing
    return {
        "file": f"clahe/{split}/{stage}/{name}",
        "raw_file": f"raw/{split}/{stage}/{name}",
        "sha256": hashes[0],
        "raw_sha256": hashes[1],
        "patient": pseudonym,
        "export_id": export_id,
        "split": split,
        "label": stage,
        "sequence": sequence,
        "kind": kind,
        "series": series_label,
        "slice_index": str(patch.slice_index),
        "roi_row0": _fmt(roi.row0), "roi_col0": _fmt(roi.col0), "roi_row1": _fmt(roi.row1), "roi_col1": _fmt(roi.col1),
        "roi_height_mm": _fmt(roi_h), "roi_width_mm": _fmt(roi_w),
        "patch_row0": str(box.row0), "patch_col0": str(box.col0), "patch_row1": str(box.row1),
        "patch_col1": str(box.col1), "patch_height_px": str(box.height), "patch_width_px": str(box.width),
        "patch_top_mm": _fmt(top), "patch_left_mm": _fmt(left), "patch_bottom_mm": _fmt(bottom),
        "patch_right_mm": _fmt(right),
        "row_spacing_mm": _fmt(patch.row_spacing), "col_spacing_mm": _fmt(patch.col_spacing),
        "clipped": str(patch.clipped).lower(), "roi_clipped": str(patch.geometry.roi_clipped).lower(),
        "margin_fraction": _fmt(margin.fraction), "margin_mm": _fmt(margin.mm),
        "normalisation": pre.normalisation.value,
        "window": " ".join(_fmt(v) for v in pre.window) if pre.window else "",
        "percentiles": " ".join(_fmt(v) for v in pre.percentiles),
        "clahe": str(pre.clahe).lower(), "clip_limit": _fmt(pre.clip_limit),
        "tile_grid": " ".join(str(v) for v in pre.tile_grid), "scope": pre.scope,
        "raw_scale": repr(float(raw_scale)), "raw_offset": repr(float(raw_offset)),
    }


def csv_bytes(columns: Sequence[str], rows: Iterable[dict[str, str]]) -> bytes:
    """UTF-8 CSV with a header line and ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
