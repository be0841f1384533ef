"""Where the text painted over an image goes: the four corner blocks, shortened to fit, and the
first-use hint box. Plain layout with QFontMetrics; the canvas paints the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen

MARGIN = 8
HINT_PADDING = 6
HINT_BACKGROUND = QColor(16, 22, 32, 205)
HINT_BORDER = QColor(64, 156, 255, 150)
HINT_TEXT = QColor(214, 224, 236)


@dataclass(frozen=True)
class PlacedLine:
    """One corner line as painted: the text shown (maybe elided), the full text and its place."""

    corner: str
    full: str
    shown: str
    x: float
    baseline: float
    rect: QRectF

    @property
    def elided(self) -> bool:
        """Whether the line was shortened to fit."""
        return self.shown != self.full


def _share(left: float, right: float, room: float) -> tuple[float, float]:
    """Widths for two texts on one row: both whole if they fit, else the shorter one whole (if it
    takes less than half) and the other the rest, else half each."""
    if left + right <= room:
        return left, right
    half = room / 2.0
    if left <= half:
        return left, room - left
    if right <= half:
        return room - right, right
    return half, half


def layout_corners(corners: dict[str, list[str]], metrics: QFontMetrics, width: float, height: float,
                   edge_reserve: dict[str, float]) -> list[PlacedLine]:
    """Place the lines of the four corners, eliding only what does not fit on its row.

    Parameters
    ----------
    corners
        Lines of "tl", "tr", "bl" and "br"; top blocks start at the top edge, bottom blocks end at
        the bottom edge.
    metrics
        The overlay font's metrics.
    width, height
        The viewport size in pixels.
    edge_reserve
        Width kept free in the middle of the first "top" row and the last "bottom" row (the
        orientation labels), 0 where there is none.

    Returns
    -------
    list of PlacedLine
        Every non-empty line, with the text that fits and its rectangle.
    """
    line = metrics.lineSpacing()
    placed: list[PlacedLine] = []
    room = max(width - 2 * MARGIN, 10.0)
    for edge in ("t", "b"):
        left_lines, right_lines = corners.get(edge + "l", []), corners.get(edge + "r", [])
        rows = max(len(left_lines), len(right_lines))
        for row in range(rows):
            from_edge = row if edge == "t" else rows - 1 - row
            left = _row_text(left_lines, row, rows, edge)
            right = _row_text(right_lines, row, rows, edge)
            reserve = edge_reserve.get("top" if edge == "t" else "bottom", 0.0) if from_edge == 0 else 0.0
            gap = (MARGIN + reserve) if reserve else 2 * MARGIN
            left_width, right_width = _share(float(metrics.horizontalAdvance(left)),
                                             float(metrics.horizontalAdvance(right)), max(room - gap, 10.0))
            if reserve:  # each side stops at the label in the middle
                left_width = right_width = max((room - gap) / 2.0, 10.0)
            if edge == "t":
                baseline = MARGIN + metrics.ascent() + from_edge * line
            else:
                baseline = height - MARGIN - metrics.descent() - from_edge * line
            for corner, text, limit in ((edge + "l", left, left_width), (edge + "r", right, right_width)):
                if not text:
                    continue
                fits = metrics.horizontalAdvance(text) <= limit
                # elidedText measures sub-pixel widths: asked for exactly the rounded advance, it
                # would shorten a line that fits.
                shown = text if fits else metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(max(limit, 10)))
                advance = metrics.horizontalAdvance(shown)
                x = width - MARGIN - advance if corner[1] == "r" else MARGIN
                rect = QRectF(x, baseline - metrics.ascent(), advance, line)
                placed.append(PlacedLine(corner, text, shown, x, baseline, rect))
    return placed


def _row_text(lines: list[str], row: int, rows: int, edge: str) -> str:
    """The line of a block on a row; bottom blocks are aligned to the bottom edge."""
    index = row if edge == "t" else row - (rows - len(lines))
    return lines[index] if 0 <= index < len(lines) else ""


def corner_tooltips(placed: Sequence[PlacedLine]) -> list[tuple[QRectF, str]]:
    """For each corner with a shortened line: the block's rectangle and its full text."""
    tips = []
    for corner in ("tl", "tr", "bl", "br"):
        lines = [p for p in placed if p.corner == corner]
        if any(p.elided for p in lines):
            area = QRectF(lines[0].rect)
            for p in lines[1:]:
                area = area.united(p.rect)
            tips.append((area, "\n".join(p.full for p in lines)))
    return tips


def hint_box(lines: Sequence[str], metrics: QFontMetrics, width: float, bottom: float) -> Optional[QRectF]:
    """The rectangle of the hint box, centred, its lower edge at ``bottom`` (None without lines)."""
    if not lines:
        return None
    room = max(width - 6 * MARGIN, 40.0)
    text_width = min(max(metrics.horizontalAdvance(text) for text in lines), room)
    box_width = text_width + 2 * HINT_PADDING
    box_height = len(lines) * metrics.lineSpacing() + 2 * HINT_PADDING
    return QRectF((width - box_width) / 2.0, bottom - box_height, box_width, box_height)


def draw_hint(painter: QPainter, lines: Sequence[str], metrics: QFontMetrics, box: QRectF) -> None:
    """Paint the hint lines in a dim rounded box (unobtrusive over the image)."""
    painter.save()  # the box's brush must not fill what is painted after it
    painter.setPen(QPen(HINT_BORDER, 1.0))
    painter.setBrush(HINT_BACKGROUND)
    painter.drawRoundedRect(box, 5, 5)
    painter.setPen(HINT_TEXT)
    room = int(box.width() - 2 * HINT_PADDING)
    y = box.top() + HINT_PADDING + metrics.ascent()
    for text in lines:
        shown = text if metrics.horizontalAdvance(text) <= room else metrics.elidedText(
            text, Qt.TextElideMode.ElideRight, room)
        x = box.left() + (box.width() - metrics.horizontalAdvance(shown)) / 2.0
        painter.drawText(QPointF(x, y), shown)
        y += metrics.lineSpacing()
    painter.restore()
