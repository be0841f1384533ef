"""Opening studies: DICOMDIR, zip, drag and drop, recent list, warnings, errors, cancel."""

from __future__ import annotations

import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from npc_desktop.gui.viewer import loading

pytestmark = pytest.mark.gui


@pytest.mark.realdata
def test_dicomdir_lists_patients_studies_series(main_window, open_study, pydicom_test_files: Path) -> None:
    window = main_window
    open_study(window, pydicom_test_files / "dicomdirtests" / "DICOMDIR")
    browser = window.browser
    patients = [browser.topLevelItem(i).text(0) for i in range(browser.topLevelItemCount())]
    assert any(p.startswith("Doe, Archibald") for p in patients)
    assert any(p.startswith("Doe, Peter") for p in patients)
    index = window.session.index
    assert len(browser._items) == len(index.all_series())
    ct = next(s for s in index.image_series() if s.description == "Routine Brain")
    assert "warnings" in browser.item_for(ct.key).text(0)  # a gap in the stack is flagged
    assert window.messages_dock.isVisible()
    texts = [window.messages.topLevelItem(i).text(1) for i in range(window.messages.topLevelItemCount())]
    assert any("irregular slice spacing" in t for t in texts)
    assert window.warnings_button.isVisible() and "warning" in window.warnings_button.text()


def test_zip_archive_opens_like_a_folder(tmp_path: Path, main_window, open_study, demo_study) -> None:
    archive = tmp_path / "demo.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(demo_study.root.rglob("*.dcm")):
            zf.write(path, path.relative_to(demo_study.root))
    open_study(main_window, archive, expected_viewports=2)
    left, right = main_window.grid.viewports
    assert left.state.volume.shape == (28, 256, 256) and right.state.volume.shape == (22, 224, 224)


@pytest.mark.realdata
def test_unreadable_files_are_listed_not_buried(main_window, open_study, pydicom_test_files: Path,
                                                artifacts_dir: Path) -> None:
    window = main_window
    open_study(window, pydicom_test_files)
    assert window.messages_dock.isVisible()
    rows = [(window.messages.topLevelItem(i).text(0), window.messages.topLevelItem(i).text(1))
            for i in range(window.messages.topLevelItemCount())]
    names = {name for name, _ in rows}
    assert "badVR.dcm" in names
    assert any("skipped" in text for _, text in rows)
    window.grab().save(str(artifacts_dir / "messages_panel.png"))


def _drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)


def test_drop_opens_and_is_remembered(qtbot, main_window, demo_study, gui_settings) -> None:
    window = main_window
    with qtbot.waitSignal(window.session.study_indexed, timeout=10000):
        _drop(window, demo_study.root)
    qtbot.waitUntil(lambda: all(s.loaded is not None for s in window.session.viewports), timeout=10000)
    assert window.settings.recent[0] == str(demo_study.root)
    assert window.settings.last_folder == str(demo_study.root.parent)
    recent = [a.text() for a in window.recent_menu.actions()]
    assert recent[0] == str(demo_study.root) and "Clear List" in recent


def test_missing_path_shows_a_message_not_a_traceback(qtbot, main_window, tmp_path: Path) -> None:
    window = main_window
    missing = tmp_path / "no-such-study"
    with qtbot.waitSignal(window.session.error_occurred, timeout=10000):
        window.open_path(str(missing))
    qtbot.waitUntil(lambda: window.error_box is not None and window.error_box.isVisible(), timeout=2000)
    assert window.error_box.text() == "Cannot open study"
    text = window.error_box.informativeText()
    assert str(missing) in text and "no such file or folder" in text and "Traceback" not in text
    assert str(missing) in window.statusBar().currentMessage()
    window.error_box.close()


def test_folder_without_images_keeps_the_open_study(qtbot, main_window, open_study, demo_study,
                                                   tmp_path: Path) -> None:
    window = main_window
    open_study(window, demo_study.root, expected_viewports=2)
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("not an image")
    with qtbot.waitSignal(window.session.error_occurred, timeout=10000) as blocker:
        window.open_path(str(empty))
    assert "no image series found" in blocker.args[1] and str(empty) in blocker.args[1]
    assert window.session.index.root == demo_study.root
    assert window.grid.viewports[0].canvas.has_image


