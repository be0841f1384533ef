"""The drawing surface of a viewport: one ImageItem in a SliceViewBox, with painted overlays."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QGraphicsView, QToolTip, QWidget

from npc_desktop.gui.state import ViewState
from npc_desktop.gui.viewer.overlay_text import (
    PlacedLine,
    corner_tooltips,
    draw_hint,
    hint_box,
    layout_corners,
)
from npc_desktop.gui.viewer.slice_view_box import SliceViewBox

BACKGROUND = QColor(0, 0, 0)
TEXT = QColor(236, 236, 236)
SHADOW = QColor(0, 0, 0, 230)
EDGE_TEXT = QColor(255, 210, 90)
ACCENT = QColor(64, 156, 255)
MARGIN = 8

_KEYS = {
    Qt.Key.Key_Down: "next",
    Qt.Key.Key_Right: "next",
    Qt.Key.Key_Up: "previous",
    Qt.Key.Key_Left: "previous",
    Qt.Key.Key_PageDown: "page_down",
    Qt.Key.Key_PageUp: "page_up",
    Qt.Key.Key_Home: "first",
    Qt.Key.Key_End: "last",
}
NAVIGATION_KEYS = tuple(_KEYS)


class ImageCanvas(pg.GraphicsView):
    """Shows one 2-D image in plane millimetres and paints corner and edge overlays over it.

    It knows nothing of volumes or the session: the owning viewport gives it arrays, levels and
    text, and turns its signals into session calls.
    """

    activated = Signal()
    scrolled = Signal(int)
    window_dragged = Signal(float, float, int)
    view_changed_by_user = Signal()
    hovered = Signal(float, float)
    """Pointer position in pixel units of the image (column, row); NaN when it left."""
    navigate = Signal(str)
    image_shown = Signal()
    """Emitted after the first paint that showed a newly set image."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.view_box = SliceViewBox()
        self.setCentralItem(self.view_box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image_item)
        self.corners: dict[str, list[str]] = {"tl": [], "tr": [], "bl": [], "br": []}
        self.layer_lines: dict[str, dict[str, list[str]]] = {}
        self.edges: dict[str, str] = {}
        self.message = ""
        self.banner = ""
        self.hint: list[str] = []
        self.hint_tooltip = ""
        self._tooltips: list[tuple[QRectF, str]] = []
        self._placed: list[PlacedLine] = []
        self._banner_colour = QColor(255, 120, 90)
        self.active_frame = False
        self._rect: Optional[QRectF] = None
        self._has_image = False
        self._announce = False
        self._font = QFont(self.font())
        self._font.setPointSizeF(max(self._font.pointSizeF(), 9.5))
        self._edge_font = QFont(self._font)
        self._edge_font.setPointSizeF(self._font.pointSizeF() * 1.25)
        self._edge_font.setBold(True)
        self.view_box.sigScroll.connect(self.scrolled)
        self.view_box.sigWindowDrag.connect(self.window_dragged)
        self.view_box.sigRangeChangedManually.connect(lambda *_: self.view_changed_by_user.emit())
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- content -----------------------------------------------------------------------------

    @property
    def has_image(self) -> bool:
        """Whether an image is shown."""
        return self._has_image

    def set_image(self, image: np.ndarray, levels: tuple[float, float], rect: Optional[QRectF] = None) -> None:
        """Show ``image`` (rows, columns) with display ``levels``; ``rect`` places it in mm."""
        self.image_item.setImage(image, autoLevels=False, levels=levels, autoDownsample=False)
        if rect is not None:
            self._rect = QRectF(rect)
            self.image_item.setRect(self._rect)
        if not self._has_image:
            self._has_image = True
            self._announce = True
        self.viewport().update()

    def set_levels(self, levels: tuple[float, float]) -> None:
        """Change the display levels (window) of the current image."""
        self.image_item.setLevels(levels)
        self.viewport().update()

    def set_inverted(self, inverted: bool) -> None:
        """Invert the grey scale (MONOCHROME1) through the lookup table, not the data."""
        self.image_item.setLookupTable(np.arange(255, -1, -1, dtype=np.uint8) if inverted else None)

    def clear_image(self) -> None:
        """Show nothing."""
        self.image_item.clear()
        self._has_image = False
        self._rect = None
        self.corners = {"tl": [], "tr": [], "bl": [], "br": []}
        self.edges = {}
        self.viewport().update()

    def set_overlay(self, corner: str, lines: list[str]) -> None:
        """Set the lines of one corner: "tl", "tr", "bl" or "br"."""
        self.corners[corner] = lines
        self.viewport().update()

    def set_layer_lines(self, layer: str, corner: str, lines: list[str]) -> None:
        """Lines an overlay layer adds to a corner ([] removes them). They sit next to the
        viewport's own lines, on the side away from the image edge, so those never move."""
        self.layer_lines.setdefault(corner, {})[layer] = list(lines)
        self.viewport().update()

    def shown_corners(self) -> dict[str, list[str]]:
        """Every corner's lines as painted: the viewport's and the layers'."""
        shown = {}
        for corner, own in self.corners.items():
            extra = [line for lines in self.layer_lines.get(corner, {}).values() for line in lines]
            shown[corner] = extra + own if corner[0] == "b" else own + extra
        return shown

    def set_message(self, message: str) -> None:
        """A centred message (empty viewport, loading); "" removes it."""
        self.message = message
        self.viewport().update()

    def set_hint(self, lines: list[str], tooltip: str = "") -> None:
        """A small box of advice at the bottom centre ([] removes it); ``tooltip`` on hovering it."""
        if lines != self.hint or tooltip != self.hint_tooltip:
            self.hint = list(lines)
            self.hint_tooltip = tooltip
            self.viewport().update()

    def tooltip_at(self, pos: QPointF) -> str:
        """The tooltip for a viewport position: the full text of a shortened corner block, or the
        hint's; "" elsewhere (as last painted)."""
        for area, text in self._tooltips:
            if area.contains(pos):
                return text
        return ""

    def painted_corner_lines(self) -> list[PlacedLine]:
        """The corner lines as last painted: full and shown text, place."""
        return list(self._placed)

    def set_banner(self, text: str, colour: Optional[QColor] = None) -> None:
        """A warning line at the top centre, under the orientation label ("" removes it)."""
        self.banner = text
        if colour is not None:
            self._banner_colour = QColor(colour)
        self.viewport().update()

    def set_active_frame(self, shown: bool) -> None:
        """Draw the accent frame that marks the active viewport."""
        self.active_frame = shown
        self.viewport().update()

    # -- view --------------------------------------------------------------------------------

    def fit(self) -> None:
        """Show the whole image, as large as the viewport allows."""
        if self._rect is not None:
            self.view_box.setRange(rect=self._rect, padding=0.0)

    def view_state(self) -> ViewState:
        """The shown part of the plane."""
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        return ViewState((x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0)

    def set_view_state(self, view: ViewState) -> None:
        """Show ``view`` (without reporting it as a user change)."""
        self.view_box.setRange(
            xRange=(view.centre_x - view.width / 2.0, view.centre_x + view.width / 2.0),
            yRange=(view.centre_y - view.height / 2.0, view.centre_y + view.height / 2.0),
            padding=0.0,
        )

    def zoom_by(self, factor: float) -> None:
        """Magnify by ``factor`` about the centre of the view."""
        self.view_box.scaleBy((1.0 / factor, 1.0 / factor))
        self.view_changed_by_user.emit()

    def screen_pixel_mm(self) -> float:
        """Millimetres per screen (logical) pixel horizontally."""
        size = self.view_box.viewPixelSize()[0]
        return float(size) if size else math.nan

    # -- events ------------------------------------------------------------------------------

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self._has_image or not self.view_box.sceneBoundingRect().contains(scene_pos):
            self.hovered.emit(math.nan, math.nan)
            return
        point = self.image_item.mapFromScene(scene_pos)
        self.hovered.emit(point.x(), point.y())

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 - Qt API
        self.activated.emit()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().mousePressEvent(ev)

    def leaveEvent(self, ev) -> None:  # noqa: N802 - Qt API
        self.hovered.emit(math.nan, math.nan)
        super().leaveEvent(ev)

    def keyPressEvent(self, ev: QKeyEvent) -> None:  # noqa: N802 - Qt API
        action = _KEYS.get(Qt.Key(ev.key()))
        if action is not None and not ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            ev.accept()
            self.navigate.emit(action)
            return
        super().keyPressEvent(ev)

    def viewportEvent(self, ev: QEvent) -> bool:  # noqa: N802 - Qt API
        if ev.type() == QEvent.Type.ToolTip and isinstance(ev, QHelpEvent):
            text = self.tooltip_at(QPointF(ev.pos()))
            if text:
                QToolTip.showText(ev.globalPos(), text, self.viewport())
                return True
        return super().viewportEvent(ev)

    def focusInEvent(self, ev) -> None:  # noqa: N802 - Qt API
        self.activated.emit()
        super().focusInEvent(ev)

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().paintEvent(ev)
        if self._announce and self._has_image:
            self._announce = False
            self.image_shown.emit()

    # -- overlays ----------------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 - Qt API
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        width, height = self.viewport().width(), self.viewport().height()
        painter.setFont(self._font)
        metrics = QFontMetrics(self._font)
        if self.message:
            self._text(painter, metrics, self.message, width / 2.0, height / 2.0, "centre", width - 4 * MARGIN)
        line = metrics.lineSpacing()
        # Leave the middle of the top and bottom edges to the orientation labels.
        label = QFontMetrics(self._edge_font).horizontalAdvance("MM")
        reserve = {edge: float(label) if self.edges.get(edge) else 0.0 for edge in ("top", "bottom")}
        corners = self.shown_corners()
        placed = layout_corners(corners, metrics, width, height, reserve)
        for item in placed:
            self._text(painter, metrics, item.shown, item.x, item.baseline, "left", width)
        self._placed = placed
        self._tooltips = corner_tooltips(placed)
        if self.hint:
            rows = max(len(corners["bl"]), len(corners["br"]), 1 if self.edges else 0)
            box = hint_box(self.hint, metrics, width, height - MARGIN - rows * line - MARGIN)
            if box is not None:
                draw_hint(painter, self.hint, metrics, box)
                if self.hint_tooltip:
                    self._tooltips.append((box, self.hint_tooltip))
        if self.edges:
            painter.setFont(self._edge_font)
            edge = QFontMetrics(self._edge_font)
            middle_y = height / 2.0 + edge.ascent() / 2.0
            places = {
                "left": (MARGIN, middle_y, "left"),
                "right": (width - MARGIN, middle_y, "right"),
                "top": (width / 2.0, MARGIN + edge.ascent(), "centre"),
                "bottom": (width / 2.0, height - MARGIN - edge.descent(), "centre"),
            }
            for name, (x, y, align) in places.items():
                self._text(painter, edge, self.edges.get(name, ""), x, y, align, width, EDGE_TEXT)
        if self.banner:
            bold = QFont(self._font)
            bold.setBold(True)
            painter.setFont(bold)
            banner = QFontMetrics(bold)
            # Below the taller of the two top corner blocks, so neither hides the other.
            rows = max(len(corners["tl"]), len(corners["tr"]))
            y = MARGIN + (rows + 0.6) * line + banner.ascent()
            self._text(painter, banner, self.banner, width / 2.0, y, "centre", width - 4 * MARGIN,
                       self._banner_colour)
            painter.setFont(self._font)
        if self.active_frame:
            pen = QPen(ACCENT)
            pen.setWidth(2)
            painter.setPen(pen)
            painter.drawRect(QRectF(1, 1, width - 2, height - 2))
        painter.restore()

    @staticmethod
    def _text(painter: QPainter, metrics: QFontMetrics, text: str, x: float, y: float, align: str,
              max_width: float, colour: Optional[QColor] = None) -> None:
        if not text:
            return
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(max(max_width, 10)))
        advance = metrics.horizontalAdvance(text)
        if align == "right":
            x -= advance
        elif align == "centre":
            x -= advance / 2.0
        painter.setPen(SHADOW)
        painter.drawText(QPointF(x + 1, y + 1), text)
        painter.setPen(colour if colour is not None else TEXT)
        painter.drawText(QPointF(x, y), text)
