"""The slice slider of a viewport, with marks that overlay layers put on slices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget


@dataclass(frozen=True)
class SliceMark:
    """A slice a layer marks on the slider: a coloured tick and what it means (the tooltip)."""

    slice_index: int
    colour: QColor
    text: str


class SliceSlider(QSlider):
    """A horizontal slider over the slices that can show marks (the cricoid level, say).

    The viewer does not know what a mark means: layers set and clear them by name.
    """

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.marks: dict[str, SliceMark] = {}
        self._plain_tip = ""

    def set_mark(self, name: str, mark: Optional[SliceMark]) -> None:
        """Show ``mark`` under ``name`` (None removes it)."""
        if mark is None:
            if self.marks.pop(name, None) is None:
                return
        else:
            self.marks[name] = mark
        self._update_tip()
        self.update()

    def setToolTip(self, text: str) -> None:  # noqa: N802 - Qt API
        self._plain_tip = text
        self._update_tip()

    def _update_tip(self) -> None:
        lines = [self._plain_tip] + [f"{m.text}: image {m.slice_index + 1}" for m in self.marks.values()]
        super().setToolTip("\n".join(line for line in lines if line))

    def mark_x(self, slice_index: int) -> float:
        """Widget x of the centre of the handle when it stands on ``slice_index``."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self)
        span = max(groove.width() - handle.width(), 1)
        offset = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), slice_index, span)
        return float(groove.x() + offset + handle.width() / 2.0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        super().paintEvent(event)
        if not self.marks or self.maximum() <= self.minimum():
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        height = float(self.height())
        for mark in self.marks.values():
            if not self.minimum() <= mark.slice_index <= self.maximum():
                continue
            x = self.mark_x(mark.slice_index)
            painter.setPen(QPen(mark.colour, 2))
            painter.drawLine(QPointF(x, 0.0), QPointF(x, height))
            painter.setBrush(mark.colour)
            painter.drawPolygon(QPolygonF([QPointF(x - 4, 0), QPointF(x + 4, 0), QPointF(x, 5)]))
        painter.end()
