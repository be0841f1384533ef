"""One annotation ROI on a slice: a pyqtgraph ROI in its kind's colour with a name tag and handles."""

from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor

from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.gui.annotation.roi_style import KIND_COLOURS, KIND_NAMES
from npc_desktop.gui.viewer.box_geometry import PlaneRect

# Handle position on the box and the fixed point it scales about: four corners, four edges.
_HANDLES = (
    ((0, 0), (1, 1)), ((1, 0), (0, 1)), ((1, 1), (0, 0)), ((0, 1), (1, 0)),
    ((0.5, 0), (0.5, 1)), ((1, 0.5), (0, 0.5)), ((0.5, 1), (0.5, 0)), ((0, 0.5), (1, 0.5)),
)
WIDTH = 1.6
SELECTED_WIDTH = 2.6
HANDLE_RADIUS = 5


class AnnotationRoiItem(pg.ROI):
    """A rectangle in plane millimetres (the view box's coordinates), top-left at ``pos``.

    It does not change the annotation itself: it asks. A click asks for selection
    (``select_requested``), a finished drag reports the new rectangle (``geometry_finished``), a
    right click asks for the context menu (``menu_requested``).
    """

    select_requested = Signal(str)
    geometry_finished = Signal(str)
    menu_requested = Signal(str, QPoint)

    def __init__(self, roi_id: str, rect: PlaneRect, kind: RoiKind, bounds: QRectF) -> None:
        x, y, width, height = rect
        super().__init__((x, y), (width, height), maxBounds=bounds, rotatable=False, resizable=False,
                         removable=False, invertible=False)
        self.roi_id = roi_id
        self.kind = kind
        self.selected = False
        self.editable = False
        self.handleSize = HANDLE_RADIUS
        for position, centre in _HANDLES:
            self.addScaleHandle(position, centre)
        self.tag = pg.TextItem(anchor=(0, 1.3))  # clear of the top handles
        self.tag.setParentItem(self)
        self.tag.setPos(0, 0)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)
        self.sigRegionChangeFinished.connect(lambda *_: self.geometry_finished.emit(self.roi_id))
        self._restyle()

    # -- state from the model ---------------------------------------------------------------------

    def plane_rect(self) -> PlaneRect:
        """``(x, y, width, height)`` of the rectangle now (mm)."""
        pos, size = self.pos(), self.size()
        return float(pos.x()), float(pos.y()), float(size.x()), float(size.y())

    def set_plane_rect(self, rect: PlaneRect) -> None:
        """Show the rectangle at ``rect`` without reporting it as a user change."""
        x, y, width, height = rect
        self.setPos((x, y), update=False)
        self.setSize((width, height), update=False)
        self.stateChanged(finish=False)

    def set_bounds(self, bounds: QRectF) -> None:
        """The image rectangle the ROI must stay in while dragged."""
        self.maxBounds = QRectF(bounds)

    def set_kind(self, kind: RoiKind) -> None:
        """Colour and tag of ``kind``."""
        if kind is not self.kind:
            self.kind = kind
            self._restyle()

    def set_look(self, *, selected: bool, editable: bool) -> None:
        """Selected ROIs are drawn thicker; handles show only on the selected ROI with the ROI tool."""
        if (selected, editable) != (self.selected, self.editable):
            self.selected, self.editable = selected, editable
            self.translatable = editable
            self._restyle()

    def _restyle(self) -> None:
        colour = QColor(KIND_COLOURS[self.kind])
        width = SELECTED_WIDTH if self.selected else WIDTH
        self.setPen(pg.mkPen(colour, width=width))
        self.hoverPen = pg.mkPen(colour.lighter(120), width=width + 0.6)
        self.handlePen = pg.mkPen(QColor(255, 255, 255), width=1.4)
        for info in self.handles:
            handle = info["item"]
            handle.pen = pg.mkPen(QColor(255, 255, 255), width=1.4)
            handle.hoverPen = pg.mkPen(colour.lighter(150), width=2)
            handle.currentPen = handle.pen
            handle.setVisible(self.selected and self.editable)
            handle.update()
        # The selected ROI's tag is filled with its colour, so the selection reads at a glance.
        self.tag.setText(KIND_NAMES[self.kind], color=QColor(0, 0, 0) if self.selected else colour)
        self.tag.fill = pg.mkBrush(colour) if self.selected else pg.mkBrush(0, 0, 0, 150)
        self.tag.update()
        self.update()

    # -- mouse ------------------------------------------------------------------------------------

    def setSelected(self, selected: bool) -> None:  # noqa: N802 - pyqtgraph calls it when a drag starts
        if selected:
            self.select_requested.emit(self.roi_id)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph API
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.select_requested.emit(self.roi_id)
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            if self.isMoving:
                self.cancelMove()
            pos = ev.screenPos()
            self.menu_requested.emit(self.roi_id, QPoint(int(pos.x()), int(pos.y())))
        else:
            ev.ignore()

    def handle_positions_scene(self) -> list[tuple[tuple[float, float], object]]:
        """``((u, v), scene point)`` of each handle, ``(u, v)`` its place on the box (for tests)."""
        out = []
        for info in self.handles:
            out.append(((float(info["pos"][0]), float(info["pos"][1])), info["item"].scenePos()))
        return out

    def tag_text(self) -> Optional[str]:
        """The text of the name tag."""
        return self.tag.textItem.toPlainText() if self.tag.textItem is not None else None
