"""Drawing measurements with the mouse on one viewport: a ruler drag, the two drags of a node's
axes, and the click that marks the cricoid level.

Node axes are two drags on the selected lymph-node ROI's image (a drag that starts on a ROI
selects it first, so dragging across a node works without a click): the first is the long axis; the
second gives the short axis, which starts where that drag starts and is kept perpendicular to the
long axis (in mm), as long as the drag reaches across it. Drawing it square by hand is fiddly,
and a short axis a few degrees off would only be refused by the core. Until the second drag
ends nothing is stored; a change of tool, slice or selection drops the pending long axis.
"""

from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QObject, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsLineItem

from npc_desktop.core.annotation.cricoid import cricoid_level_at
from npc_desktop.core.annotation.measurements import LineSegment, NodeAxes, Ruler
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.measure_geometry import (
    clamp_to_image,
    is_axial,
    length_text,
    on_image,
    perpendicular_axis,
    pixel_to_plane,
    plane_to_pixel,
    segment_length_mm,
)
from npc_desktop.gui.annotation.measure_style import AXES_COLOUR, RULER_COLOUR
from npc_desktop.gui.state import Tool
from npc_desktop.gui.viewer.image_canvas import ImageCanvas

MIN_LENGTH_PIXELS = 1.0
"""A drag shorter than this (in pixels) is taken for a click, not a line."""


