"""The Staging Results dock with ten patches: nothing overlaps, tables scroll; the split headline; the CAM scale."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QWidget

from tests.gui.staging_helpers import add_demo_rois, click_action, stage_and_wait, wait_models

pytestmark = pytest.mark.gui

PATCHES = 10


def _add_rois_up_to(window: Any, demo: Any, count: int) -> None:
    """The app's example ROIs, then more of the demo's lesions until the study has ``count`` ROIs."""
    from npc_desktop.core.annotation.rois import RectRoi, RoiKind

    add_demo_rois(window, demo)
    annotations = window.session.annotations
    taken = {(roi.sop_instance_uid, roi.kind) for roi in annotations.current.rois}
    extra = []
    for lesion in demo.lesions:
        kind = RoiKind.TUMOUR if lesion.kind == "tumour" else RoiKind.LYMPH_NODE
        if (lesion.sop_instance_uid, kind) in taken or len(annotations.current.rois) + len(extra) >= count:
            continue
        taken.add((lesion.sop_instance_uid, kind))
        row0, col0, row1, col1 = lesion.bbox
        extra.append(RectRoi(study_instance_uid=demo.study_instance_uid,
                             series_instance_uid=demo.series_uids[lesion.series_key],
                             sop_instance_uid=lesion.sop_instance_uid,
                             row0=row0, col0=col0, row1=row1, col1=col1, kind=kind))
    annotations.import_rois(extra, "more demo lesions")
    assert len(annotations.current.rois) == count


@pytest.fixture
def staged_window(request, make_window, open_study, demo_study, tiny_factories, qtbot):
    """The demo study with ten ROIs staged by the tiny models, in a window of the requested size."""
    window = make_window(engine_factories=tiny_factories)
    window.resize(*request.param)
    open_study(window, demo_study.root, expected_viewports=2)
    _add_rois_up_to(window, demo_study, PATCHES)
    wait_models(qtbot, window)
    staged = stage_and_wait(qtbot, window)
    assert len(staged.result.patches) == PATCHES
    qtbot.waitUntil(lambda: window.results.isVisible())
    QApplication.processEvents()
    yield window
    window.close()


def _overlaps(panel: Any) -> list[str]:
    """Pairs of the panel's visible parts (the siblings of its patch table) whose rectangles overlap."""
    holder = panel.patches.parentWidget()
    parts: list[QWidget] = [w for w in holder.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
                            if w.isVisible()]
    found = []
    for i, a in enumerate(parts):
        for b in parts[i + 1:]:
            if a.geometry().intersects(b.geometry()):
                found.append(f"{a.objectName() or type(a).__name__} {a.geometry().getRect()} overlaps "
                             f"{b.objectName() or type(b).__name__} {b.geometry().getRect()}")
    return found


def _visible_rows(table: Any) -> int:
    return table.viewport().height() // table.verticalHeader().defaultSectionSize()


def _shown_part(widget: QWidget, top: QWidget) -> QRect:
    """The part of ``widget`` (in ``top``'s coordinates) that its ancestors up to ``top`` do not clip."""
    shown = QRect(widget.mapTo(top, widget.rect().topLeft()), widget.size())
    ancestor = widget.parentWidget()
    while ancestor is not None:
        shown = shown.intersected(QRect(ancestor.mapTo(top, ancestor.rect().topLeft()), ancestor.size()))
        if ancestor is top:
            break
        ancestor = ancestor.parentWidget()
    return shown