def _slow_load(monkeypatch: pytest.MonkeyPatch, delay_s: float = 0.01) -> threading.Event:
    """Make reading each file take ``delay_s`` (a slow network share); returns 'started'."""
    real = loading.load_series
    started = threading.Event()

    def slow(series, *, progress=None, cancel=None):
        def slow_progress(done: int, total: int) -> None:
            started.set()
            time.sleep(delay_s)
            if progress is not None:
                progress(done, total)

        return real(series, progress=slow_progress, cancel=cancel)

    monkeypatch.setattr(loading, "load_series", slow)
    return started


@pytest.mark.realdata
def test_cancel_button_stops_a_load(qtbot, main_window, open_study, demo_study, tcia_dir: Path,
                                    monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path) -> None:
    window = main_window
    open_study(window, demo_study.root, expected_viewports=2)
    previous = window.grid.viewports[0].state.loaded
    started = _slow_load(monkeypatch, 0.05)
    window.open_path(str(tcia_dir))
    qtbot.waitUntil(started.is_set, timeout=10000)
    panel = window.progress
    qtbot.waitUntil(lambda: panel.isVisible() and panel.cancel_button.width() > 0, timeout=5000)
    assert panel.label.text().startswith("Loading t1_mpr_tra_gk_v4")
    qtbot.waitUntil(lambda: panel.bar.maximum() == 120 and panel.bar.value() > 0, timeout=5000)
    assert panel.bar.value() < 120
    window.grab().save(str(artifacts_dir / "loading_progress.png"))
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.session.jobs.busy, timeout=10000)
    assert not panel.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()
    # The new study never loaded, so the one that was open stays, as it was.
    assert window.session.index.root == demo_study.root
    assert window.grid.viewports[0].state.loaded is previous and window.grid.viewports[0].canvas.has_image
    # The window still works: opening again succeeds.
    monkeypatch.undo()
    open_study(window, tcia_dir)
    assert window.session.index.root == tcia_dir


def test_escape_cancels_indexing(qtbot, main_window, open_study, demo_study, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    window = main_window
    open_study(window, demo_study.root, expected_viewports=2)
    started = threading.Event()
    real_index = loading.index_path

    def slow_index(path, *, progress=None, cancel=None):
        def slow_progress(done: int, total: int) -> None:
            started.set()
            time.sleep(0.02)
            if progress is not None:
                progress(done, total)

        return real_index(path, progress=slow_progress, cancel=cancel)

    monkeypatch.setattr(loading, "index_path", slow_index)
    copy = tmp_path / "copy"
    shutil.copytree(demo_study.root, copy)
    window.open_path(str(copy))
    qtbot.waitUntil(started.is_set, timeout=5000)
    window.grid.viewports[0].canvas.setFocus()
    qtbot.keyClick(window.grid.viewports[0].canvas, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.session.jobs.busy, timeout=10000)
    assert window.session.index.root == demo_study.root  # still the study that was open
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.grid.viewports[1].canvas.has_image


def test_settings_are_remembered(qtbot, main_window, gui_settings) -> None:
    from npc_desktop.gui.main_window import MainWindow

    window = main_window
    window.resize(720, 520)  # within the offscreen screen (800 x 600)
    window.session.set_sync(slices=False)
    window.clahe_panel.clip.setValue(3.5)
    window.settings.add_recent("/data/study-a")
    window.close()
    again = MainWindow(settings=gui_settings)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (720, 520)
    assert again.session.sync_slices is False and again.session.link_views is True
    assert again.session.clahe.clip_limit == 3.5 and not again.session.clahe.enabled
    assert again.settings.recent == ["/data/study-a"]
    again.close()


def test_shortcut_dialog_lists_keys(qtbot, main_window) -> None:
    qtbot.keyClick(main_window, Qt.Key.Key_F1)
    dialog = main_window.help_dialog
    assert dialog is not None and dialog.isVisible()
    keys = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert {"PageDown / PageUp", "Right-button drag", "Ctrl+O"} <= keys
    dialog.close()
