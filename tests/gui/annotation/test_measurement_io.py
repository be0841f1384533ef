"""Measurements through File > Export Annotations and File > Import DICOM SR: the SR carries rulers,
node axes and the cricoid level and re-imports them in one undo step; the CSV export writes the
measurements beside the ROI table."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QInputDialog

from npc_desktop.core.annotation.measurements import LineSegment, NodeAxes, Ruler
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.core.interop.sr import read_sr_rois
from tests.gui.annotation.measuring import choose_tool, click_image, draw_line

pytestmark = pytest.mark.gui


@pytest.fixture
def measured_demo(qtbot, demo_window, demo_study):
    """The demo two-up with its example ROIs, a ruler, a node's axes and the cricoid level."""
    window = demo_window
    annotations = window.session.annotations
    for roi in example_rois(demo_study):
        assert annotations.add_roi(roi)
    left = window.grid.viewports[0]
    volume = left.state.volume
    node = next(r for r in annotations.current.rois if r.kind is RoiKind.LYMPH_NODE
                and r.series_instance_uid == volume.meta.series_instance_uid)
    window.session.show_roi(node.id)
    row, col = node.centre
    axes = NodeAxes(study_instance_uid=node.study_instance_uid, series_instance_uid=node.series_instance_uid,
                    sop_instance_uid=node.sop_instance_uid, frame_number=node.frame_number, roi_id=node.id,
                    long_axis=LineSegment((row, node.col0 + 0.5), (row, node.col1 - 0.5)),
                    short_axis=LineSegment((node.row0 + 1.5, col), (node.row1 - 1.5, col)),
                    pixel_spacing=pixel_spacing(volume))
    assert annotations.add_measurement(axes)
    choose_tool(qtbot, window, left, "ruler")
    draw_line(qtbot, left, (50, 60), (140, 95))
    choose_tool(qtbot, window, left, "cricoid")
    click_image(qtbot, left, 100, 150)
    return window


def _near(a, b, tolerance: float = 1e-4) -> bool:
    return len(a) == len(b) and all(abs(x - y) < tolerance for x, y in zip(a, b))


def _wait_for_job(qtbot, window, path: Path) -> None:
    qtbot.waitUntil(lambda: path.exists() and not window.session.jobs.busy, timeout=20000)


def test_sr_export_and_import_carry_the_measurements(qtbot, measured_demo, tmp_path, monkeypatch) -> None:
    window = measured_demo
    annotations = window.session.annotations
    before = annotations.current
    rois, rulers, axes, level = before.rois, before.rulers, before.node_axes, before.cricoid_level
    target = tmp_path / "measured.dcm"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.actions_by_name["export_sr"].trigger()
    _wait_for_job(qtbot, window, target)
    assert window.error_box is None
    assert "5 ROI(s) and 3 measurement(s)" in window.statusBar().currentMessage()  # ruler, node axes, level
    assert [r.id for r in read_sr_rois(target)] == [r.id for r in rois]
    if shutil.which("dciodvfy"):
        result = subprocess.run(["dciodvfy", str(target)], capture_output=True, text=True)
        assert "Error" not in result.stdout + result.stderr
    # Delete the measurements, then import: they come back with their ids and geometry, in one step.
    for item in (*rulers, *axes, level):
        assert annotations.delete_measurement(item.id)
    assert not annotations.current.measurements and annotations.current.cricoid_level is None
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    window.actions_by_name["import_sr"].trigger()
    qtbot.waitUntil(lambda: annotations.current.cricoid_level is not None, timeout=10000)
    after = annotations.current
    # The SR stores 32-bit coordinates: equal to a ten-thousandth of a pixel.
    assert [r.id for r in after.rulers] == [r.id for r in rulers]
    assert all(_near(a.start + a.end, b.start + b.end) for a, b in zip(after.rulers, rulers))
    assert [(a.id, a.roi_id) for a in after.node_axes] == [(a.id, a.roi_id) for a in axes]
    assert all(_near(sum(a.long_axis.to_list() + a.short_axis.to_list(), []),
                     sum(b.long_axis.to_list() + b.short_axis.to_list(), [])) for a, b in zip(after.node_axes, axes))
    assert after.cricoid_level.id == level.id
    assert all(abs(a - b) < 1e-3 for a, b in zip(after.cricoid_level.position, level.position))
    assert annotations.undo_stack.undoText() == "Import 2 Measurements and the Cricoid Level"
    assert "5 already present" in window.statusBar().currentMessage()
    assert [row[0] for row in window.roi_list.measurements.row_texts()] == ["Node axes (node 1)", "Ruler 1",
                                                                           "Cricoid level"]
    window.actions_by_name["undo"].trigger()
    assert not annotations.current.measurements and annotations.current.cricoid_level is None


def test_csv_export_writes_the_measurements_beside_the_rois(qtbot, measured_demo, tmp_path, monkeypatch) -> None:
    window = measured_demo
    annotations = window.session.annotations
    (ruler,) = annotations.current.rulers
    target = tmp_path / "case.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("case-07", True))
    window.actions_by_name["export_csv"].trigger()
    second = tmp_path / "case-measurements.csv"
    _wait_for_job(qtbot, window, second)
    assert window.error_box is None and target.exists()
    assert "case-measurements.csv" in window.statusBar().currentMessage()
    with open(second, newline="", encoding="utf-8") as fp:
        table = list(csv.DictReader(fp))
    assert sorted(row["type"] for row in table) == ["cricoid_level", "node_axis", "node_axis", "ruler"]
    (row,) = [row for row in table if row["type"] == "ruler"]
    volume = window.grid.viewports[0].state.volume
    assert row["measurement_id"] == ruler.id and row["patient"] == "case-07"
    assert abs(float(row["length_mm"]) - ruler.length_mm(pixel_spacing(volume))) < 1e-3


def test_a_ruler_alone_can_be_exported_as_sr(qtbot, demo_window, tmp_path, monkeypatch) -> None:
    window = demo_window
    left = window.grid.viewports[0]
    assert not window.actions_by_name["export_sr"].isEnabled()
    choose_tool(qtbot, window, left, "ruler")
    draw_line(qtbot, left, (50, 60), (140, 95))
    assert window.actions_by_name["export_sr"].isEnabled() and not window.actions_by_name["export_coco"].isEnabled()
    target = tmp_path / "ruler.dcm"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.actions_by_name["export_sr"].trigger()
    _wait_for_job(qtbot, window, target)
    assert window.error_box is None and isinstance(window.session.annotations.current.rulers[0], Ruler)
