"""The ROIs of one viewport: items for the ROIs on the shown slice, the rubber band, the ROI menu."""

from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsRectItem, QMenu

from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.roi_item import AnnotationRoiItem
from npc_desktop.gui.annotation.roi_kind_commands import change_roi_kind
from npc_desktop.gui.annotation.roi_style import KIND_COLOURS, KIND_KEYS, KIND_NAMES
from npc_desktop.gui.state import Tool
from npc_desktop.gui.viewer import geometry
from npc_desktop.gui.viewer.box_geometry import drawn_box, pixel_box_to_plane, plane_to_pixel_box
from npc_desktop.gui.viewer.image_canvas import ImageCanvas


class RoiLayer(QObject):
    """Keeps the ROI items of viewport ``index`` in step with the session's annotations.

    A drag with the ROI tool draws a rubber band and, on release, asks the session for a ROI on
    the shown slice; a ROI item's finished move or resize goes back as a new pixel box.
    """

    def __init__(self, session: AnnotationSession, index: int, canvas: ImageCanvas) -> None:
        super().__init__(canvas)
        self.session = session
        self.index = index
        self.canvas = canvas
        self.items: dict[str, AnnotationRoiItem] = {}
        self.menu: Optional[QMenu] = None
        self.band = QGraphicsRectItem()
        self.band.setZValue(20)
        self.band.hide()
        canvas.view_box.addItem(self.band, ignoreBounds=True)
        s, a = session, session.annotations
        s.series_loaded.connect(self._on_series)
        s.viewport_cleared.connect(self._on_series)
        s.slice_changed.connect(lambda vp, _: self.refresh() if vp == self.index else None)
        s.tool_changed.connect(lambda *_: self._restyle())
        a.rois_changed.connect(lambda *_: self.refresh())
        a.selection_changed.connect(lambda *_: self._restyle())
        canvas.view_box.sigDrawDrag.connect(self._on_draw)
        canvas.view_box.sigBackgroundClicked.connect(lambda: a.select(None))

    @property
    def volume(self):
        """The volume this viewport shows, or None."""
        return self.session.viewports[self.index].volume

    def _bounds(self) -> QRectF:
        volume = self.volume
        return QRectF(*geometry.image_rect(volume)) if volume is not None else QRectF()

    # -- model -> items ---------------------------------------------------------------------------

    def _on_series(self, vp: int, *_: object) -> None:
        if vp != self.index:
            return
        for roi_id in list(self.items):
            self._remove(roi_id)
        self.refresh()

    def shown_rois(self) -> list[RectRoi]:
        """The ROIs drawn on the slice this viewport shows."""
        state = self.session.viewports[self.index]
        volume = state.volume
        if volume is None or not 0 <= state.slice_index < volume.shape[0]:
            return []
        ref = volume.slices[state.slice_index]
        return self.session.annotations.rois_on(volume.meta.study_instance_uid, ref.sop_instance_uid,
                                                ref.frame_number)

    def refresh(self) -> None:
        """Show exactly the ROIs of the current slice, where the model has them."""
        volume = self.volume
        rois = {roi.id: roi for roi in self.shown_rois()}
        for roi_id in [r for r in self.items if r not in rois]:
            self._remove(roi_id)
        for roi_id, roi in rois.items():
            rect = pixel_box_to_plane(volume, roi.box)
            item = self.items.get(roi_id)
            if item is None:
                item = AnnotationRoiItem(roi_id, rect, roi.kind, self._bounds())
                item.select_requested.connect(self.session.annotations.select)
                item.geometry_finished.connect(self._on_geometry)
                item.menu_requested.connect(self._show_menu)
                self.canvas.view_box.addItem(item, ignoreBounds=True)
                self.items[roi_id] = item
            else:
                item.set_plane_rect(rect)
                item.set_kind(roi.kind)
        self._restyle()

    def _remove(self, roi_id: str) -> None:
        item = self.items.pop(roi_id)
        self.canvas.view_box.removeItem(item)
        item.deleteLater()

    def _restyle(self) -> None:
        editable = self.session.tool is Tool.ROI
        selected = self.session.annotations.selected_id
        for roi_id, item in self.items.items():
            item.set_look(selected=roi_id == selected, editable=editable)
        self.canvas.viewport().update()

    # -- items -> model ---------------------------------------------------------------------------

    def _on_geometry(self, roi_id: str) -> None:
        item, volume = self.items.get(roi_id), self.volume
        if item is None or volume is None:
            return
        box = plane_to_pixel_box(volume, item.plane_rect())
        if not self.session.annotations.set_roi_box(roi_id, box):
            self.refresh()  # unchanged or refused: back to the stored geometry (whole pixels)

    def _on_draw(self, start: QPointF, current: QPointF, phase: int) -> None:
        volume = self.volume
        if volume is None or self.session.tool is not Tool.ROI:
            return
        if phase < 2:
            colour = QColor(KIND_COLOURS[self.session.annotations.kind])
            self.band.setPen(pg.mkPen(colour, width=1.6, style=Qt.PenStyle.DashLine))
            self.band.setRect(QRectF(start, current).normalized())
            self.band.show()
            return
        self.band.hide()
        box = drawn_box(volume, (start.x(), start.y()), (current.x(), current.y()))
        if box is None:
            self.session.status_message.emit("Drag across the image to draw a ROI (at least 2 × 2 pixels)")
            return
        self.session.draw_roi(self.index, box)

    def _show_menu(self, roi_id: str, screen_pos: QPoint) -> None:
        annotations = self.session.annotations
        annotations.select(roi_id)
        roi = annotations.find(roi_id)
        if roi is None:
            return
        menu = QMenu(self.canvas)
        menu.setObjectName("roiMenu")
        for kind in RoiKind:
            action = menu.addAction(f"{KIND_NAMES[kind]}\tShift+{KIND_KEYS[kind]}")
            action.setCheckable(True)
            action.setChecked(roi.kind is kind)
            action.triggered.connect(lambda _=False, k=kind: change_roi_kind(
                annotations, roi_id, k, self.session.status_message.emit))
        menu.addSeparator()
        delete = menu.addAction("Delete ROI\tDel")
        delete.setObjectName("deleteRoi")
        delete.triggered.connect(lambda: annotations.delete_roi(roi_id))
        self.menu = menu
        menu.popup(screen_pos)
