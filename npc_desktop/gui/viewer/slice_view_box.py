"""The ViewBox of a slice viewport: mouse gestures of a radiology viewer instead of a plot's."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal

from npc_desktop.gui.state import Tool

_WHEEL_NOTCH = 120
ZOOM_PER_PIXEL = 1.01
"""Zoom factor per screen pixel of vertical drag with the zoom tool."""


class SliceViewBox(pg.ViewBox):
    """A ViewBox where the wheel scrolls slices and the right button sets window/level.

    - wheel: ``sigScroll(steps)``, +1 per notch towards the user (the next slice);
    - Ctrl+wheel: zoom about the pointer;
    - right drag (or left drag with the window tool): ``sigWindowDrag(dx, dy, phase)`` with the
      screen-pixel offset from the press point, phase 0 = start, 1 = move, 2 = finish;
    - left drag: pan (pan tool), zoom about the press point (zoom tool) or draw (the ROI and
      measurement tools, see ``Tool.draws``): ``sigDrawDrag(start, current, phase)`` in view
      (plane mm) coordinates; middle drag: pan;
    - left click on the image background: ``sigBackgroundClicked`` (clears the selection) and
      ``sigPointClicked(point)`` in view coordinates (the cricoid level tool marks it).

    Aspect is locked (1 mm = 1 mm) and y points down, as rows do on screen.
    """

    sigScroll = Signal(int)
    sigWindowDrag = Signal(float, float, int)
    sigDrawDrag = Signal(QPointF, QPointF, int)
    sigBackgroundClicked = Signal()
    sigPointClicked = Signal(QPointF)

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.setMouseMode(pg.ViewBox.PanMode)
        self.tool = Tool.PAN
        self._wheel_rest = 0

    def set_tool(self, tool: Tool) -> None:
        """Choose what the left button does."""
        self.tool = Tool(tool)

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802 - Qt API
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            return
        self._wheel_rest += ev.delta()
        steps = int(self._wheel_rest / _WHEEL_NOTCH)
        self._wheel_rest -= steps * _WHEEL_NOTCH
        ev.accept()
        if steps:
            self.sigScroll.emit(-steps)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - Qt API
        button = ev.button()
        left = button == Qt.MouseButton.LeftButton
        if button == Qt.MouseButton.RightButton or (left and self.tool is Tool.WINDOW):
            ev.accept()
            offset = ev.screenPos() - ev.buttonDownScreenPos(button)
            phase = 0 if ev.isStart() else 2 if ev.isFinish() else 1
            self.sigWindowDrag.emit(offset.x(), offset.y(), phase)
        elif left and self.tool.draws:
            ev.accept()
            start = self.mapSceneToView(ev.buttonDownScenePos(button))
            current = self.mapSceneToView(ev.scenePos())
            phase = 0 if ev.isStart() else 2 if ev.isFinish() else 1
            self.sigDrawDrag.emit(QPointF(start), QPointF(current), phase)
        elif left and self.tool is Tool.ZOOM:
            ev.accept()
            dy = ev.screenPos().y() - ev.lastScreenPos().y()
            factor = ZOOM_PER_PIXEL ** dy  # drag up magnifies
            centre = self.mapToView(QPointF(ev.buttonDownPos(button)))
            self._resetTarget()
            self.scaleBy((factor, factor), centre)
            self.sigRangeChangedManually.emit(self.state["mouseEnabled"])
        else:
            super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - Qt API
        ev.accept()  # no plot context menu, no "auto range" button
        if ev.button() == Qt.MouseButton.LeftButton:
            self.sigBackgroundClicked.emit()
            self.sigPointClicked.emit(QPointF(self.mapSceneToView(ev.scenePos())))
