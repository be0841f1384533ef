"""Example ROIs for the built-in demo study, so a first run shows (and can stage) something.

They are the demo's own ground-truth boxes: on its key slice (the contrast-T1 slice where the
primary tumour is largest) and the T2 slice nearest to it, and each lymph node on the contrast-T1
slice where it is largest. They are offered only when the demo
study has no annotation file yet; once saved they are the user's to edit or delete. They share
one creation time, so the study opens on the key tumour until the user edits another ROI.
"""

from __future__ import annotations

from datetime import datetime

from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import utc_now
from npc_desktop.core.demo.study import DemoLesion, DemoStudy

EXAMPLE_AUTHOR = "demo example"
KEY_SERIES = "T1C"
PARTNER_SERIES = "T2"


def _area(lesion: DemoLesion) -> int:
    row0, col0, row1, col1 = lesion.bbox
    return (row1 - row0) * (col1 - col0)


def _roi(demo: DemoStudy, lesion: DemoLesion, created: datetime) -> RectRoi:
    row0, col0, row1, col1 = lesion.bbox
    return RectRoi(
        study_instance_uid=demo.study_instance_uid,
        series_instance_uid=demo.series_uids[lesion.series_key],
        sop_instance_uid=lesion.sop_instance_uid,
        row0=row0, col0=col0, row1=row1, col1=col1,
        kind=RoiKind.TUMOUR if lesion.kind == "tumour" else RoiKind.LYMPH_NODE,
        author=EXAMPLE_AUTHOR,
        created=created,
    )


def example_rois(demo: DemoStudy) -> list[RectRoi]:
    """The demo's example ROIs (see the module docstring), the key tumour first."""
    tumours = [les for les in demo.lesions_for(KEY_SERIES) if les.kind == "tumour"]
    if not tumours:
        return []
    key = max(tumours, key=_area)
    chosen = [les for les in demo.lesions_for(KEY_SERIES) if les.slice_index == key.slice_index]
    partner = demo.lesions_for(PARTNER_SERIES)
    if partner:
        z = key.centre_mm[2]
        nearest = min(partner, key=lambda les: abs(les.centre_mm[2] - z))
        positions = sorted({les.centre_mm[2] for les in partner})
        step = min((b - a for a, b in zip(positions, positions[1:])), default=0.0)
        # Only the slice the viewer shows beside the key slice (within half a T2 slice step).
        if abs(nearest.centre_mm[2] - z) <= step / 2.0 + 1e-6:
            chosen += [les for les in partner if les.slice_index == nearest.slice_index]
    nodes: dict[str, DemoLesion] = {}
    for les in demo.lesions_for(KEY_SERIES):
        if les.kind != "tumour" and (les.name not in nodes or _area(les) > _area(nodes[les.name])):
            nodes[les.name] = les
    chosen += [les for les in nodes.values() if les not in chosen]
    chosen.sort(key=lambda les: (les is not key, les.series_key != KEY_SERIES, les.kind != "tumour"))
    # One timestamp for all: none was edited after another, so a reopened demo shows the key tumour.
    created = utc_now()
    return [_roi(demo, les, created) for les in chosen]
