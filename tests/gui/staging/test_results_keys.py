"""A click on a patch row of the Staging Results shows its ROI and gives the slice keys back to the
viewer, as a click on the ROI list does; a failed open keeps the staging result."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from tests.gui.interaction import at_user_size, press
from tests.gui.staging_helpers import add_demo_rois, stage_and_wait, wait_models

pytestmark = pytest.mark.gui


@pytest.fixture
def staged_demo(make_window, open_study, demo_study, tiny_factories, qtbot):
    """The demo study two-up with its example ROIs, staged with the tiny models."""
    window = make_window(engine_factories=tiny_factories)
    at_user_size(qtbot, window)
    open_study(window, demo_study.root, expected_viewports=2)
    add_demo_rois(window, demo_study)
    wait_models(qtbot, window)
    stage_and_wait(qtbot, window)
    yield window
    window.close()


def test_a_patch_row_click_gives_the_keys_to_the_viewer(qtbot, staged_demo) -> None:
    window = staged_demo
    window.results_dock.show()
    window.results_dock.raise_()
    table = window.results.patches
    qtbot.waitUntil(lambda: table.isVisible() and table.rowCount() > 1, timeout=5000)
    row = table.rowCount() - 1
    roi_id = table.item(row, 0).data(Qt.ItemDataRole.UserRole)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=table.visualRect(table.model().index(row, 0)).center())
    session = window.session
    assert session.annotations.selected_id == roi_id
    viewport = window.grid.viewports[session.active]
    qtbot.waitUntil(lambda: QApplication.focusWidget() is viewport.canvas, timeout=2000)
    start = viewport.state.slice_index
    press(qtbot, Qt.Key.Key_Up)
    assert viewport.state.slice_index == start - 1
    assert session.annotations.selected_id == roi_id and table.currentRow() == row


def test_a_failed_open_keeps_the_staging_result(qtbot, monkeypatch, staged_demo, pydicom_test_files) -> None:
    window = staged_demo
    session = window.session
    staged = session.staging.staged
    headline = window.results.stage_label.text()
    truncated = pydicom_test_files / "MR_truncated.dcm"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kwargs: (str(truncated), "")))
    with qtbot.waitSignal(session.error_occurred, timeout=20000):
        qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not session.jobs.busy, timeout=10000)
    assert session.staging.staged is staged and not session.staging.stale
    assert window.results.stage_label.text() == headline


def test_staging_the_selected_roi_says_so_in_the_status_bar(qtbot, staged_demo) -> None:
    """A run on the selected ROI is not the patient's stage: the status bar says so, like the panel."""
    window = staged_demo
    session = window.session
    roi = session.annotations.current.rois[0]
    session.show_roi(roi.id)
    canvas = window.grid.active_viewport().canvas
    canvas.setFocus()
    with qtbot.waitSignal(session.staging.result_changed, timeout=120_000):
        qtbot.keyClick(canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert session.staging.staged.partial
    message = window.statusBar().currentMessage()
    assert message.startswith("Staged in ") and "(selected ROI only)" in message
    assert "(selected ROI only)" in window.results.stage_label.text()
