"""The measurements of one viewport: rulers and node axes on the shown slice, the drawing tools'
gestures and the cricoid level.

Like :class:`~npc_desktop.gui.annotation.roi_layer.RoiLayer` it is made by an injected layer
factory, so the viewer never imports it. A finished handle drag goes back to the model as new
geometry (one undo step); when the model refuses it (a read-only study, node axes the core
rejects), the items return to the stored geometry and the status bar says why.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu

from npc_desktop.core.annotation.measurements import LineSegment, Measurement, NodeAxes, Ruler
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.cricoid_marker import CricoidMarker
from npc_desktop.gui.annotation.measure_geometry import (
    clamp_to_image,
    length_text,
    pixel_to_plane,
    plane_to_pixel,
    segment_length_mm,
    square_up,
)
from npc_desktop.gui.annotation.measure_line_item import MeasureLineItem
from npc_desktop.gui.annotation.measure_style import AXES_COLOUR, RULER_COLOUR
from npc_desktop.gui.annotation.measurement_drawing import MeasurementDrawing
from npc_desktop.gui.annotation.measurement_edits import MEASUREMENT_NAMES
from npc_desktop.gui.state import Tool
from npc_desktop.gui.viewer.image_canvas import ImageCanvas
from npc_desktop.gui.viewer.slice_slider import SliceSlider

ItemKey = tuple[str, str]
"""``(measurement id, part)``: part is ``"ruler"``, ``"long"`` or ``"short"``."""


class MeasurementLayer(QObject):
    """Keeps viewport ``index``'s measurement items in step with the session's annotations."""

    def __init__(self, session: AnnotationSession, index: int, canvas: ImageCanvas) -> None:
        super().__init__(canvas)
        self.session = session
        self.index = index
        self.canvas = canvas
        self.items: dict[ItemKey, MeasureLineItem] = {}
        self.menu: Optional[QMenu] = None
        self.drawing = MeasurementDrawing(session, index, canvas)
        self.cricoid = CricoidMarker(session, index, canvas)
        s, a = session, session.annotations
        s.series_loaded.connect(self._on_series)
        s.viewport_cleared.connect(self._on_series)
        s.slice_changed.connect(self._on_slice)
        s.tool_changed.connect(self._on_tool)
        s.study_indexed.connect(lambda *_: self.refresh())
        a.rois_changed.connect(lambda *_: self.refresh())
        a.measurements_changed.connect(lambda *_: self.refresh())
        a.measurement_selection_changed.connect(lambda *_: self._restyle())
        a.selection_changed.connect(lambda *_: self.drawing.cancel())
        canvas.view_box.sigDrawDrag.connect(self._on_drag)
        canvas.view_box.sigPointClicked.connect(self.drawing.on_click)
        canvas.view_box.sigBackgroundClicked.connect(lambda: a.select_measurement(None))

    @property
    def volume(self):
        """The volume this viewport shows, or None."""
        return self.session.viewports[self.index].volume

    def show_marks_on(self, slider: SliceSlider) -> None:
        """Mark the cricoid level on this viewport's slice slider."""
        self.cricoid.show_on(slider)

    # -- model -> items ---------------------------------------------------------------------------

    def _on_series(self, vp: int, *_: object) -> None:
        if vp == self.index:
            self.drawing.cancel()
            for key in list(self.items):
                self._remove(key)
            self.refresh()

    def _on_slice(self, vp: int, _slice: int) -> None:
        if vp == self.index:
            self.drawing.cancel()
            self.refresh()

    def _on_tool(self, *_: object) -> None:
        self.drawing.cancel()
        self._restyle()

    def shown_measurements(self) -> list[Measurement]:
        """The rulers and node axes drawn on the slice this viewport shows."""
        state = self.session.viewports[self.index]
        volume = state.volume
        if volume is None or not 0 <= state.slice_index < volume.shape[0]:
            return []
        ref = volume.slices[state.slice_index]
        return self.session.annotations.measurements_on(volume.meta.study_instance_uid, ref.sop_instance_uid,
                                                        ref.frame_number)

    def refresh(self) -> None:
        """Show exactly the measurements of the current slice, where the model has them."""
        volume = self.volume
        wanted: dict[ItemKey, tuple[LineSegment, str]] = {}
        for measurement in self.shown_measurements():
            if isinstance(measurement, Ruler):
                wanted[(measurement.id, "ruler")] = (measurement.segment, RULER_COLOUR)
            else:
                wanted[(measurement.id, "long")] = (measurement.long_axis, AXES_COLOUR)
                wanted[(measurement.id, "short")] = (measurement.short_axis, AXES_COLOUR)
        for key in [k for k in self.items if k not in wanted]:
            self._remove(key)
        for key, (line, colour) in wanted.items():
            start, end = pixel_to_plane(volume, line.start), pixel_to_plane(volume, line.end)
            item = self.items.get(key)
            if item is None:
                item = MeasureLineItem(key[0], key[1], start, end, QColor(colour))
                item.setZValue(12)
                item.select_requested.connect(self.session.annotations.select_measurement)
                item.moving.connect(self._on_moving)
                item.geometry_finished.connect(self._on_geometry)
                item.menu_requested.connect(self._show_menu)
                self.canvas.view_box.addItem(item, ignoreBounds=True)
                self.items[key] = item
            else:
                item.set_plane_points(start, end)
            item.set_text(self._text(key[1], line))
        self.cricoid.refresh()
        self._restyle()

    def _text(self, part: str, line: LineSegment) -> str:
        return _label(part, line.length_mm(pixel_spacing(self.volume)))

    def _remove(self, key: ItemKey) -> None:
        item = self.items.pop(key)
        self.canvas.view_box.removeItem(item)
        item.deleteLater()

    def _restyle(self) -> None:
        editable = self.session.tool.measures
        selected = self.session.annotations.selected_measurement_id
        for (item_id, _part), item in self.items.items():
            item.set_look(selected=item_id == selected, editable=editable)
        self.cricoid.refresh()
        self.canvas.viewport().update()

    # -- items -> model ---------------------------------------------------------------------------

    def _pixel_line(self, key: ItemKey) -> Optional[LineSegment]:
        volume, item = self.volume, self.items.get(key)
        if volume is None or item is None:
            return None
        first, second = (clamp_to_image(volume, plane_to_pixel(volume, p)) for p in item.plane_points())
        try:
            return LineSegment(first, second)
        except AnnotationError:
            return None

    def _on_moving(self, item_id: str, part: str) -> None:
        """While a handle is dragged, the label reads the length under the mouse."""
        volume, item = self.volume, self.items.get((item_id, part))
        if volume is None or item is None:
            return
        first, second = (plane_to_pixel(volume, p) for p in item.plane_points())
        item.set_text(_label(part, segment_length_mm(volume, first, second)))

    def _on_geometry(self, item_id: str, part: str) -> None:
        annotations = self.session.annotations
        measurement = annotations.find_measurement(item_id)
        line = self._pixel_line((item_id, part))
        changed = None
        if line is not None and isinstance(measurement, Ruler):
            changed = measurement.with_points(line.start, line.end)
        elif line is not None and isinstance(measurement, NodeAxes):
            changed = self._reshaped_axes(measurement, part, line)
        if changed is None or not annotations.set_measurement(changed):
            self.refresh()  # unchanged or refused: back to the stored geometry

    def _reshaped_axes(self, axes: NodeAxes, part: str, line: LineSegment) -> Optional[NodeAxes]:
        """The axes after one of them was dragged, the short axis squared up to the long one."""
        long_axis = line if part == "long" else axes.long_axis
        short_axis = square_up(long_axis, line if part == "short" else axes.short_axis, axes.pixel_spacing,
                               keep_length=part == "long")
        try:
            return axes.with_axes(long_axis, short_axis)
        except AnnotationError as exc:
            self.session.status_message.emit(f"Node axes not changed: {exc}")
            return None

    def _on_drag(self, start, current, phase: int) -> None:
        if self.session.tool in (Tool.RULER, Tool.NODE_AXES):
            self.drawing.on_drag(start, current, phase)

    def _show_menu(self, item_id: str, screen_pos: QPoint) -> None:
        annotations = self.session.annotations
        annotations.select_measurement(item_id)
        measurement = annotations.find_measurement(item_id)
        if measurement is None:
            return
        menu = QMenu(self.canvas)
        menu.setObjectName("measurementMenu")
        delete = menu.addAction(f"Delete {MEASUREMENT_NAMES[type(measurement)]}\tDel")
        delete.setObjectName("deleteMeasurement")
        delete.triggered.connect(lambda: annotations.delete_measurement(item_id))
        self.menu = menu
        menu.popup(screen_pos)


def _label(part: str, mm: float) -> str:
    """The label of a line: its length, marked L or S on a node's long and short axes."""
    prefix = {"ruler": "", "long": "L ", "short": "S "}[part]
    return prefix + length_text(mm)
