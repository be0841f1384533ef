"""A demo study annotated as the workstation saves it for TNM: the example ROIs, a saved TNM form
(left primary, left nodes, M0), node axes on node 2, a ruler on the first tumour's slice and the
cricoid level marked on the most inferior slice (so no node lies below it).

Used by the report, SR and command-line tests; built through the core API only.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

import numpy as np

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.cricoid import cricoid_level_at
from npc_desktop.core.annotation.measurements import NodeAxes, Ruler
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.core.dicom import Volume
from npc_desktop.core.tnm.derivation import Override
from npc_desktop.core.tnm.edition_table import Axis
from npc_desktop.core.tnm.form import NodeFlags, TnmForm
from npc_desktop.core.tnm.nodes import Side
from npc_desktop.core.tnm.study import node_rois

PLANTED_NOTE = "PLANTED-NOTE dural enhancement on the coronal series"
"""An override note the de-identified variants must drop."""

RULER_PX = 40.0


def node_axes(roi: RectRoi, volume: Volume, long_mm: float, short_mm: float = 12.0) -> NodeAxes:
    """Horizontal long and vertical short axes of ``long_mm`` x ``short_mm`` through the ROI's centre."""
    row_mm, col_mm = pixel_spacing(volume)
    row, col = (roi.row0 + roi.row1) / 2, (roi.col0 + roi.col1) / 2
    half_long, half_short = long_mm / col_mm / 2, short_mm / row_mm / 2
    return NodeAxes(study_instance_uid=roi.study_instance_uid, series_instance_uid=roi.series_instance_uid,
                    sop_instance_uid=roi.sop_instance_uid, frame_number=roi.frame_number, roi_id=roi.id,
                    long_axis=((row, col - half_long), (row, col + half_long)),
                    short_axis=((row - half_short, col), (row + half_short, col)), pixel_spacing=(row_mm, col_mm))


def tnm_annotations(demo_study, volumes: Mapping[str, Volume], *, findings: Iterable[str] = ("t3.skull_base",),
                    node_long_mm: float = 64.0, override_t: Optional[str] = None) -> AnnotationSet:
    """The demo study's example ROIs with a saved TNM form and measurements.

    Parameters
    ----------
    findings
        The checked T findings.
    node_long_mm
        Long axis of node 2: over 60 mm makes N3 (stage IVA with T3); 30 mm leaves N1 (stage III).
    override_t
        Override T to this category with :data:`PLANTED_NOTE`.
    """
    rois = example_rois(demo_study)
    annotations = AnnotationSet(rois[0].study_instance_uid, rois)
    nodes = node_rois(annotations)
    overrides = {Axis.T: Override(category=override_t, note=PLANTED_NOTE)} if override_t else {}
    form = TnmForm(findings=frozenset(findings), m="M0", primary_side=Side.LEFT, overrides=overrides,
                   nodes={n.id: NodeFlags(side=Side.LEFT) for n in nodes})
    annotations.set_tnm_form(form.to_dict())
    node_volume = volumes[nodes[1].series_instance_uid]
    annotations.add_measurement(node_axes(nodes[1], node_volume, node_long_mm))
    tumour = next(r for r in annotations.rois if r.kind is RoiKind.TUMOUR)
    row = (tumour.row0 + tumour.row1) / 2
    annotations.add_measurement(Ruler(
        study_instance_uid=tumour.study_instance_uid, series_instance_uid=tumour.series_instance_uid,
        sop_instance_uid=tumour.sop_instance_uid, frame_number=tumour.frame_number,
        start=(row, tumour.col0), end=(row, tumour.col0 + RULER_PX)))
    lowest = int(np.argmin([node_volume.index_to_patient(float(k), 0.0, 0.0)[2]
                            for k in range(node_volume.shape[0])]))
    annotations.set_cricoid_level(cricoid_level_at(node_volume, lowest, 20.0, 20.0))
    return annotations


def ruler_mm(annotations: AnnotationSet, volumes: Mapping[str, Volume]) -> float:
    """The length of the study's ruler in mm."""
    ruler = annotations.rulers[0]
    return ruler.length_mm(pixel_spacing(volumes[ruler.series_instance_uid]))