@pytest.mark.parametrize("staged_window", [(1440, 900), (1920, 1080)], indirect=True, ids=["1440x900", "1920x1080"])
def test_ten_patches_fit_the_results_dock_without_overlap(qtbot: Any, staged_window: Any, artifacts_dir: Any) -> None:
    window = staged_window
    panel = window.results
    size = f"{window.width()}x{window.height()}"
    window.grab().save(str(artifacts_dir / f"results_dock_{size}.png"))
    panel.grab().save(str(artifacts_dir / f"results_panel_{size}.png"))
    assert _overlaps(panel) == []
    # Everything fits the dock as the app lays it out: nothing is cut off, the panel need not scroll.
    dock = window.results_dock
    for part in (panel.stage_label, panel.patches, panel.members, panel.cam, panel.stage_button):
        whole = QRect(part.mapTo(dock, part.rect().topLeft()), part.size())
        assert _shown_part(part, dock) == whole, f"{part.objectName()} is cut off"
    # At least three whole patch rows and three member rows; the rest scroll.
    assert _visible_rows(panel.patches) >= 3
    assert _visible_rows(panel.members) >= min(3, panel.members.rowCount())
    # Every column, the agreement included, is in view without scrolling sideways.
    assert panel.patches.horizontalScrollBar().maximum() == 0
    # The keyboard reaches the last patch: End scrolls it into view and shows its members.
    table = panel.patches
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(table.model().index(0, 0)).center())
    qtbot.keyClick(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    last = table.visualRect(table.model().index(PATCHES - 1, 0))
    assert 0 <= last.top() and last.bottom() < table.viewport().height(), "the last patch row is not scrolled into view"
    assert panel.members_title.text() == f"Each model, patch {PATCHES}:"
    assert _overlaps(panel) == []


@pytest.mark.parametrize("staged_window", [(1440, 900)], indirect=True, ids=["1440x900"])
def test_headline_says_split_in_the_same_line(qtbot: Any, staged_window: Any) -> None:
    window = staged_window
    result = window.session.staging.staged.result
    patient = result.patient
    agreeing = sum(vote == patient.predicted for vote in patient.member_votes)
    # The tiny demo members are random and do not agree on the demo study: a split decision.
    assert agreeing < len(patient.member_votes), "this test needs a split result"
    headline = window.results.stage_label
    assert headline.text().startswith(f"Stage {patient.predicted} (p = ")
    assert headline.text().endswith(f"- split: {agreeing} of 5 members agree")
    assert headline.text() == result.headline()


@pytest.mark.parametrize("staged_window", [(1440, 900)], indirect=True, ids=["1440x900"])
def test_heatmap_has_a_colour_bar_naming_its_source(qtbot: Any, staged_window: Any, artifacts_dir: Any) -> None:
    window = staged_window
    viewport = window.grid.viewports[0]
    window.session.show_roi(window.session.staging.staged.result.patches[0].roi_id)
    qtbot.waitUntil(lambda: bool(viewport.layers["cams"].items))
    bar = viewport.layers["cams"].colour_bar
    assert bar.isVisible() and bar.source == "ensemble mean"
    canvas = viewport.canvas
    assert canvas.rect().contains(bar.geometry()), "the colour bar must lie inside the viewport"
    # Not over the right orientation label (middle of the right edge) nor the bottom-right lines.
    assert bar.geometry().top() > canvas.height() // 2 + 10
    assert bar.geometry().bottom() < canvas.height() - 50
    image = bar.grab().toImage()
    rect = bar.bar_rect().toAlignedRect()
    top = image.pixelColor(rect.center().x(), rect.top() + 3)
    bottom = image.pixelColor(rect.center().x(), rect.bottom() - 3)
    assert top.red() > 150 and top.blue() < 80, "1 is red"
    assert bottom.blue() > 120 and bottom.red() < 60, "0 is blue"
    window.grab().save(str(artifacts_dir / "cam_colour_bar.png"))
    # Choose VGG16's map with the keyboard: the bar names it.
    combo = window.results.cam.member
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert window.session.staging.cam.member == "vgg16"
    assert bar.isVisible() and bar.source == "VGG16"
    bar.grab().save(str(artifacts_dir / "cam_colour_bar_vgg16.png"))
    # The Grad-CAM toolbar button hides the heatmap, and the scale with it.
    click_action(qtbot, window, "show_cam")
    assert not viewport.layers["cams"].items and not bar.isVisible()
    click_action(qtbot, window, "show_cam")
    assert bar.isVisible()
