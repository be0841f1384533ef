"""A failed open keeps the working study; only studies that opened go into Open Recent; the title."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from tests.gui.annotating import left_drag, widget_point

pytestmark = pytest.mark.gui

QT_TITLE_SEPARATOR = " — "
"""What Qt's platform windows put between a window title and the application's display name."""


def shown_title(window) -> str:
    """The title the window manager shows: Qt appends the display name unless the title ends with it
    (QPlatformWindow::formatWindowTitle, used by the X11, Windows and Wayland platform plugins)."""
    title, app = window.windowTitle(), QGuiApplication.applicationDisplayName()
    return title if title.endswith(app) else title + QT_TITLE_SEPARATOR + app


@pytest.mark.realdata
def test_truncated_file_leaves_the_open_study_and_its_rois(
        qtbot, monkeypatch, tcia_window, tcia_dir: Path, pydicom_test_files: Path, artifacts_dir: Path) -> None:
    window = tcia_window
    session = window.session
    viewport = window.grid.viewports[0]
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_D)
    left_drag(qtbot, viewport, widget_point(viewport, 200, 210), widget_point(viewport, 250, 260))
    rois = session.annotations.current.rois
    assert len(rois) == 1
    slice_before, title_before = viewport.state.slice_index, window.windowTitle()
    loaded_before = window.loaded_label.text()
    recent_before = window.settings.recent
    truncated = pydicom_test_files / "MR_truncated.dcm"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kwargs: (str(truncated), "")))

    with qtbot.waitSignal(session.error_occurred, timeout=20000) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not session.jobs.busy, timeout=10000)
    qtbot.waitUntil(lambda: window.error_box is not None and window.error_box.isVisible(), timeout=2000)
    window.grab().save(str(artifacts_dir / "failed_open_keeps_study.png"))
    window.error_box.grab().save(str(artifacts_dir / "failed_open_message.png"))
    window.error_box.close()

    # The TCIA study is still open, on the same slice, with its ROI drawn and listed.
    assert session.index.root == tcia_dir
    assert viewport.state.loaded is not None and viewport.canvas.has_image
    assert viewport.state.slice_index == slice_before
    assert window.loaded_label.text() == loaded_before != "Nothing loaded"
    assert session.annotations.current.rois == rois and list(viewport.layers["rois"].items) == [rois[0].id]
    assert len(window.roi_list.row_texts()) == 1
    assert window.windowTitle() == title_before
    title, message = blocker.args
    assert title == "Cannot open study" and str(truncated) in message and "Traceback" not in message
    # The failed file is not offered again in File > Open Recent.
    assert window.settings.recent == recent_before and str(truncated) not in window.settings.recent
    assert str(truncated) not in [action.text() for action in window.recent_menu.actions()]


def test_title_names_the_app_once(qtbot, main_window, open_study, demo_study) -> None:
    window = main_window
    assert shown_title(window) == "NPC Desktop"
    open_study(window, demo_study.root, expected_viewports=2)
    title = shown_title(window)
    assert title.count("NPC Desktop") == 1, title
    assert title.endswith(" — NPC Desktop") and len(title) > len(" — NPC Desktop")
