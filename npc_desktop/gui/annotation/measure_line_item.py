"""One measured line on a slice (a ruler, or one axis of a node): two handles and its length.

A ruler's length sits at its middle; a node's axes are short and cross each other, so their
labels sit beyond the end of each axis, where they do not cover the node or each other."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor

from npc_desktop.gui.annotation.measure_geometry import PlanePoint

WIDTH = 1.6
SELECTED_WIDTH = 2.6
HANDLE_RADIUS = 5


class MeasureLineItem(pg.LineSegmentROI):
    """A line between two plane points (mm) with a length label at its middle.

    Like the ROI items it asks rather than changes: a click asks for selection
    (``select_requested``), a handle or body drag reports ``moving`` while it goes and
    ``geometry_finished`` at the end, a right click asks for the menu (``menu_requested``).

    Parameters
    ----------
    item_id
        The measurement's id.
    part
        ``"ruler"``, ``"long"`` or ``"short"``.
    start, end
        The end points in plane mm.
    colour
        The line's colour.
    """

    select_requested = Signal(str)
    moving = Signal(str, str)
    geometry_finished = Signal(str, str)
    menu_requested = Signal(str, QPoint)

    def __init__(self, item_id: str, part: str, start: PlanePoint, end: PlanePoint, colour: QColor) -> None:
        super().__init__(positions=(start, end), removable=False)
        self.item_id = item_id
        self.part = part
        self.colour = QColor(colour)
        self.selected = False
        self.editable = False
        self.translatable = False
        self.handleSize = HANDLE_RADIUS
        self.label = pg.TextItem(anchor=(0.5, 1.2), fill=pg.mkBrush(0, 0, 0, 150))
        self.label.setParentItem(self)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)
        self.sigRegionChanged.connect(lambda *_: self._place_label())
        self.sigRegionChanged.connect(lambda *_: self.moving.emit(self.item_id, self.part))
        self.sigRegionChangeFinished.connect(lambda *_: self.geometry_finished.emit(self.item_id, self.part))
        self._restyle()

    # -- state from the model ---------------------------------------------------------------------

    def plane_points(self) -> tuple[PlanePoint, PlanePoint]:
        """The end points now, in plane mm."""
        first, second = (self.mapToParent(h.pos()) for h in self.endpoints)
        return (float(first.x()), float(first.y())), (float(second.x()), float(second.y()))

    def set_plane_points(self, start: PlanePoint, end: PlanePoint) -> None:
        """Show the line from ``start`` to ``end`` without reporting it as a user change."""
        self.blockSignals(True)
        self.setPos((0.0, 0.0), update=False)
        for handle, point in zip(self.endpoints, (start, end)):
            self.movePoint(handle, QPointF(*point), finish=False)
        self.blockSignals(False)
        self._place_label()
        self.update()

    def set_text(self, text: str) -> None:
        """The label at the line's middle (its length)."""
        if text != self.text():
            self.label.setText(text, color=self.colour)
        self._place_label()

    def text(self) -> str:
        """The label's text."""
        return self.label.textItem.toPlainText() if self.label.textItem is not None else ""

    def set_look(self, *, selected: bool, editable: bool) -> None:
        """Selected lines are drawn thicker; handles show on the selected measurement with a
        measurement tool, which also lets the line be dragged."""
        if (selected, editable) != (self.selected, self.editable):
            self.selected, self.editable = selected, editable
            self.translatable = editable
            self._restyle()

    def _place_label(self) -> None:
        first, second = (h.pos() for h in self.endpoints)
        if self.part == "ruler":
            self.label.setAnchor((0.5, 1.2))
            self.label.setPos((first + second) / 2.0)
            return
        direction = second - first
        self.label.setAnchor((0.0 if direction.x() >= 0 else 1.0, 0.0 if direction.y() >= 0 else 1.0))
        self.label.setPos(second)

    def _restyle(self) -> None:
        width = SELECTED_WIDTH if self.selected else WIDTH
        self.setPen(pg.mkPen(self.colour, width=width))
        self.hoverPen = pg.mkPen(self.colour.lighter(130), width=width + 0.6)
        for handle in self.endpoints:
            handle.pen = pg.mkPen(QColor(255, 255, 255), width=1.4)
            handle.hoverPen = pg.mkPen(self.colour.lighter(150), width=2)
            handle.currentPen = handle.pen
            handle.setVisible(self.selected and self.editable)
            handle.update()
        self.label.fill = pg.mkBrush(self.colour) if self.selected else pg.mkBrush(0, 0, 0, 150)
        self.label.setColor(QColor(0, 0, 0) if self.selected else self.colour)
        self.update()

    def handle_scene_points(self) -> list[QPointF]:
        """Scene positions of the two handles (for tests and the layer)."""
        return [h.scenePos() for h in self.endpoints]

    # -- mouse ------------------------------------------------------------------------------------

    def setSelected(self, selected: bool) -> None:  # noqa: N802 - pyqtgraph calls it when a drag starts
        if selected:
            self.select_requested.emit(self.item_id)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.select_requested.emit(self.item_id)
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            if self.isMoving:
                self.cancelMove()
            pos = ev.screenPos()
            self.menu_requested.emit(self.item_id, QPoint(int(pos.x()), int(pos.y())))
        else:
            ev.ignore()

