"""Staging in the workstation: the demo study staged with tiny models, results panel, Grad-CAM overlay."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.gui.staging.staging_view import percent
from tests.gui.staging_helpers import (
    add_demo_rois,
    box_region,
    chroma,
    click_action,
    rgb_grab,
    stage_and_wait,
    wait_models,
)

pytestmark = pytest.mark.gui


@pytest.fixture
def staging_window(make_window, open_study, demo_study, tiny_factories, qtbot):
    """The demo study two-up with the tiny demo models loaded."""
    window = make_window(engine_factories=tiny_factories)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    wait_models(qtbot, window)
    yield window
    window.close()


def _shown_patch(window: Any, vp: int = 0) -> Any:
    patches = window.grid.viewports[vp].layers["cams"].shown_patches()
    assert patches, "no staged patch on the shown slice"
    return patches[0]


def test_staging_the_demo_shows_probabilities_agreement_and_the_untrained_mark(
        qtbot: Any, staging_window: Any, artifacts_dir: Any) -> None:
    window = staging_window
    status = window.staging_ui.models_label.text()
    assert status.startswith(f"Models: {UNTRAINED_LABEL} · CPU (")
    viewport = window.grid.viewports[0]
    before = rgb_grab(viewport).astype(int)
    staged = stage_and_wait(qtbot, window)
    result = staged.result
    rois = window.session.annotations.current.rois
    assert len(result.patches) == len(rois) >= 3
    panel = window.results
    assert window.results_dock.isVisible()
    assert panel.banner.isVisible() and panel.banner.text() == UNTRAINED_LABEL
    patient = result.patient
    assert panel.stage_label.text() == result.headline()
    assert panel.stage_label.text().startswith(f"Stage {patient.predicted} (p = {percent(np.max(patient.probabilities))})")
    agree = sum(v == patient.predicted for v in patient.member_votes)
    assert panel.agreement_label.text().startswith(f"{agree} of 5 voting models agree")
    assert ("split decision" in panel.agreement_label.text()) == (agree < 5)
    table = panel.patches
    assert table.rowCount() == len(result.patches)
    for row, patch in enumerate(result.patches):
        for k, p in enumerate(patch.probabilities):
            assert table.item(row, 3 + k).text() == percent(p)
        assert table.item(row, 2).text() == patch.predicted
    members = panel.members
    assert members.rowCount() == 5
    for row, probabilities in enumerate(patient.member_probabilities):
        assert [members.item(row, 1 + k).text() for k in range(2)] == [percent(p) for p in probabilities]
    assert result.bundle_name in panel.bundle_label.text()
    # The overlay: heatmap colours over the staged patch on the shown slice, and the mark on the canvas.
    patch = _shown_patch(window)
    assert viewport.canvas.banner == UNTRAINED_LABEL
    region = box_region(viewport, patch.box)
    with_cam = rgb_grab(viewport).astype(int)
    window.grab().save(str(artifacts_dir / "staging_results.png"))
    # Heatmap colours over the patch (the slice and the ROI outline are the same before and after).
    changed = np.abs(with_cam - before)[region].max(axis=-1) > 25
    assert changed.mean() > 0.6, "the heatmap is not visible over the patch"
    assert (chroma(with_cam[region].astype(np.uint8)) > 40).mean() > 0.5
    outside = np.ones(before.shape[:2], bool)
    outside[box_region(viewport, patch.box, inset=-40)] = False
    outside[:80] = False  # the banner
    assert (np.abs(with_cam - before)[outside].max(axis=-1) > 25).mean() < 0.01, "colour outside the patches"
    click_action(qtbot, window, "show_cam")
    assert not window.session.staging.cam.visible and not viewport.layers["cams"].items
    without_cam = rgb_grab(viewport).astype(int)
    assert np.abs(without_cam - before)[region].max() <= 2, "the overlay did not go away"
    assert viewport.canvas.banner == ""


def test_member_selector_and_opacity_change_the_overlay(qtbot: Any, staging_window: Any) -> None:
    window = staging_window
    stage_and_wait(qtbot, window)
    viewport = window.grid.viewports[0]
    patch = _shown_patch(window)
    item = viewport.layers["cams"].items[0]
    np.testing.assert_allclose(item.image, patch.cam_mean)
    region = box_region(viewport, patch.box)
    mean_pixels = rgb_grab(viewport)[region].astype(int)
    combo = window.results.cam.member
    combo.setCurrentIndex(combo.findText("VGG16"))
    assert window.session.staging.cam.member == "vgg16"
    np.testing.assert_allclose(viewport.layers["cams"].items[0].image, patch.cams["vgg16"])
    assert "VGG16" in viewport.layers["cams"].captions[0].textItem.toPlainText()
    member_pixels = rgb_grab(viewport)[region].astype(int)
    assert np.abs(member_pixels - mean_pixels).mean() > 3
    slider = window.results.cam.opacity
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_End)
    assert window.session.staging.cam.opacity == 1.0
    assert viewport.layers["cams"].items[0].opacity() == 1.0
    opaque = rgb_grab(viewport)[region].astype(int)
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    assert viewport.layers["cams"].items[0].opacity() == 0.0
    transparent = rgb_grab(viewport)[region].astype(int)
    click_action(qtbot, window, "show_cam")
    hidden = rgb_grab(viewport)[region].astype(int)
    assert np.abs(transparent - hidden).max() <= 2
    assert np.abs(opaque - hidden).mean() > np.abs(member_pixels - hidden).mean() > 3


def test_clicking_a_patch_row_shows_its_roi_and_its_members(qtbot: Any, staging_window: Any) -> None:
    window = staging_window
    staged = stage_and_wait(qtbot, window)
    session = window.session
    shown = {(vp, s.slice_index) for vp, s in enumerate(session.viewports)}
    row, patch = next((r, p) for r, p in enumerate(staged.result.patches)
                      if all(p.slice_index != index for _, index in shown))
    table = window.results.patches
    item = table.item(row, 0)
    table.scrollToItem(item)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(item).center())
    assert session.annotations.selected_id == patch.roi_id
    assert any(s.slice_index == patch.slice_index and s.volume.meta.series_instance_uid == patch.series_instance_uid
               for s in session.viewports if s.volume is not None)
    assert window.results.members_title.text() == f"Each model, patch {row + 1}:"
    votes = [window.results.members.item(r, 3).text() for r in range(5)]
    assert votes == list(patch.member_votes)


def test_results_go_stale_when_the_rois_change_and_fresh_again_on_undo(qtbot: Any, staging_window: Any) -> None:
    window = staging_window
    staged = stage_and_wait(qtbot, window)
    viewport = window.grid.viewports[0]
    assert viewport.layers["cams"].items
    annotations = window.session.annotations
    annotations.select(staged.result.patches[0].roi_id)
    window.grid.viewports[0].canvas.setFocus()
    qtbot.keyClick(window.grid.viewports[0].canvas, Qt.Key.Key_Delete)
    assert window.session.staging.stale
    assert window.results.stale_note.isVisible() and not window.results.patches.isEnabled()
    assert not viewport.layers["cams"].items, "a stale heatmap must not be shown"
    qtbot.keyClick(window.grid.viewports[0].canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not window.session.staging.stale
    assert not window.results.stale_note.isVisible() and window.results.patches.isEnabled()
    assert viewport.layers["cams"].items


def test_nothing_to_stage_is_a_clear_message(qtbot: Any, staging_window: Any) -> None:
    window = staging_window
    annotations = window.session.annotations
    for roi in list(annotations.current.rois):
        annotations.delete_roi(roi.id)
    assert not window.actions_by_name["stage"].isEnabled()
    window.results.stage_button.click()
    qtbot.waitUntil(lambda: window.error_box is not None)
    assert "no ROIs" in window.error_box.informativeText()
    assert window.session.staging.staged is None


def test_staging_loads_a_series_that_no_viewport_shows(qtbot: Any, staging_window: Any) -> None:
    window = staging_window
    session = window.session
    t1c = session.viewports[0].series_key
    session.load_series(t1c, 1)  # both viewports show T1C: the T2 ROI's series is not loaded
    qtbot.waitUntil(lambda: session.viewports[1].series_key == t1c and session.viewports[1].loaded is not None)
    staged = stage_and_wait(qtbot, window)
    series = {p.series_instance_uid for p in staged.result.patches}
    assert len(series) == 2 and set(staged.volumes) == series
    assert [s.series_key for s in session.viewports] == [t1c, t1c], "staging must not change what is shown"
