"""Rows of the ROI list: kind, series, slice and size of every ROI (plain functions, no Qt).

Series, slice number and pixel spacing come from the study index (headers), so a ROI on a series
that is not loaded is listed with its real slice number and size too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from npc_desktop.core.annotation.locate import locate
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.dicom import SeriesInfo, StudyIndex
from npc_desktop.gui.annotation.roi_style import KIND_NAMES


@dataclass(frozen=True)
class RoiRow:
    """One line of the ROI list."""

    roi_id: str
    kind: RoiKind
    kind_text: str
    series_text: str
    slice_text: str
    size_text: str
    series_key: Optional[str]
    slice_index: Optional[int]


def series_label(series: SeriesInfo) -> str:
    """``"<number> <description>"`` of a series, as the study browser names it."""
    title = series.description or "(no description)"
    return f"{series.series_number}  {title}" if series.series_number is not None else title


def roi_row(index: Optional[StudyIndex], roi: RectRoi) -> RoiRow:
    """The list row of one ROI."""
    found = locate(index, roi)
    if found is None:
        return RoiRow(roi.id, roi.kind, KIND_NAMES[roi.kind], "(series not in the open folder)", "–",
                      f"{roi.width:g} × {roi.height:g} px", None, None)
    series, position = found
    spacing = series.frames[position].pixel_spacing
    if spacing is not None and spacing[0] > 0 and spacing[1] > 0:
        height_mm, width_mm = roi.size_mm(row_spacing=spacing[0], col_spacing=spacing[1])
        size = f"{width_mm:.1f} × {height_mm:.1f} mm"
    else:
        size = f"{roi.width:g} × {roi.height:g} px"
    return RoiRow(roi.id, roi.kind, KIND_NAMES[roi.kind], series_label(series),
                  f"{position + 1} / {series.image_count}", size, series.key, position)


def roi_rows(index: Optional[StudyIndex], rois: Iterable[RectRoi]) -> list[RoiRow]:
    """The list rows of ``rois``, ordered by series (index order), slice, then drawing order."""
    rows = [roi_row(index, roi) for roi in rois]
    order = {s.key: i for i, s in enumerate(index.image_series())} if index is not None else {}

    def key(item: tuple[int, RoiRow]) -> tuple[int, int, int]:
        drawn, row = item
        series = order.get(row.series_key, len(order)) if row.series_key else len(order)
        return (series, row.slice_index if row.slice_index is not None else -1, drawn)

    return [row for _, row in sorted(enumerate(rows), key=key)]
