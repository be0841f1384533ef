"""The study's cricoid level as one viewport shows it: a line across the image on the slice at the
level, a mark on the slice slider and a corner line.

The level is a point in patient space, so every axial series of the same frame of reference (the
synchronised series) shows it, not only the one it was marked on. In such a series the level
falls between slices in general: it is shown on the nearest slice, and the corner says how far
that slice is from the level when the two differ by more than :data:`ON_SLICE_MM`.
"""

from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu

from npc_desktop.core.annotation.measurements import CricoidLevel
from npc_desktop.core.dicom import Volume
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.measure_geometry import cricoid_on_volume, pixel_to_plane
from npc_desktop.gui.annotation.measure_style import CRICOID_COLOUR
from npc_desktop.gui.viewer.image_canvas import ImageCanvas
from npc_desktop.gui.viewer.slice_slider import SliceMark, SliceSlider

LAYER_NAME = "cricoid"
ON_SLICE_MM = 0.05
"""A slice closer than this to the level is the level's own slice."""


class CricoidMarker(QObject):
    """Shows the study's cricoid level on viewport ``index`` (see the module docstring)."""

    def __init__(self, session: AnnotationSession, index: int, canvas: ImageCanvas) -> None:
        super().__init__(canvas)
        self.session = session
        self.index = index
        self.canvas = canvas
        self.slider: Optional[SliceSlider] = None
        self.menu: Optional[QMenu] = None
        self.line = pg.InfiniteLine(angle=0, movable=False, label="Cricoid level (caudal border)",
                                    labelOpts={"position": 0.08, "color": QColor(CRICOID_COLOUR),
                                               "fill": pg.mkBrush(0, 0, 0, 150), "anchors": [(0, 1), (0, 1)]})
        self.line.setZValue(15)
        self.line.hide()
        self.line.sigClicked.connect(self._on_clicked)
        canvas.view_box.addItem(self.line, ignoreBounds=True)
        self.level_id: Optional[str] = None
        self.slice_index: Optional[int] = None
        """The slice of this viewport's series nearest the level (None when it shows none)."""

    def show_on(self, slider: SliceSlider) -> None:
        """Mark the level on the viewport's slice slider too."""
        self.slider = slider
        self.refresh()

    def _level_for(self, volume: Volume) -> Optional[CricoidLevel]:
        """The level of the volume's study, when the volume can show it (same frame of reference)."""
        level = self.session.annotations.cricoid_of(volume.meta.study_instance_uid)
        if level is None or level.series_instance_uid == volume.meta.series_instance_uid:
            return level
        frame = volume.meta.frame_of_reference_uid
        index = self.session.index
        marked_on = next((s for s in index.all_series() if s.series_instance_uid == level.series_instance_uid),
                         None) if index is not None else None
        if not frame or marked_on is None or marked_on.frame_of_reference_uid != frame:
            return None
        return level

    def refresh(self) -> None:
        """Follow the level, the series and the slice shown."""
        state = self.session.viewports[self.index]
        volume = state.volume
        level = self._level_for(volume) if volume is not None else None
        place = cricoid_on_volume(volume, level) if level is not None else None
        self.level_id = level.id if level is not None else None
        self.slice_index = place[0] if place is not None else None
        selected = level is not None and self.session.annotations.selected_measurement_id == level.id
        if self.slider is not None:
            mark = SliceMark(place[0], QColor(CRICOID_COLOUR), "Cricoid level") if place is not None else None
            self.slider.set_mark(LAYER_NAME, mark)
        lines: list[str] = []
        if level is not None and place is None:
            lines.append(f"Cricoid level z {level.superior_mm:.1f} mm (not in this stack)")
        elif place is not None:
            nearest, distance, point = place
            if nearest == state.slice_index:
                lines.append("Cricoid level on this image" if distance < ON_SLICE_MM
                             else f"Cricoid level {distance:.1f} mm from this image (nearest)")
            else:
                lines.append(f"Cricoid level: Im {nearest + 1}")
        self.canvas.set_layer_lines(LAYER_NAME, "bl", lines)
        on_slice = place is not None and place[0] == state.slice_index
        if on_slice:
            _, y = pixel_to_plane(volume, place[2])
            self.line.setPos(y)
            self.line.setPen(pg.mkPen(QColor(CRICOID_COLOUR), width=2.6 if selected else 1.6,
                                      style=Qt.PenStyle.DashLine))
        self.line.setVisible(on_slice)

    def _on_clicked(self, _line: object, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self.session.annotations.select_measurement(self.level_id)
        elif ev.button() == Qt.MouseButton.RightButton and self.level_id is not None:
            pos = ev.screenPos()
            self.show_menu(QPoint(int(pos.x()), int(pos.y())))

    def show_menu(self, screen_pos: QPoint) -> None:
        """The level's context menu: delete it."""
        annotations, level_id = self.session.annotations, self.level_id
        annotations.select_measurement(level_id)
        menu = QMenu(self.canvas)
        menu.setObjectName("cricoidMenu")
        delete = menu.addAction("Delete Cricoid Level\tDel")
        delete.setObjectName("deleteMeasurement")
        delete.triggered.connect(lambda: annotations.delete_measurement(level_id))
        self.menu = menu
        menu.popup(screen_pos)
