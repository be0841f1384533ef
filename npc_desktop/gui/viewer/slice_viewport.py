"""One viewport: an ImageCanvas and a slice slider, bound to one slot of the ViewerSession."""

from __future__ import annotations

import math
from typing import Callable, Mapping, Optional

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from npc_desktop.core.preprocessing import apply_clahe, window_to_uint8
from npc_desktop.gui.state import ClaheSettings, CursorInfo, LoadedSeries, Tool, ViewState
from npc_desktop.gui.viewer import geometry, overlay
from npc_desktop.gui.viewer.image_canvas import ImageCanvas
from npc_desktop.gui.viewer.slice_slider import SliceSlider
from npc_desktop.gui.viewer.viewer_session import PAGE_STEP, ViewerSession

EMPTY_MESSAGE = "Double-click a series in the study browser to show it here"
WINDOW_DRAG_PIXELS = 256.0
"""Screen pixels of drag that change the window by its own width."""


LayerFactory = Callable[[int, ImageCanvas], object]
"""Makes an overlay layer (the ROIs, the Grad-CAM heatmap) for viewport ``index`` on its canvas.
The feature packages provide them; the viewer knows nothing of what they draw."""


class SliceViewport(QWidget):
    """Shows slot ``index`` of the session: slice, window, overlays; turns gestures into calls."""

    image_shown = Signal()
    """The first paint after a series was put in this viewport."""

    def __init__(self, session: ViewerSession, index: int, parent: Optional[QWidget] = None, *,
                 layers: Mapping[str, LayerFactory] = {}) -> None:  # noqa: B006 - read only
        super().__init__(parent)
        self.session = session
        self.index = index
        self.setObjectName(f"viewport{index}")
        self.canvas = ImageCanvas(self)
        self.slider = SliceSlider(self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Slice (wheel, arrow keys, PageUp/PageDown, Home/End)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.slider)
        self._cursor: Optional[CursorInfo] = None
        self._drag_start: Optional[tuple[float, float]] = None
        self._rect: Optional[QRectF] = None
        self.canvas.set_message(EMPTY_MESSAGE)
        self._connect()
        self.layers = {name: make(index, self.canvas) for name, make in layers.items()}
        """The overlay layers by name ("rois", "cams"), drawn on the canvas in this order."""

    def _connect(self) -> None:
        s = self.session
        s.series_loaded.connect(self._on_series_loaded)
        s.viewport_cleared.connect(self._on_cleared)
        s.loading_changed.connect(self._on_loading)
        s.slice_changed.connect(self._on_slice_changed)
        s.window_changed.connect(self._on_window_changed)
        s.view_changed.connect(self._on_view_changed)
        s.fit_requested.connect(self._on_fit)
        s.zoom_requested.connect(self._on_zoom)
        s.active_viewport_changed.connect(self._update_frame)
        s.layout_changed.connect(self._update_frame)
        s.tool_changed.connect(lambda tool: self.canvas.view_box.set_tool(Tool(tool)))
        s.clahe_changed.connect(self._on_clahe_changed)
        c = self.canvas
        c.activated.connect(lambda: s.set_active(self.index))
        c.scrolled.connect(lambda steps: s.step_slice(self.index, steps))
        c.navigate.connect(self._on_navigate)
        c.window_dragged.connect(self._on_window_drag)
        c.view_changed_by_user.connect(self._on_user_view)
        c.hovered.connect(self._on_hover)
        c.image_shown.connect(self.image_shown)
        self.slider.valueChanged.connect(lambda value: s.set_slice(self.index, value))

    @property
    def state(self):
        """This viewport's slot in the session."""
        return self.session.viewports[self.index]

    # -- session -> view ---------------------------------------------------------------------

    def _on_series_loaded(self, vp: int, loaded: LoadedSeries) -> None:
        if vp != self.index:
            return
        volume = loaded.volume
        self._rect = QRectF(*geometry.image_rect(volume))
        self._cursor = None
        self.canvas.set_message("")
        self.canvas.set_inverted(volume.invert)
        self.canvas.edges = geometry.orientation_labels(volume)
        self.canvas.corners["tl"] = overlay.top_left(volume)
        self.canvas.corners["tr"] = overlay.top_right(volume)
        self.slider.blockSignals(True)
        self.slider.setRange(0, volume.shape[0] - 1)
        self.slider.setPageStep(PAGE_STEP)
        self.slider.blockSignals(False)
        self.slider.setEnabled(volume.shape[0] > 1)
        self._render(new_volume=True)
        self.canvas.fit()
        self._update_bottom_right()

    def _on_cleared(self, vp: int) -> None:
        if vp == self.index:
            self._rect = None
            self._cursor = None
            self.canvas.clear_image()
            self.canvas.set_message(EMPTY_MESSAGE)
            self.slider.blockSignals(True)
            self.slider.setRange(0, 0)
            self.slider.blockSignals(False)
            self.slider.setEnabled(False)

    def _on_loading(self, vp: int, label: str) -> None:
        if vp == self.index:
            if label:
                self.canvas.set_message(label + "…")
            else:
                self.canvas.set_message("" if self.canvas.has_image else EMPTY_MESSAGE)

    def _on_slice_changed(self, vp: int, slice_index: int) -> None:
        if vp != self.index or self.state.volume is None:
            return
        self.slider.blockSignals(True)
        self.slider.setValue(slice_index)
        self.slider.blockSignals(False)
        pointed = self._cursor
        self._cursor = self._cursor_at(pointed.column + 0.5, pointed.row + 0.5) if pointed else None
        self._render()
        if pointed is not None:
            # The pointer is over this image: the status bar reads the new slice's voxel too,
            # from the same change that updated the overlay.
            self.session.set_cursor(self._cursor)

    def _on_window_changed(self, vp: int, centre: float, width: float) -> None:
        if vp != self.index or self.state.volume is None:
            return
        if self.session.clahe.enabled:
            self._render()
        else:
            self.canvas.set_levels((centre - width / 2.0, centre + width / 2.0))
        self._update_bottom_right()

    def _on_clahe_changed(self, settings: ClaheSettings) -> None:
        if self.state.volume is not None:
            self._render()
            self._update_bottom_right()

    def _render(self, new_volume: bool = False) -> None:
        """Put the current slice on the canvas; the window goes to the display levels."""
        state = self.state
        volume = state.volume
        if volume is None or state.window is None:
            return
        image = volume.voxels[state.slice_index]
        centre, width = state.window
        clahe = self.session.clahe
        if clahe.enabled:
            windowed = window_to_uint8(image, centre, width)
            image = apply_clahe(windowed, clahe.clip_limit, (clahe.tile_grid, clahe.tile_grid))
            levels = (0.0, 255.0)
        else:
            levels = (centre - width / 2.0, centre + width / 2.0)
        self.canvas.set_image(image, levels, self._rect if new_volume else None)
        self.canvas.set_overlay("bl", overlay.bottom_left(volume, state.slice_index, self._cursor))

    def _update_bottom_right(self) -> None:
        volume = self.state.volume
        if volume is None:
            return
        zoom = volume.spacing[0] / self.canvas.screen_pixel_mm()
        integer = volume.voxels.dtype.kind in "iu"
        self.canvas.set_overlay("br", overlay.bottom_right(self.state.window, zoom, self.session.clahe, integer))

    def _on_view_changed(self, vp: int, view: ViewState) -> None:
        if vp == self.index and self.canvas.has_image:
            self.canvas.set_view_state(view)
            self._update_bottom_right()

    def _on_fit(self, vp: int) -> None:
        if vp == self.index:
            self.canvas.fit()
            self._update_bottom_right()

    def _on_zoom(self, vp: int, factor: float) -> None:
        if vp == self.index and self.canvas.has_image:
            self.canvas.zoom_by(factor)

    def _update_frame(self, *_: object) -> None:
        self.canvas.set_active_frame(self.session.layout > 1 and self.session.active == self.index)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._update_bottom_right()

    # -- gestures -> session -----------------------------------------------------------------

    def _on_navigate(self, action: str) -> None:
        s, vp = self.session, self.index
        steps = {"next": 1, "previous": -1, "page_down": PAGE_STEP, "page_up": -PAGE_STEP}
        if action in steps:
            s.step_slice(vp, steps[action])
        else:
            s.first_or_last(vp, last=action == "last")

    def _on_window_drag(self, dx: float, dy: float, phase: int) -> None:
        state = self.state
        if state.loaded is None or state.window is None:
            return
        if phase == 0 or self._drag_start is None:
            self._drag_start = state.window
        centre, width = self._drag_start
        # Proportional to the starting width, so a drag feels the same on any intensity scale.
        step = max(width, 0.02 * state.loaded.presets[state.loaded.default][1]) / WINDOW_DRAG_PIXELS
        self.session.set_window(self.index, centre + dy * step, width + dx * step)
        if phase == 2:
            self._drag_start = None

    def _on_user_view(self) -> None:
        if self.canvas.has_image:
            self.session.set_view(self.index, self.canvas.view_state())
            self._update_bottom_right()

    def _cursor_at(self, x: float, y: float) -> Optional[CursorInfo]:
        volume = self.state.volume
        if volume is None or math.isnan(x) or math.isnan(y):
            return None
        _, rows, cols = volume.shape
        row, column = int(math.floor(y)), int(math.floor(x))
        if not (0 <= row < rows and 0 <= column < cols):
            return None
        k = self.state.slice_index
        point = volume.index_to_patient(k, row, column)
        value = float(volume.voxels[k, row, column])
        return CursorInfo(self.index, k, row, column, value, tuple(float(v) for v in np.round(point, 3)))

    def _on_hover(self, x: float, y: float) -> None:
        cursor = self._cursor_at(x, y)
        if cursor is None and self._cursor is None:
            return
        self._cursor = cursor
        volume = self.state.volume
        if volume is not None:
            self.canvas.set_overlay("bl", overlay.bottom_left(volume, self.state.slice_index, cursor))
        self.session.set_cursor(cursor)