class MeasurementDrawing(QObject):
    """The measurement tools' gestures on viewport ``index`` (see the module docstring)."""

    def __init__(self, session: AnnotationSession, index: int, canvas: ImageCanvas) -> None:
        super().__init__(canvas)
        self.session = session
        self.index = index
        self.canvas = canvas
        self.rubber = QGraphicsLineItem()
        self.rubber.setZValue(20)
        self.rubber.hide()
        self.pending = QGraphicsLineItem()
        self.pending.setZValue(19)
        self.pending.hide()
        self.label = pg.TextItem(anchor=(0.5, 1.2), fill=pg.mkBrush(0, 0, 0, 150))
        self.label.setZValue(21)
        self.label.hide()
        for item in (self.rubber, self.pending, self.label):
            canvas.view_box.addItem(item, ignoreBounds=True)
        self.long_axis: Optional[tuple[str, LineSegment]] = None
        """The long axis drawn so far (its ROI's id and the line), waiting for the short axis."""
        self._refused = False

    @property
    def volume(self):
        """The volume this viewport shows, or None."""
        return self.session.viewports[self.index].volume

    def cancel(self) -> None:
        """Forget a half-drawn measurement."""
        self.long_axis = None
        for item in (self.rubber, self.pending, self.label):
            item.hide()

    # -- rulers and node axes ---------------------------------------------------------------------

    def on_drag(self, start: QPointF, current: QPointF, phase: int) -> None:
        """A left drag with the ruler or node-axes tool (phase 0 start, 1 move, 2 finish)."""
        volume = self.volume
        if volume is None:
            return
        tool = self.session.tool
        if phase == 0:
            self._refused = False
            if tool is Tool.NODE_AXES:
                refusal = self._axes_refusal()
                if refusal is not None:
                    self._refused = True
                    self.cancel()
                    self.session.status_message.emit(refusal)
                    return
        if self._refused:
            return
        first = clamp_to_image(volume, plane_to_pixel(volume, (start.x(), start.y())))
        second = clamp_to_image(volume, plane_to_pixel(volume, (current.x(), current.y())))
        if phase == 0 and not on_image(volume, plane_to_pixel(volume, (start.x(), start.y()))):
            self._refused = True
            self.session.status_message.emit("Start the line on the image")
            return
        if tool is Tool.NODE_AXES and self.long_axis is not None:
            self._short_axis(first, second, phase)
        else:
            colour = RULER_COLOUR if tool is Tool.RULER else AXES_COLOUR
            self._show_rubber(first, second, colour)
            if phase == 2:
                self._finish_line(tool, first, second)

    def _show_rubber(self, first: tuple[float, float], second: tuple[float, float], colour: str) -> None:
        volume = self.volume
        a, b = pixel_to_plane(volume, first), pixel_to_plane(volume, second)
        self.rubber.setPen(pg.mkPen(QColor(colour), width=1.6, style=Qt.PenStyle.DashLine))
        self.rubber.setLine(QLineF(QPointF(*a), QPointF(*b)))
        self.rubber.show()
        self.label.setText(length_text(segment_length_mm(volume, first, second)), color=QColor(colour))
        self.label.setPos(QPointF((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0))
        self.label.show()

    def _finish_line(self, tool: Tool, first: tuple[float, float], second: tuple[float, float]) -> None:
        self.rubber.hide()
        self.label.hide()
        volume = self.volume
        if abs(first[0] - second[0]) < MIN_LENGTH_PIXELS and abs(first[1] - second[1]) < MIN_LENGTH_PIXELS:
            what = "a ruler" if tool is Tool.RULER else "the node's long axis"
            self.session.status_message.emit(f"Drag across the image to draw {what}")
            return
        state = self.session.viewports[self.index]
        ref, meta = volume.slices[state.slice_index], volume.meta
        if tool is Tool.RULER:
            ruler = Ruler(study_instance_uid=meta.study_instance_uid, series_instance_uid=meta.series_instance_uid,
                          sop_instance_uid=ref.sop_instance_uid, frame_number=ref.frame_number,
                          start=first, end=second)
            if self.session.annotations.add_measurement(ruler):
                self.session.status_message.emit(f"Ruler {length_text(ruler.length_mm(pixel_spacing(volume)))}")
            return
        roi = self._selected_roi()
        line = LineSegment(first, second)
        self.long_axis = (roi.id, line)
        a, b = pixel_to_plane(volume, first), pixel_to_plane(volume, second)
        self.pending.setPen(pg.mkPen(QColor(AXES_COLOUR), width=1.6))
        self.pending.setLine(QLineF(QPointF(*a), QPointF(*b)))
        self.pending.show()
        self.session.status_message.emit(
            f"Long axis {length_text(line.length_mm(pixel_spacing(volume)))}: now drag the short axis across "
            "the node (it is kept perpendicular)")

    def _short_axis(self, first: tuple[float, float], second: tuple[float, float], phase: int) -> None:
        volume = self.volume
        roi_id, long_axis = self.long_axis  # type: ignore[misc]
        spacing = pixel_spacing(volume)
        short = perpendicular_axis(long_axis, first, second, spacing)
        if short is not None:
            self._show_rubber(short.start, short.end, AXES_COLOUR)
        if phase < 2:
            return
        self.cancel()
        if short is None:
            self.session.status_message.emit("Drag across the long axis to draw the short axis; start again")
            return
        state = self.session.viewports[self.index]
        ref, meta = volume.slices[state.slice_index], volume.meta
        try:
            axes = NodeAxes(study_instance_uid=meta.study_instance_uid, series_instance_uid=meta.series_instance_uid,
                            sop_instance_uid=ref.sop_instance_uid, frame_number=ref.frame_number, roi_id=roi_id,
                            long_axis=long_axis, short_axis=short, pixel_spacing=spacing)
        except AnnotationError as exc:
            self.session.status_message.emit(f"Node axes not kept: {exc}")
            return
        if self.session.annotations.add_measurement(axes):
            self.session.status_message.emit(
                f"Node axes {axes.long_mm:.1f} × {axes.short_mm:.1f} mm (long × short)")

    def _selected_roi(self) -> Optional[RectRoi]:
        annotations = self.session.annotations
        return annotations.find(annotations.selected_id)

    def _axes_refusal(self) -> Optional[str]:
        """Why node axes cannot be drawn here now, or None."""
        roi = self._selected_roi()
        if self.long_axis is not None:
            roi_id = self.long_axis[0]
            if roi is None or roi.id != roi_id:
                self.cancel()
            else:
                return None
        if roi is None:
            return "Node axes: select a lymph-node ROI first (click it), then drag its long axis"
        if roi.kind is not RoiKind.LYMPH_NODE:
            return "Node axes: the selected ROI outlines a tumour; select a lymph-node ROI"
        volume = self.volume
        ref = volume.slices[self.session.viewports[self.index].slice_index]
        if roi.series_instance_uid != volume.meta.series_instance_uid or not roi.is_on(
                ref.sop_instance_uid, ref.frame_number):
            return "Node axes: this slice is not the selected lymph node's image; click its row in the ROI list"
        annotations = self.session.annotations.study(roi.study_instance_uid)
        if annotations is not None and annotations.axes_for_roi(roi.id) is not None:
            return "Node axes: this lymph node has its axes already; drag their handles or delete them first"
        return None

    # -- the cricoid level ------------------------------------------------------------------------

    def on_click(self, point: QPointF) -> None:
        """A left click with the cricoid tool marks the level there (replacing the study's)."""
        volume = self.volume
        if volume is None or self.session.tool is not Tool.CRICOID:
            return
        pixel = plane_to_pixel(volume, (point.x(), point.y()))
        if not on_image(volume, pixel):
            return
        if not is_axial(volume):
            self.session.status_message.emit(
                "The cricoid level is marked on an axial slice; this series is not axial")
            return
        annotations = self.session.annotations
        current = annotations.cricoid_of(volume.meta.study_instance_uid)
        extra = {"id": current.id} if current is not None else {}
        try:
            level = cricoid_level_at(volume, self.session.viewports[self.index].slice_index, pixel[0], pixel[1],
                                     **extra)
        except AnnotationError as exc:
            self.session.status_message.emit(f"Cricoid level not marked: {exc}")
            return
        if annotations.set_cricoid_level(level):
            self.session.status_message.emit(
                f"Cricoid level marked at z {level.superior_mm:.1f} mm (the study's one level)")
