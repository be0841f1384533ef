"""The study browser: patients > studies > series with thumbnails of the middle slice."""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QMenu, QStyle, QTreeWidget, QTreeWidgetItem, QWidget

from npc_desktop.core.dicom import SeriesInfo, StudyIndex
from npc_desktop.gui.viewer.overlay import format_date, format_person_name
from npc_desktop.gui.viewer.viewer_session import VIEWPORT_COUNT, ViewerSession

KEY_ROLE = Qt.ItemDataRole.UserRole
ICON_SIZE = 56
VIEWPORT_NAMES = ("left", "right")


def _placeholder_icon() -> QIcon:
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(QColor(40, 40, 40))
    return QIcon(pixmap)


class StudyBrowser(QTreeWidget):
    """Lists the open study; double-click (or Enter) shows a series in the active viewport."""

    def __init__(self, session: ViewerSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("studyBrowser")
        self.setColumnCount(1)
        self.setHeaderHidden(True)
        self.setIndentation(14)
        self.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.setUniformRowHeights(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setExpandsOnDoubleClick(False)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._series: dict[str, SeriesInfo] = {}
        self._placeholder = _placeholder_icon()
        self._no_image = self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        self.itemActivated.connect(self._on_activated)
        self.customContextMenuRequested.connect(self._on_context_menu)
        session.study_indexed.connect(self._on_study)
        session.thumbnail_ready.connect(self._on_thumbnail)
        session.series_loaded.connect(self._update_shown)
        session.viewport_cleared.connect(self._update_shown)

    def item_for(self, key: str) -> Optional[QTreeWidgetItem]:
        """The tree item of a series, by key."""
        return self._items.get(key)

    def _on_study(self, index: StudyIndex) -> None:
        self.clear()
        self._items.clear()
        self._series.clear()
        bold = QFont(self.font())
        bold.setBold(True)
        for patient in index.patients:
            patient_item = QTreeWidgetItem([f"{format_person_name(patient.name)}\nID {patient.patient_id or '-'}"])
            patient_item.setFont(0, bold)
            self.addTopLevelItem(patient_item)
            for study in patient.studies:
                label = format_date(study.date) or "no date"
                label += f"\n{study.description}" if study.description else ""
                study_item = QTreeWidgetItem(patient_item, [label])
                study_item.setToolTip(0, f"StudyInstanceUID {study.study_instance_uid}")
                for series in study.series:
                    self._add_series(study_item, series)
        self.expandAll()

    def _add_series(self, parent: QTreeWidgetItem, series: SeriesInfo) -> None:
        item = QTreeWidgetItem(parent)
        item.setData(0, KEY_ROLE, series.key)
        self._items[series.key] = item
        self._series[series.key] = series
        self._set_series_text(item, series, [])
        tips = [f"SeriesInstanceUID {series.series_instance_uid}"]
        if series.matrix:
            tips.append(f"matrix {series.matrix[1]} × {series.matrix[0]}")
        if series.is_image:
            item.setIcon(0, self._placeholder)
            tips.append("Double-click to show it in the active viewport")
        else:
            item.setForeground(0, QBrush(QColor(130, 130, 130)))
            item.setIcon(0, self._no_image)
            tips.append("not an image series: nothing to display")
        tips.extend(f"warning: {w}" for w in series.warnings)
        item.setToolTip(0, "\n".join(tips))

    @staticmethod
    def _set_series_text(item: QTreeWidgetItem, series: SeriesInfo, shown: list[str]) -> None:
        title = series.description or "(no description)"
        if series.series_number is not None:
            title = f"{series.series_number}  {title}"
        unit = "image" if series.is_image else "object"
        plural = "" if series.image_count == 1 else "s"
        details = f"{series.modality}  ·  {series.image_count} {unit}{plural}"
        if series.warnings:
            details += "  ·  warnings"
        if shown:
            details += "  ·  in " + " + ".join(shown)
        item.setText(0, f"{title}\n{details}")
        font = item.font(0)
        font.setBold(bool(shown))
        item.setFont(0, font)

    def _on_thumbnail(self, key: str, image: np.ndarray) -> None:
        item = self._items.get(key)
        if item is None:
            return
        image = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = image.shape
        qimage = QImage(image.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
        canvas = QPixmap(ICON_SIZE, ICON_SIZE)
        canvas.fill(QColor(0, 0, 0))
        scaled = QPixmap.fromImage(qimage).scaled(
            ICON_SIZE, ICON_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        painter = QPainter(canvas)
        painter.drawPixmap((ICON_SIZE - scaled.width()) // 2, (ICON_SIZE - scaled.height()) // 2, scaled)
        painter.end()
        item.setIcon(0, QIcon(canvas))

    def _update_shown(self, *_: object) -> None:
        shown: dict[str, list[str]] = {}
        for vp in range(VIEWPORT_COUNT):
            key = self.session.viewports[vp].series_key
            if key is not None and self.session.viewports[vp].loaded is not None:
                shown.setdefault(key, []).append(VIEWPORT_NAMES[vp])
        for key, item in self._items.items():
            self._set_series_text(item, self._series[key], shown.get(key, []))

    def _on_activated(self, item: QTreeWidgetItem, column: int) -> None:
        key = item.data(0, KEY_ROLE)
        if key:
            self.session.load_series(key)

    def _on_context_menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        key = item.data(0, KEY_ROLE) if item is not None else None
        if not key:
            return
        menu = QMenu(self)
        for vp in range(VIEWPORT_COUNT):
            action = menu.addAction(f"Show in {VIEWPORT_NAMES[vp]} viewport")
            action.triggered.connect(lambda _=False, v=vp: self._show_in(key, v))
        menu.popup(self.viewport().mapToGlobal(pos))

    def _show_in(self, key: str, vp: int) -> None:
        if vp > 0:
            self.session.set_layout(2)
        self.session.set_active(vp)
        self.session.load_series(key, vp)

