"""Files whose decoder panics, opened through the loader worker: the window stays up and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

FUZZ_DIR = Path(__file__).resolve().parents[2] / "data" / "fuzz"


def test_a_file_that_crashed_the_decoder_gives_a_message_and_the_window_lives(
        qtbot, main_window, artifacts_dir: Path) -> None:
    window = main_window
    session = window.session
    path = FUZZ_DIR / "rle_panic_undecodable.dcm"
    with qtbot.waitSignal(session.error_occurred, timeout=60000) as blocker:
        window.open_path(str(path))
    qtbot.waitUntil(lambda: not session.jobs.busy, timeout=10000)
    qtbot.waitUntil(lambda: window.error_box is not None and window.error_box.isVisible(), timeout=5000)
    title, message = blocker.args
    assert title == "Cannot open study"
    assert path.name in message and "RLE Lossless" in message and "PanicException" in message
    assert "Traceback" not in message
    assert path.name in window.error_box.text() or path.name in window.error_box.informativeText()
    window.error_box.grab().save(str(artifacts_dir / "decoder_panic_message.png"))
    window.error_box.close()
    assert window.isVisible() and not window.grid.viewports[0].canvas.has_image
    # The window still works: the next file opens.
    fallback = FUZZ_DIR / "rle_panic_fallback.dcm"
    with qtbot.waitSignal(session.study_indexed, timeout=60000):
        window.open_path(str(fallback))
    qtbot.waitUntil(lambda: window.grid.viewports[0].canvas.has_image and not session.jobs.busy, timeout=60000)


def test_a_file_saved_by_the_fallback_decoder_says_so(qtbot, main_window, open_study, artifacts_dir: Path) -> None:
    window = main_window
    open_study(window, FUZZ_DIR / "rle_panic_fallback.dcm", timeout=60000)
    assert window.grid.viewports[0].state.volume.decoders == {"pydicom": 1}
    rows = [window.messages.topLevelItem(i).text(1) for i in range(window.messages.topLevelItemCount())]
    assert any("decoded by pydicom after pylibjpeg: PanicException" in text for text in rows)
    assert window.messages_dock.isVisible()
    window.grab().save(str(artifacts_dir / "decoder_fallback_messages.png"))
