"""The ROI list: every ROI of the current study; clicking one shows it. Below it, in the same dock,
the measurements section (:class:`~npc_desktop.gui.annotation.measurement_list_panel.MeasurementListPanel`)."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QSplitter,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.annotation_tree import annotation_tree, row_texts
from npc_desktop.gui.annotation.measurement_list_panel import MeasurementListPanel
from npc_desktop.gui.annotation.roi_kind_commands import change_roi_kind
from npc_desktop.gui.annotation.roi_style import KIND_COLOURS, KIND_NAMES
from npc_desktop.gui.annotation.roi_table import roi_rows

ID_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Kind", "Slice", "Size (w × h)", "Series")


def kind_icon(kind: RoiKind, size: int = 12) -> QIcon:
    """A filled square in the kind's colour, with a dark rim (the legend swatch)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(QColor(20, 20, 20))
    painter.setBrush(QColor(KIND_COLOURS[kind]))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


class RoiListPanel(QWidget):
    """A summary line and a table of the current study's ROIs, kept in step with the session.

    A click on a row (or Enter) shows that ROI and emits :attr:`roi_chosen`, so the window can give
    the keyboard back to the viewer: the arrow keys then move through the slices, not the rows.
    """

    roi_chosen = Signal(str)
    """The user clicked a row (or pressed Enter on it): the id of its ROI, now shown."""

    def __init__(self, session: AnnotationSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("roiListPanel")
        self.summary = QLabel(self)
        self.summary.setObjectName("roiSummary")
        self.summary.setWordWrap(True)
        self.tree = annotation_tree("roiList", COLUMNS, self)
        self.measurements = MeasurementListPanel(session, self)
        rois = QWidget(self)
        roi_layout = QVBoxLayout(rois)
        roi_layout.setContentsMargins(0, 0, 0, 0)
        roi_layout.setSpacing(4)
        roi_layout.addWidget(self.summary)
        roi_layout.addWidget(self.tree, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(rois)
        self.splitter.addWidget(self.measurements)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter, 1)
        self._icons = {kind: kind_icon(kind) for kind in RoiKind}
        self._items: dict[str, QTreeWidgetItem] = {}
        self._syncing = False
        self.menu: Optional[QMenu] = None
        a = session.annotations
        a.rois_changed.connect(lambda *_: self.refresh())
        a.current_study_changed.connect(lambda *_: self.refresh())
        a.selection_changed.connect(self._show_selection)
        session.study_indexed.connect(lambda *_: self.refresh())
        self.tree.itemClicked.connect(lambda item, _column: self._choose(item))
        self.tree.itemActivated.connect(lambda item, _column: self._choose(item))
        self.tree.currentItemChanged.connect(lambda item, _previous: self._activate(item))
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.refresh()

    def row_texts(self) -> list[list[str]]:
        """The text of every row, column by column (what the user reads)."""
        return row_texts(self.tree)

    def item_for(self, roi_id: str) -> Optional[QTreeWidgetItem]:
        """The row of a ROI."""
        return self._items.get(roi_id)

    def refresh(self) -> None:
        """Rebuild the rows from the session."""
        annotations = self.session.annotations.current
        self._syncing = True
        self.tree.clear()
        self._items.clear()
        if annotations is None:
            self.summary.setText("No study open" if self.session.index is None
                                 else "ROIs cannot be drawn on this study")
            self._syncing = False
            return
        rows = roi_rows(self.session.index, annotations.rois)
        for row in rows:
            item = QTreeWidgetItem([row.kind_text, row.slice_text, row.size_text, row.series_text])
            item.setIcon(0, self._icons[row.kind])
            item.setData(0, ID_ROLE, row.roi_id)
            item.setToolTip(3, row.series_text)
            for column in (1, 2):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
            self._items[row.roi_id] = item
        counts = {kind: sum(1 for r in rows if r.kind is kind) for kind in RoiKind}
        if rows:
            parts = ", ".join(f"{n} {KIND_NAMES[k].lower()}" for k, n in counts.items() if n)
            self.summary.setText(f"{len(rows)} ROI{'s' if len(rows) > 1 else ''} in this study: {parts}")
        else:
            self.summary.setText("No ROIs yet: choose Draw ROI (D) and drag on the image")
        self._syncing = False
        self._show_selection(self.session.annotations.selected_id)

    def _show_selection(self, roi_id: Optional[str]) -> None:
        self._syncing = True
        item = self._items.get(roi_id) if roi_id else None
        if item is None:
            self.tree.clearSelection()
            self.tree.setCurrentItem(None)
        else:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
        self._syncing = False

    def _activate(self, item: Optional[QTreeWidgetItem]) -> None:
        if self._syncing or item is None:
            return
        self.session.show_roi(item.data(0, ID_ROLE))

    def _choose(self, item: Optional[QTreeWidgetItem]) -> None:
        if item is None:
            return
        roi_id = item.data(0, ID_ROLE)
        self.session.show_roi(roi_id)
        self.roi_chosen.emit(roi_id)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        roi_id = item.data(0, ID_ROLE)
        annotations = self.session.annotations
        annotations.select(roi_id)
        roi = annotations.find(roi_id)
        menu = QMenu(self)
        menu.setObjectName("roiListMenu")
        for kind in RoiKind:
            action = menu.addAction(self._icons[kind], KIND_NAMES[kind])
            action.setCheckable(True)
            action.setChecked(roi is not None and roi.kind is kind)
            action.triggered.connect(lambda _=False, k=kind: change_roi_kind(
                annotations, roi_id, k, self.session.status_message.emit))
        menu.addSeparator()
        menu.addAction("Delete ROI").triggered.connect(lambda: annotations.delete_roi(roi_id))
        self.menu = menu
        menu.popup(self.tree.viewport().mapToGlobal(pos))
