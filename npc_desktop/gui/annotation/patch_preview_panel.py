"""The patch preview: the selected ROI's patch raw and after CLAHE, and the context margin setting."""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.patch_preview import PatchPreview
from npc_desktop.gui.annotation.roi_style import KIND_COLOURS

IMAGE_SIZE = 150
"""Side of each preview image in logical pixels (the patch is scaled to fit, aspect kept in mm)."""


def to_pixmap(image: np.ndarray, preview: PatchPreview, size: int) -> QPixmap:
    """A uint8 patch scaled to fit ``size`` (mm aspect), with the ROI outlined in its kind's colour."""
    data = np.ascontiguousarray(image, dtype=np.uint8)
    rows, cols = data.shape
    qimage = QImage(data.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()
    height_mm, width_mm = preview.size_mm
    scale = size / max(height_mm, width_mm)
    width, height = max(1, round(width_mm * scale)), max(1, round(height_mm * scale))
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    left, top = (size - width) / 2.0, (size - height) / 2.0
    target = QRectF(left, top, width, height)
    painter.drawImage(target, qimage)
    row0, col0, row1, col1 = preview.roi_in_patch
    sx, sy = width / cols, height / rows
    pen = QPen(QColor(KIND_COLOURS[preview.roi.kind]))
    pen.setWidthF(1.5)
    pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.drawRect(QRectF(left + col0 * sx, top + row0 * sy, (col1 - col0) * sx, (row1 - row0) * sy))
    painter.end()
    return pixmap


class PatchPreviewPanel(QWidget):
    """Shows the session's :attr:`~npc_desktop.gui.annotation.annotation_session.AnnotationSession.patch_preview` and edits the context margin."""

    def __init__(self, session: AnnotationSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("patchPreviewPanel")
        self.raw = self._image_label("patchRaw")
        self.enhanced = self._image_label("patchClahe")
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        for column, (title, label) in enumerate((("Raw", self.raw), ("CLAHE (model input)", self.enhanced))):
            caption = QLabel(title, self)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            grid.addWidget(caption, 0, column)
            grid.addWidget(label, 1, column)
        self.caption = QLabel(self)
        self.caption.setObjectName("patchCaption")
        self.caption.setWordWrap(True)
        self.fraction = QSpinBox(self)
        self.fraction.setObjectName("marginPercent")
        self.fraction.setRange(0, 200)
        self.fraction.setSingleStep(5)
        self.fraction.setSuffix(" %")
        self.fraction.setToolTip("Context margin on each side, as a share of the ROI's height and width")
        self.millimetres = QDoubleSpinBox(self)
        self.millimetres.setObjectName("marginMm")
        self.millimetres.setRange(0.0, 50.0)
        self.millimetres.setSingleStep(1.0)
        self.millimetres.setDecimals(1)
        self.millimetres.setSuffix(" mm")
        self.millimetres.setToolTip("Additional context margin on each side in millimetres")
        margin_row = QHBoxLayout()
        margin_row.addWidget(QLabel("Margin", self))
        margin_row.addWidget(self.fraction)
        margin_row.addWidget(QLabel("+", self))
        margin_row.addWidget(self.millimetres)
        margin_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(grid)
        layout.addWidget(self.caption)
        layout.addLayout(margin_row)
        layout.addStretch(1)
        self._show_margin(session.annotations.margin)
        self.fraction.valueChanged.connect(self._margin_edited)
        self.millimetres.valueChanged.connect(self._margin_edited)
        session.annotations.margin_changed.connect(self._show_margin)
        session.patch_preview_changed.connect(self.show_preview)
        self.show_preview(session.patch_preview)

    def _image_label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setFixedSize(QSize(IMAGE_SIZE, IMAGE_SIZE))
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        label.setStyleSheet("background: #000; border: 1px solid #3a3c41;")
        return label

    def show_preview(self, preview: object) -> None:
        """Show a :class:`PatchPreview`, or the sentence saying why there is none."""
        if isinstance(preview, PatchPreview):
            self.raw.setPixmap(to_pixmap(preview.raw, preview, IMAGE_SIZE))
            self.enhanced.setPixmap(to_pixmap(preview.enhanced, preview, IMAGE_SIZE))
            self.caption.setText(preview.caption)
        else:
            self.raw.clear()
            self.enhanced.clear()
            self.caption.setText(str(preview))

    def _show_margin(self, margin: ContextMargin) -> None:
        for box in (self.fraction, self.millimetres):
            box.blockSignals(True)
        self.fraction.setValue(round(margin.fraction * 100))
        self.millimetres.setValue(margin.mm)
        for box in (self.fraction, self.millimetres):
            box.blockSignals(False)

    def _margin_edited(self, *_: object) -> None:
        margin = ContextMargin(fraction=self.fraction.value() / 100.0, mm=self.millimetres.value())
        self.session.annotations.set_margin(margin)
