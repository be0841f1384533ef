"""Reopening a study: it lands on the last-edited ROI and shows its last staging result, stale if the
ROIs changed since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from npc_desktop.core.annotation.store import study_file_name
from npc_desktop.core.staging.record import roi_revision
from tests.gui.annotating import left_drag, roi_centre_point, widget_point
from tests.gui.staging_helpers import add_demo_rois, stage_and_wait, wait_models

pytestmark = pytest.mark.gui


def _draw(qtbot, window, col: float, row: float):
    viewport = window.grid.viewports[0]
    before = len(window.session.annotations.current.rois)
    left_drag(qtbot, viewport, widget_point(viewport, col, row), widget_point(viewport, col + 40, row + 35))
    rois = window.session.annotations.current.rois
    assert len(rois) == before + 1
    return rois[-1]


@pytest.mark.realdata
def test_reopen_lands_on_the_last_edited_roi(qtbot, make_window, open_study, tcia_dir: Path,
                                             artifacts_dir: Path) -> None:
    window = make_window()
    open_study(window, tcia_dir)
    viewport = window.grid.viewports[0]
    canvas = viewport.canvas
    middle = viewport.state.slice_index
    qtbot.keyClick(canvas, Qt.Key.Key_D)
    qtbot.keyClick(canvas, Qt.Key.Key_PageDown)
    first_slice = viewport.state.slice_index
    first = _draw(qtbot, window, 200, 210)
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    second_slice = viewport.state.slice_index
    _draw(qtbot, window, 260, 240)
    assert len({middle, first_slice, second_slice}) == 3
    # Back on the first ROI's slice, move it: it is now the one edited last.
    for _ in range(3):
        qtbot.keyClick(canvas, Qt.Key.Key_PageDown)
    assert viewport.state.slice_index == first_slice
    start = roi_centre_point(viewport, first)
    left_drag(qtbot, viewport, start, start + QPoint(20, 15))
    moved = window.session.annotations.find(first.id)
    assert moved.box != first.box and moved.modified > first.modified
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)  # leave it on another slice
    window.close()

    again = make_window()
    open_study(again, tcia_dir)
    viewport = again.grid.viewports[0]
    qtbot.waitUntil(lambda: viewport.state.slice_index == first_slice, timeout=5000)
    assert again.session.annotations.selected_id == first.id
    assert list(viewport.layers["rois"].items) == [first.id] and viewport.layers["rois"].items[first.id].selected
    again.grab().save(str(artifacts_dir / "reopen_on_last_edited_roi.png"))
    again.close()


def test_reopen_shows_the_last_staging_result_and_marks_it_stale(
        qtbot, make_window, open_study, demo_study, tiny_factories, annotation_dir: Path,
        artifacts_dir: Path) -> None:
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    rois = add_demo_rois(window, demo_study)
    wait_models(qtbot, window)
    staged = stage_and_wait(qtbot, window)
    stage_text = window.results.stage_label.text()
    assert stage_text
    # Stored with the study's annotations: the bundle and the ROI revision it was computed on.
    saved = json.loads((annotation_dir / study_file_name(demo_study.study_instance_uid)).read_text("utf-8"))
    stored = saved["last_staging"]
    assert stored["bundle"]["name"] == staged.result.bundle_name
    assert stored["bundle"]["sha256"] == staged.result.bundle_hash
    assert stored["roi_revision"] == roi_revision(rois)
    window.close()

    again = make_window(engine_factories=tiny_factories)
    open_study(again, demo_study.root, expected_viewports=2)
    results = again.results
    staging = again.session.staging
    qtbot.waitUntil(lambda: staging.staged is not None, timeout=5000)
    assert staging.staged.stored_at is not None and not staging.stale
    assert again.results_dock.isVisible() and results.stage_label.isVisible()
    assert results.stage_label.text() == stage_text
    assert results.patches.rowCount() == len(staged.result.patches)
    assert staged.result.bundle_name in results.bundle_label.text() and "Stored result" in results.bundle_label.text()
    assert not results.stale_note.isVisible()
    # Each patch names its series again once the series it lies on are shown.
    qtbot.waitUntil(lambda: all(not results.patches.item(row, 1).text().startswith("?")
                                for row in range(results.patches.rowCount())), timeout=5000)
    results.grab().save(str(artifacts_dir / "reopen_staging_result.png"))

    # Moving a ROI with the mouse makes the reopened result stale, visibly.
    left = again.grid.viewports[0]
    tumour = again.session.annotations.find(again.session.annotations.selected_id)
    assert tumour is not None
    qtbot.keyClick(left.canvas, Qt.Key.Key_D)
    start = roi_centre_point(left, tumour)
    left_drag(qtbot, left, start, start + QPoint(12, 9))
    assert again.session.annotations.find(tumour.id).box != tumour.box
    qtbot.waitUntil(lambda: staging.stale, timeout=2000)
    assert results.stale_note.isVisible() and not results.stage_label.isEnabled()
    again.close()

    # The change survives a reopen: the stored result comes back marked stale.
    third = make_window(engine_factories=tiny_factories)
    open_study(third, demo_study.root, expected_viewports=2)
    qtbot.waitUntil(lambda: third.session.staging.staged is not None, timeout=5000)
    assert third.session.staging.stale and third.results.stale_note.isVisible()
    assert third.results.stage_label.text() == stage_text
    third.results_dock.grab().save(str(artifacts_dir / "reopen_staging_result_stale.png"))
    third.grab().save(str(artifacts_dir / "reopen_staging_window_stale.png"))
    third.close()
