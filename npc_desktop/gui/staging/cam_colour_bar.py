"""The Grad-CAM colour scale drawn over a viewport: 0 to 1, and whose map the colours show."""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

TITLE = "Grad-CAM"
TICKS = (1.0, 0.5, 0.0)
BAR_WIDTH = 12
BAR_HEIGHT = 140
MIN_BAR_HEIGHT = 48
PADDING = 6
EDGE_MARGIN = 8
MIDDLE_CLEARANCE = 22
"""Kept free below the middle of the right edge, where the viewer's orientation label sits."""
BOTTOM_CLEARANCE = 64
"""Kept free above the bottom edge, where the window and zoom lines sit."""
SHADOW = QColor(0, 0, 0, 230)
TEXT = QColor(236, 236, 236)


class CamColourBar(QWidget):
    """A vertical colour scale in the right half of a canvas, below its right orientation label.

    It ignores the mouse, so drawing and dragging ROIs under it work as before.

    Parameters
    ----------
    canvas
        The viewport's drawing surface; the bar places itself whenever it is resized.
    lookup_table
        ``(256, 3)`` uint8 RGB colours of the heatmap, value 0 first.
    """

    def __init__(self, canvas: QWidget, lookup_table: np.ndarray) -> None:
        super().__init__(canvas)
        self.setObjectName("camColourBar")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self._canvas = canvas
        self._gradient = self._gradient_image(lookup_table)
        self.source = ""
        self._font = QFont(self.font())
        self._font.setPointSizeF(max(self._font.pointSizeF() * 0.9, 8.0))
        self._title_font = QFont(self._font)
        self._title_font.setBold(True)
        canvas.installEventFilter(self)
        self.hide()

    @staticmethod
    def _gradient_image(lookup_table: np.ndarray) -> QImage:
        # One pixel wide, value 1 at the top: scaled into the bar when painted.
        column = np.ascontiguousarray(np.asarray(lookup_table, dtype=np.uint8)[::-1].reshape(-1, 1, 3))
        image = QImage(column.data, 1, column.shape[0], 3, QImage.Format.Format_RGB888)
        return image.copy()

    def show_for(self, source: str) -> None:
        """Show the scale for the heatmap of ``source`` ("ensemble mean" or a member's name)."""
        self.source = source
        self.setToolTip(f"Grad-CAM of {source}: 0 (blue) no evidence for the class, 1 (red) the strongest")
        self._place()
        self.show()
        self.raise_()
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self._canvas and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def _text_lines(self) -> list[tuple[str, QFont]]:
        return [(TITLE, self._title_font), (self.source, self._font)]

    def _place(self) -> None:
        metrics = QFontMetrics(self._font)
        tick_width = max(metrics.horizontalAdvance(f"{t:g}") for t in TICKS)
        text_width = max(QFontMetrics(font).horizontalAdvance(text) for text, font in self._text_lines())
        # A few pixels of slack: text advances are rounded, and the shadow sits one pixel right.
        width = max(text_width, tick_width + 4 + BAR_WIDTH) + 2 * PADDING + 4
        header = 2 * metrics.lineSpacing() + PADDING
        extra = header + 2 * PADDING + metrics.ascent()
        # Low in the right half, where an axial slice usually leaves background, above the
        # window/zoom lines and below the right orientation label.
        highest = self._canvas.height() // 2 + MIDDLE_CLEARANCE
        lowest = self._canvas.height() - BOTTOM_CLEARANCE
        bar = int(max(MIN_BAR_HEIGHT, min(BAR_HEIGHT, lowest - highest - extra)))
        height = extra + bar
        top = max(highest, lowest - height)
        self.setGeometry(self._canvas.width() - EDGE_MARGIN - width, top, width, height)

    def bar_rect(self) -> QRectF:
        """Where the colours are painted, in this widget's coordinates."""
        metrics = QFontMetrics(self._font)
        top = PADDING + 2 * metrics.lineSpacing() + PADDING + metrics.ascent() / 2
        bottom = self.height() - PADDING - metrics.ascent() / 2
        return QRectF(self.width() - PADDING - BAR_WIDTH, top, BAR_WIDTH, bottom - top)

    def paintEvent(self, event: Optional[QPaintEvent]) -> None:  # noqa: N802 - Qt API
        # No box behind it: shadowed text, like the viewer's corner text, hides no anatomy.
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        y = PADDING
        for text, font in self._text_lines():
            painter.setFont(font)
            metrics = QFontMetrics(font)
            elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, self.width() - 2 * PADDING)
            self._shadowed(painter, QPointF(self.width() - PADDING - metrics.horizontalAdvance(elided),
                                            y + metrics.ascent()), elided)
            y += metrics.lineSpacing()
        bar = self.bar_rect()
        painter.fillRect(bar.adjusted(-1, -1, 1, 1), SHADOW)
        painter.drawImage(bar, self._gradient)
        painter.setFont(self._font)
        metrics = QFontMetrics(self._font)
        for tick in TICKS:
            label = f"{tick:g}"
            y = bar.bottom() - tick * bar.height() + metrics.ascent() / 2 - 1
            self._shadowed(painter, QPointF(bar.left() - 4 - metrics.horizontalAdvance(label), y), label)
        painter.end()

    @staticmethod
    def _shadowed(painter: QPainter, origin: QPointF, text: str) -> None:
        painter.setPen(SHADOW)
        painter.drawText(origin + QPointF(1, 1), text)
        painter.setPen(TEXT)
        painter.drawText(origin, text)
