"""The GUI's plain helpers for ROIs: pixel boxes in plane millimetres and the ROI list rows."""

from __future__ import annotations

import numpy as np
import pytest

from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.dicom import SeriesMeta, SliceRef, Volume, index_path
from npc_desktop.gui.annotation.roi_table import roi_rows
from npc_desktop.gui.viewer import geometry
from npc_desktop.gui.viewer.box_geometry import drawn_box, pixel_box_to_plane, plane_to_pixel_box

pytestmark = pytest.mark.gui


def _volume(spacing=(0.5, 1.0, 2.0), shape=(3, 40, 60), origin=(-10.0, 20.0, 5.0)) -> Volume:
    meta = SeriesMeta("k", "1.2.3", "1.2", "", "MR", "", None, "", "", "", "", "", "")
    return Volume(np.zeros(shape, np.uint16), spacing, origin, np.eye(3),
                  [SliceRef(f"1.2.3.{i}") for i in range(shape[0])], meta)


def test_pixel_box_and_plane_rectangle_round_trip() -> None:
    volume = _volume()
    x0, y0, _, _ = geometry.image_rect(volume)
    # Pixel edge (row 4, column 6): 6 columns of 0.5 mm and 4 rows of 1 mm from the image corner,
    # which lies half a pixel before the first pixel centre (the origin).
    x, y, width, height = pixel_box_to_plane(volume, (4, 6, 14, 26))
    assert (x, y) == (x0 + 3.0, y0 + 4.0) and (x0, y0) == (-10.25, 19.5)
    assert (width, height) == (10.0, 10.0)
    assert plane_to_pixel_box(volume, (x, y, width, height)) == (4.0, 6.0, 14.0, 26.0)
    # Sub-pixel rectangles snap to the nearest edges; a negative size is normalised.
    assert plane_to_pixel_box(volume, (x + 10.2, y + 10.4, -10.2 + 0.1, -10.4)) == (4.0, 6.0, 14.0, 26.0)


def test_boxes_are_clipped_and_tiny_drags_are_not_rois() -> None:
    volume = _volume()
    x0, y0, width, height = geometry.image_rect(volume)
    assert plane_to_pixel_box(volume, (x0 - 5, y0 - 5, 12, 8)) == (0.0, 0.0, 3.0, 14.0)
    assert plane_to_pixel_box(volume, (x0 + width - 0.1, y0 + 3, 5, 5)) == (3.0, 59.0, 8.0, 60.0)
    assert drawn_box(volume, (x0 + 1, y0 + 1), (x0 + 1.4, y0 + 9)) is None  # under 2 columns wide
    assert drawn_box(volume, (x0 - 9, y0 - 9), (x0 - 1, y0 - 1)) is None  # entirely outside
    assert drawn_box(volume, (x0 + 1, y0 + 1), (x0 + 3, y0 + 4)) == (1.0, 2.0, 4.0, 6.0)


def test_roi_rows_name_series_slice_and_size(demo_study) -> None:
    index = index_path(demo_study.root)
    t2 = next(les for les in demo_study.lesions_for("T2") if les.kind == "tumour")
    t1c = next(les for les in demo_study.lesions_for("T1C") if les.kind == "node")

    def roi(lesion, kind):
        row0, col0, row1, col1 = lesion.bbox
        return RectRoi(study_instance_uid=demo_study.study_instance_uid,
                       series_instance_uid=demo_study.series_uids[lesion.series_key],
                       sop_instance_uid=lesion.sop_instance_uid, row0=row0, col0=col0, row1=row1, col1=col1,
                       kind=kind)

    a, b = roi(t1c, RoiKind.LYMPH_NODE), roi(t2, RoiKind.TUMOUR)
    stray = RectRoi(study_instance_uid=demo_study.study_instance_uid, series_instance_uid="1.2.3",
                    sop_instance_uid="1.2.3.4", row0=0, col0=0, row1=5, col1=8)
    rows = roi_rows(index, [a, stray, b])
    by_id = {row.roi_id: row for row in rows}
    # T2 (series 3) comes before T1C (series 5) in the index; the stray ROI last.
    assert [row.roi_id for row in rows] == [b.id, a.id, stray.id]
    assert by_id[b.id].slice_text == f"{t2.slice_index + 1} / 22" and by_id[b.id].series_text.startswith("3  AX T2")
    width = (t1c.bbox[3] - t1c.bbox[1]) * 0.9
    height = (t1c.bbox[2] - t1c.bbox[0]) * 0.9
    assert by_id[a.id].size_text == f"{width:.1f} × {height:.1f} mm" and by_id[a.id].kind_text == "Lymph node"
    assert by_id[stray.id].series_text == "(series not in the open folder)" and by_id[stray.id].size_text == "8 × 5 px"


def test_annotation_model_refuses_bad_edits_and_keeps_unsaved_work(qtbot, tmp_path) -> None:
    from npc_desktop.core.annotation.store import AnnotationStore
    from npc_desktop.gui.annotation.annotation_model import AnnotationModel

    blocker = tmp_path / "a-file"
    blocker.write_text("where the annotation folder's parent should be")
    model = AnnotationModel(AnnotationStore(blocker / "annotations"))
    problems: list[str] = []
    model.problem.connect(lambda title, message: problems.append(title))
    roi = RectRoi(study_instance_uid="1.2.3", series_instance_uid="1.2.3.1", sop_instance_uid="1.2.3.1.1",
                  row0=0, col0=0, row1=4, col1=4)
    assert model.add_roi(roi)  # kept in memory although the save failed
    assert problems == ["Annotations not saved"] and model.has_unsaved
    assert not model.add_roi(roi)  # the same id again: refused, and no undo entry for it
    assert problems[-1] == "The change was not made" and model.undo_stack.count() == 1
    model.reset()  # another folder opens: the unsaved set stays in memory
    assert model.study("1.2.3").rois == (roi,) and model.has_unsaved
    blocker.unlink()
    assert model.flush() and not model.has_unsaved
    model.reset()  # saved now: the next use reads it back from the file
    reloaded = model.study("1.2.3")
    assert reloaded.rois == (roi,) and model.undo_stack.count() == 0
    assert model.study("not a UID") is None and "not a DICOM UID" in model.refusal("not a UID")
