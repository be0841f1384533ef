"""Annotations on the two-series demo study: screenshots with the panels, jumping across series,
export (DICOM SR, CSV, COCO) and SR import from the File menu."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog

from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.core.interop.sr import read_sr_rois
from npc_desktop.gui.state import Tool

pytestmark = pytest.mark.gui


@pytest.fixture
def annotated_demo(demo_window, demo_study):
    """The demo two-up with its example ROIs added (as the built-in demo gets them)."""
    annotations = demo_window.session.annotations
    for roi in example_rois(demo_study):
        assert annotations.add_roi(roi)
    return demo_window


def _row_of(window, roi_id: str):
    tree = window.roi_list.tree
    return tree.visualItemRect(window.roi_list.item_for(roi_id)).center()


def test_screenshot_with_rois_and_panels(qtbot, annotated_demo, demo_study, artifacts_dir) -> None:
    window = annotated_demo
    left, right = window.grid.viewports
    rois = window.session.annotations.current.rois
    tumour = rois[0]
    window.session.show_roi(tumour.id)
    qtbot.keyClick(left.canvas, Qt.Key.Key_D)
    assert window.session.tool is Tool.ROI
    assert list(left.layers["rois"].items) == [tumour.id]
    t2_tumour = next(r for r in rois if r.series_instance_uid == demo_study.series_uids["T2"])
    assert list(right.layers["rois"].items) == [t2_tumour.id]  # the synchronised T2 slice shows its own ROI
    assert left.layers["rois"].items[tumour.id].selected and not right.layers["rois"].items[t2_tumour.id].selected
    texts = window.roi_list.row_texts()
    assert len(texts) == 5 and {t[0] for t in texts} == {"Tumour", "Lymph node"}
    assert window.roi_list.summary.text() == "5 ROIs in this study: 2 tumour, 3 lymph node"
    assert window.patch_panel.caption.text().startswith("Patch ")
    for dock in (window.roi_dock, window.patch_dock, window.label_dock, window.browser_dock):
        assert dock.isVisible() and dock.width() > 200
    window.grab().save(str(artifacts_dir / "demo_annotated_window.png"))
    left.canvas.viewport().grab().save(str(artifacts_dir / "demo_annotated_t1c.png"))
    window.patch_dock.grab().save(str(artifacts_dir / "demo_patch_preview.png"))


def test_list_click_loads_the_series_it_needs(qtbot, annotated_demo, demo_study) -> None:
    window = annotated_demo
    session = window.session
    left, right = window.grid.viewports
    t1c_key = left.state.series_key
    session.set_active(1)
    session.load_series(t1c_key, 1)  # now no viewport shows T2
    qtbot.waitUntil(lambda: right.state.series_key == t1c_key, timeout=5000)
    t2_roi = next(r for r in session.annotations.current.rois
                  if r.series_instance_uid == demo_study.series_uids["T2"])
    session.set_active(0)
    tree = window.roi_list.tree
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=_row_of(window, t2_roi.id))
    qtbot.waitUntil(lambda: left.state.volume is not None
                    and left.state.volume.meta.series_instance_uid == t2_roi.series_instance_uid, timeout=10000)
    qtbot.waitUntil(lambda: t2_roi.id in left.layers["rois"].items, timeout=5000)
    lesion = next(les for les in demo_study.lesions_for("T2") if les.sop_instance_uid == t2_roi.sop_instance_uid)
    assert left.state.slice_index == lesion.slice_index
    assert session.annotations.selected_id == t2_roi.id


def _wait_for_job(qtbot, window, path: Path) -> None:
    qtbot.waitUntil(lambda: path.exists() and not window.session.jobs.busy, timeout=20000)


def test_export_and_import_from_the_file_menu(qtbot, annotated_demo, tmp_path, monkeypatch) -> None:
    window = annotated_demo
    annotations = window.session.annotations
    rois = annotations.current.rois
    targets = {"sr": tmp_path / "rois.dcm", "csv": tmp_path / "rois.csv", "coco": tmp_path / "rois.json"}
    chosen: list[Path] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (str(chosen[-1]), ""))
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: ("case-07", True))
    assert window.export_menu.actions()[0].isEnabled()
    for name, path in targets.items():
        chosen.append(path)
        window.actions_by_name[f"export_{name}"].trigger()
        _wait_for_job(qtbot, window, path)
    assert window.error_box is None
    back = read_sr_rois(targets["sr"])
    assert [(r.id, r.kind, r.box, r.sop_instance_uid) for r in back] == [
        (r.id, r.kind, r.box, r.sop_instance_uid) for r in rois]
    if shutil.which("dciodvfy"):
        result = subprocess.run(["dciodvfy", str(targets["sr"])], capture_output=True, text=True)
        assert "Error" not in result.stdout + result.stderr
    with open(targets["csv"], newline="", encoding="utf-8") as fp:
        table = list(csv.DictReader(fp))
    assert [row["roi_id"] for row in table] == [r.id for r in rois]
    assert {row["patient"] for row in table} == {"case-07"}
    assert all(row["margin_fraction"] == "0.2" for row in table)
    coco = json.loads(targets["coco"].read_text(encoding="utf-8"))
    assert len(coco["annotations"]) == 5 and {c["name"] for c in coco["categories"]} == {"tumour", "lymph_node"}
    # Delete everything, then import the SR: the ROIs come back with their ids, as one undo step.
    for roi in rois:
        annotations.delete_roi(roi.id)
    assert len(annotations.current) == 0
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: (str(targets["sr"]), ""))
    window.actions_by_name["import_sr"].trigger()
    qtbot.waitUntil(lambda: len(annotations.current) == 5, timeout=10000)
    assert {r.id: r.box for r in annotations.current.rois} == {r.id: r.box for r in rois}
    assert {r.kind for r in annotations.current.rois} == {RoiKind.TUMOUR, RoiKind.LYMPH_NODE}
    assert annotations.undo_stack.undoText() == "Import 5 ROIs"
    window.actions_by_name["import_sr"].trigger()  # again: nothing is duplicated
    qtbot.waitUntil(lambda: "already present" in window.statusBar().currentMessage(), timeout=10000)
    assert len(annotations.current) == 5
    window.actions_by_name["undo"].trigger()
    assert len(annotations.current) == 0


def test_export_with_a_bad_pseudonym_says_why(qtbot, annotated_demo, tmp_path, monkeypatch) -> None:
    window = annotated_demo
    target = tmp_path / "rois.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Doe^John 1.2.3", True))
    window.actions_by_name["export_csv"].trigger()
    qtbot.waitUntil(lambda: window.error_box is not None, timeout=10000)
    assert window.error_box.text() == "Export failed"
    assert "patient id 'Doe^John 1.2.3'" in window.error_box.informativeText()
    assert not target.exists()


def test_drawing_on_anisotropic_pixels_stores_the_pixels_under_the_mouse(
        qtbot, tmp_path, main_window, open_study, demo_study) -> None:
    import pydicom

    from tests.gui.annotating import left_drag, rounded_box, widget_point

    # Row spacing 1.0 mm, column spacing 0.5 mm: a pixel is twice as high as wide on screen.
    folder = tmp_path / "aniso"
    folder.mkdir()
    for path in sorted((demo_study.root / "T2").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.PixelSpacing = [1.0, 0.5]
        ds.save_as(folder / path.name, enforce_file_format=True)
    open_study(main_window, folder)
    viewport = main_window.grid.viewports[0]
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_D)
    start, end = widget_point(viewport, 60.4, 80.2), widget_point(viewport, 120.3, 110.6)
    expected = rounded_box(viewport, start, end)
    left_drag(qtbot, viewport, start, end)
    (roi,) = main_window.session.annotations.current.rois
    assert roi.box == expected
    width_mm, height_mm = roi.width * 0.5, roi.height * 1.0
    assert main_window.roi_list.row_texts()[0][2] == f"{width_mm:.1f} × {height_mm:.1f} mm"
    # The outline sits on the drawn rectangle: its item spans the same screen box.
    item = viewport.layers["rois"].items[roi.id]
    rect = viewport.canvas.mapFromScene(item.mapToScene(item.boundingRect())).boundingRect()
    corner0, corner1 = widget_point(viewport, roi.col0, roi.row0), widget_point(viewport, roi.col1, roi.row1)
    assert abs(rect.left() - corner0.x()) <= 1 and abs(rect.top() - corner0.y()) <= 1
    assert abs(rect.right() - corner1.x()) <= 2 and abs(rect.bottom() - corner1.y()) <= 2
