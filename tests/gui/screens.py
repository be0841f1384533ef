"""Screenshot helpers: what a viewport actually shows, compared with what it should show."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from npc_desktop.core.preprocessing import window_to_uint8


def to_gray(qimage: QImage) -> np.ndarray:
    """A QImage as a 2-D uint8 array (luminance)."""
    gray = qimage.convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = gray.width(), gray.height(), gray.bytesPerLine()
    buffer = np.frombuffer(gray.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, :width].copy()


def grab(viewport, path: Optional[Path] = None) -> np.ndarray:
    """The rendered canvas of a viewport (image and overlays) as grey values; saved if ``path``."""
    QApplication.processEvents()
    image = viewport.canvas.viewport().grab().toImage()
    if path is not None:
        image.save(str(path))
    return to_gray(image)


def image_box(viewport) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the displayed image in canvas pixels, clipped to the canvas."""
    canvas = viewport.canvas
    # In fractional view pixels, rounded inwards: a partly covered edge column is not image.
    rect = canvas.viewportTransform().mapRect(canvas.image_item.sceneBoundingRect())
    width, height = canvas.viewport().width(), canvas.viewport().height()
    x0, y0 = max(math.ceil(rect.left() - 1e-6), 0), max(math.ceil(rect.top() - 1e-6), 0)
    x1, y1 = min(math.floor(rect.right() + 1e-6), width), min(math.floor(rect.bottom() + 1e-6), height)
    return x0, y0, x1, y1


def image_pixels(viewport, gray: np.ndarray) -> np.ndarray:
    """The part of a grab covered by the image (fit mode: the whole image)."""
    x0, y0, x1, y1 = image_box(viewport)
    return gray[y0:y1, x0:x1]


def expected_view(slice_array: np.ndarray, window: tuple[float, float], size: tuple[int, int]) -> np.ndarray:
    """A slice windowed like the viewer and resized to ``size`` = (width, height)."""
    return cv2.resize(window_to_uint8(slice_array, *window), size, interpolation=cv2.INTER_AREA)


def correlation(a: np.ndarray, b: np.ndarray, border: float = 0.15) -> float:
    """Pearson correlation of two equally sized images, leaving out a ``border`` share on every
    side, where the viewport paints its corner and orientation overlays over the image."""
    rows, cols = a.shape[:2]
    dr, dc = int(rows * border), int(cols * border)
    a = a[dr:rows - dr, dc:cols - dc].astype(np.float64).ravel()
    b = b[dr:rows - dr, dc:cols - dc].astype(np.float64).ravel()
    a -= a.mean()
    b -= b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator else 0.0


def matching_slice(viewport, gray: np.ndarray) -> tuple[int, list[float]]:
    """Which slice of the viewport's volume the grab shows: the best-correlated one."""
    state = viewport.state
    shown = image_pixels(viewport, gray)
    size = (shown.shape[1], shown.shape[0])
    scores = [correlation(shown, expected_view(s, state.window, size)) for s in state.volume.voxels]
    return int(np.argmax(scores)), scores


def wheel(widget, steps: int, pos: Optional[QPoint] = None,
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Turn the mouse wheel ``steps`` notches (positive = towards the user) over ``widget``."""
    pos = pos if pos is not None else widget.rect().center()
    global_pos = widget.mapToGlobal(pos)
    for _ in range(abs(steps)):
        delta = -120 if steps > 0 else 120
        event = QWheelEvent(QPointF(pos), QPointF(global_pos), QPoint(0, 0), QPoint(0, delta),
                            Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(widget, event)
    QApplication.processEvents()


def drag(qtbot, widget, button: Qt.MouseButton, start: QPoint, offset: QPoint, steps: int = 8,
         modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press, move in ``steps`` and release, with real mouse events through QTest."""
    qtbot.mousePress(widget, button, modifiers, start)
    for i in range(1, steps + 1):
        qtbot.wait(12)  # pyqtgraph drops move events closer than 10 ms
        qtbot.mouseMove(widget, start + QPoint(offset.x() * i // steps, offset.y() * i // steps))
    qtbot.wait(12)
    qtbot.mouseRelease(widget, button, modifiers, start + offset)
    QApplication.processEvents()
