"""Corner text in two-up: a line that does not fit is shortened with an ellipsis (never cut off at
the viewport's edge or under the other corner) and the whole block is in a tooltip on hover."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QToolTip

from tests.gui.interaction import at_user_size

pytestmark = pytest.mark.gui

MARGIN = 8


def _line_point(canvas, corner: str, row: int) -> QPoint:
    """A point on line ``row`` of a top corner block, a little inside the corner."""
    line = QFontMetrics(canvas._font).lineSpacing()
    y = MARGIN + row * line + line // 2
    x = MARGIN + 6 if corner == "tl" else canvas.viewport().width() - MARGIN - 6
    return QPoint(x, y)


def _hover_tooltip(qtbot, canvas, point: QPoint) -> str:
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=2000)
    qtbot.mouseMove(canvas.viewport(), point - QPoint(3, 0))
    qtbot.mouseMove(canvas.viewport(), point)
    qtbot.waitUntil(QToolTip.isVisible, timeout=4000)
    return QToolTip.text()


def _drag_splitter(qtbot, splitter, dx: int) -> None:
    """Drag the splitter handle ``dx`` pixels with the left button; the handle moves under the
    pointer, so each position is given in the handle's place at that moment, as a mouse would."""
    handle = splitter.handle(1)
    start = handle.mapTo(splitter, handle.rect().center())
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=handle.rect().center())
    for step in range(1, 9):
        qtbot.wait(12)
        qtbot.mouseMove(handle, handle.mapFrom(splitter, start + QPoint(dx * step // 8, 0)))
    qtbot.mouseRelease(handle, Qt.MouseButton.LeftButton, pos=handle.mapFrom(splitter, start + QPoint(dx, 0)))


def _painted_lines(canvas) -> list[str]:
    """What the canvas painted in its corners (the shortened text where it had to shorten)."""
    return [line.shown for line in canvas.painted_corner_lines()]


def test_shortened_corner_text_has_the_full_text_in_a_tooltip(qtbot, demo_window, artifacts_dir) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    left, right = window.grid.viewports
    assert window.session.layout == 2 and left.isVisible() and right.isVisible()
    # The user drags the splitter so the right viewport becomes narrower.
    _drag_splitter(qtbot, window.grid.splitter, 150)
    qtbot.waitUntil(lambda: 300 < right.canvas.viewport().width() < 345, timeout=3000)
    qtbot.wait(50)
    right.canvas.viewport().grab().save(str(artifacts_dir / "corner_text_narrow_right.png"))
    window.grab().save(str(artifacts_dir / "corner_text_two_up.png"))
    canvas = right.canvas
    full_series = right.state.volume.meta.series_description
    text = _hover_tooltip(qtbot, canvas, _line_point(canvas, "tr", 0))
    assert full_series in text.splitlines()
    shown = _painted_lines(canvas)
    assert full_series not in shown and any(s.endswith("…") for s in shown)
    text = _hover_tooltip(qtbot, canvas, _line_point(canvas, "tl", 2))
    assert "2024-01-01   MR NASOPHARYNX (SYNTHETIC DEMO)" in text.splitlines()
    assert "DEMO, SYNTHETIC PATIENT" in text.splitlines()
    # Every painted line stays inside the viewport and clear of the other corner on its row.
    width = canvas.viewport().width()
    lines = canvas.painted_corner_lines()
    for line in lines:
        assert 0 <= line.rect.left() and line.rect.right() <= width
    for row_line in (line for line in lines if line.corner == "tl"):
        partners = [p for p in lines if p.corner == "tr" and p.baseline == row_line.baseline]
        assert all(row_line.rect.right() < p.rect.left() for p in partners)


def test_a_short_partner_leaves_room_for_the_whole_line(qtbot, demo_window) -> None:
    window = demo_window
    at_user_size(qtbot, window)
    canvas = window.grid.viewports[0].canvas
    # The bottom rows are short (slice number, window): nothing there needs shortening, and the
    # long study line on the top left gets the room the top right does not use.
    lines = {line.full: line for line in canvas.painted_corner_lines()}
    assert not any(line.elided for line in lines.values() if line.corner in ("bl", "br"))
    assert not lines["ID NPC-DEMO-0001   Sex O"].elided
    study = lines["2024-01-01   MR NASOPHARYNX (SYNTHETIC DEMO)"]
    half = canvas.viewport().width() / 2 - MARGIN
    assert study.rect.width() > half  # more than the half it was once limited to
    partner = next(line for line in lines.values() if line.corner == "tr" and line.baseline == study.baseline)
    assert study.rect.right() + MARGIN <= partner.rect.left()
