"""Rows of the measurement list: every ruler, node axes and the cricoid level of a study, with
their values in mm, slice and series (plain functions, no Qt).

Nodes are named as the TNM reasons name them (core :func:`~npc_desktop.core.tnm.study.node_label`
over :func:`~npc_desktop.core.tnm.study.node_rois`), so "node 2" is the same node in the list, the
TNM panel and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.locate import locate
from npc_desktop.core.annotation.measurements import CricoidLevel, NodeAxes, Ruler
from npc_desktop.core.dicom import StudyIndex
from npc_desktop.core.tnm.study import node_label, node_rois
from npc_desktop.gui.annotation.roi_table import series_label


@dataclass(frozen=True)
class MeasurementRow:
    """One line of the measurement list."""

    item_id: str
    kind: str
    """``"ruler"``, ``"node_axes"`` or ``"cricoid_level"``."""
    name_text: str
    value_text: str
    slice_text: str
    series_text: str


def _where(index: Optional[StudyIndex], item: Union[Ruler, NodeAxes, CricoidLevel]) -> tuple[str, str]:
    """Slice and series text of the image an item is on."""
    found = locate(index, item)  # type: ignore[arg-type]
    if found is None:
        return "–", "(series not in the open folder)"
    series, position = found
    return f"{position + 1} / {series.image_count}", series_label(series)


def _ruler_value(index: Optional[StudyIndex], ruler: Ruler) -> str:
    """The ruler's length in mm from its image's pixel spacing (in pixels if the header has none)."""
    found = locate(index, ruler)  # type: ignore[arg-type]
    if found is not None:
        series, position = found
        spacing = series.frames[position].pixel_spacing
        if spacing is not None and spacing[0] > 0 and spacing[1] > 0:
            return f"{ruler.length_mm((float(spacing[0]), float(spacing[1]))):.1f} mm"
    return f"{ruler.segment.length_px:.1f} px"


def measurement_rows(index: Optional[StudyIndex], annotations: AnnotationSet) -> list[MeasurementRow]:
    """The list rows: node axes in node order, then rulers in drawing order, then the cricoid level."""
    nodes = {roi.id: node_label(i) for i, roi in enumerate(node_rois(annotations))}
    rows = []
    axes = sorted(annotations.node_axes, key=lambda a: list(nodes).index(a.roi_id) if a.roi_id in nodes else 0)
    for item in axes:
        slice_text, series_text = _where(index, item)
        rows.append(MeasurementRow(item.id, "node_axes", f"Node axes ({nodes.get(item.roi_id, 'node')})",
                                   f"{item.long_mm:.1f} × {item.short_mm:.1f} mm", slice_text, series_text))
    for number, ruler in enumerate(annotations.rulers, start=1):
        slice_text, series_text = _where(index, ruler)
        rows.append(MeasurementRow(ruler.id, "ruler", f"Ruler {number}", _ruler_value(index, ruler),
                                   slice_text, series_text))
    level = annotations.cricoid_level
    if level is not None:
        slice_text, series_text = _where(index, level)
        rows.append(MeasurementRow(level.id, "cricoid_level", "Cricoid level", f"z {level.superior_mm:.1f} mm",
                                   slice_text, series_text))
    return rows
