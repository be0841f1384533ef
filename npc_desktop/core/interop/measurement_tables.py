"""Measurements as a pseudonymous CSV table: one row per line (a ruler, each node axis) and one
for the cricoid level, in mm.

The naming rules are those of :mod:`.tables`: a pseudonymous patient id, series labels ``S1``,
``S2``... and slice indices; UIDs only with ``include_uids=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.measurements import LineSegment, NodeAxes, Ruler
from npc_desktop.core.dicom.volume import Volume
from npc_desktop.core.interop.tables import (
    ImageInfo,
    InteropError,
    _check_pseudonym,
    image_catalogue,
    pseudonymous_image_name,
    write_rows_csv,
)

__all__ = ["MEASUREMENT_COLUMNS", "measurement_rows", "write_measurements_csv"]

MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "patient", "measurement_id", "type", "axis", "roi_id", "series", "slice_index", "image_name",
    "start_row", "start_col", "end_row", "end_col", "length_mm", "x_mm", "y_mm", "z_mm",
)
"""Columns of :func:`write_measurements_csv`, in order (plus the UID columns with ``include_uids``).

``type`` is ``ruler``, ``node_axis`` (two rows per node, ``axis`` ``long`` and ``short``) or
``cricoid_level`` (its patient position in ``x_mm``, ``y_mm``, ``z_mm``, LPS)."""

_UID_COLUMNS = ("series_instance_uid", "sop_instance_uid", "frame_number")


def _line_row(line: LineSegment, spacing: tuple[float, float]) -> dict[str, Any]:
    return {"start_row": line.start[0], "start_col": line.start[1], "end_row": line.end[0], "end_col": line.end[1],
            "length_mm": round(line.length_mm(spacing), 3)}


def measurement_rows(
    annotations: AnnotationSet,
    volumes: Sequence[Volume],
    *,
    patient: str,
    series_labels: Optional[Mapping[str, str]] = None,
    include_uids: bool = False,
) -> list[dict[str, Any]]:
    """The rows of :func:`write_measurements_csv` as dicts keyed by :data:`MEASUREMENT_COLUMNS`.

    Rulers are measured with the spacing of the loaded series; node axes with the spacing they
    were drawn with (the same, for the same image).
    """
    _check_pseudonym("patient id", patient)
    catalogue = image_catalogue(volumes, series_labels)
    rows: list[dict[str, Any]] = []

    def base(item: Any, kind: str, axis: str = "", roi_id: str = "") -> tuple[dict[str, Any], ImageInfo]:
        info = catalogue.get((item.sop_instance_uid, item.frame_number))
        if info is None:
            raise InteropError(f"measurement {item.id}: its image {item.sop_instance_uid} is not in the given series")
        row = {column: "" for column in MEASUREMENT_COLUMNS}
        row.update(patient=patient, measurement_id=item.id, type=kind, axis=axis, roi_id=roi_id,
                   series=info.series_label, slice_index=info.slice_index,
                   image_name=pseudonymous_image_name(patient, info.series_label, info.slice_index))
        if include_uids:
            row.update(series_instance_uid=item.series_instance_uid, sop_instance_uid=item.sop_instance_uid,
                       frame_number=item.frame_number if item.frame_number is not None else "")
        return row, info

    for item in annotations.measurements:
        if isinstance(item, Ruler):
            row, info = base(item, "ruler")
            row.update(_line_row(item.segment, (info.row_spacing, info.col_spacing)))
            rows.append(row)
        elif isinstance(item, NodeAxes):
            for axis, line in (("long", item.long_axis), ("short", item.short_axis)):
                row, _ = base(item, "node_axis", axis, item.roi_id)
                row.update(_line_row(line, item.pixel_spacing))
                rows.append(row)
    cricoid = annotations.cricoid_level
    if cricoid is not None:
        row, _ = base(cricoid, "cricoid_level")
        row.update(x_mm=round(cricoid.position[0], 3), y_mm=round(cricoid.position[1], 3),
                   z_mm=round(cricoid.position[2], 3))
        rows.append(row)
    return rows


def write_measurements_csv(
    annotations: AnnotationSet,
    volumes: Sequence[Volume],
    path: Union[str, Path],
    *,
    patient: str,
    series_labels: Optional[Mapping[str, str]] = None,
    include_uids: bool = False,
) -> Path:
    """Write the study's rulers, node axes and cricoid level as a CSV table in mm.

    Parameters
    ----------
    annotations
        The study's annotation set.
    volumes
        The loaded series the measurements are drawn on (slice index and spacing).
    path
        The CSV file to write.
    patient
        Pseudonymous patient id (letters, digits, ``-``, ``_``).
    series_labels
        SeriesInstanceUID -> label; ``S1``, ``S2``... by default.
    include_uids
        Also write series/SOP UIDs and frame number (not de-identified).

    Raises
    ------
    InteropError
        If an image is not in ``volumes``, a pseudonym is unsafe, or the file cannot be written.
    """
    rows = measurement_rows(annotations, volumes, patient=patient, series_labels=series_labels,
                            include_uids=include_uids)
    columns = list(MEASUREMENT_COLUMNS) + (list(_UID_COLUMNS) if include_uids else [])
    return write_rows_csv(path, columns, rows)
