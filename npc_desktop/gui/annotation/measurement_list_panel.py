"""The measurements section of the ROI dock: rulers, node axes and the cricoid level of the current
study; clicking one shows its slice."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.annotation_tree import annotation_tree, row_texts
from npc_desktop.gui.annotation.measure_style import AXES_COLOUR, CRICOID_COLOUR, RULER_COLOUR
from npc_desktop.gui.annotation.measurement_table import measurement_rows

ID_ROLE = Qt.ItemDataRole.UserRole
MIN_TREE_HEIGHT = 8
"""The table may shrink to almost nothing (the splitter above it gives it room), so the section adds
next to nothing to the window's minimum height."""
COLUMNS = ("Measurement", "Value", "Slice", "Series")
_COLOURS = {"ruler": RULER_COLOUR, "node_axes": AXES_COLOUR, "cricoid_level": CRICOID_COLOUR}
_DELETE_TEXT = {"ruler": "Delete Ruler", "node_axes": "Delete Node Axes", "cricoid_level": "Delete Cricoid Level"}


def _swatch(colour: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(QColor(colour))
    painter.drawLine(1, size - 2, size - 2, 1)
    painter.drawLine(1, size - 1, size - 1, 1)
    painter.end()
    return QIcon(pixmap)


class MeasurementListPanel(QWidget):
    """A heading and a table of the current study's measurements, kept in step with the session.

    A click on a row (or Enter) shows that measurement's slice and emits
    :attr:`measurement_chosen`, so the window gives the keyboard back to the viewer.
    """

    measurement_chosen = Signal(str)
    """The user clicked a row (or pressed Enter on it): the id of its measurement, now shown."""

    def __init__(self, session: AnnotationSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("measurementListPanel")
        self.summary = QLabel(self)
        self.summary.setObjectName("measurementSummary")
        self.summary.setWordWrap(True)
        self.tree = annotation_tree("measurementList", COLUMNS, self)
        self.tree.setMinimumHeight(MIN_TREE_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        self._icons = {kind: _swatch(colour) for kind, colour in _COLOURS.items()}
        self._items: dict[str, QTreeWidgetItem] = {}
        self._kinds: dict[str, str] = {}
        self._syncing = False
        self.menu: Optional[QMenu] = None
        a = session.annotations
        for signal in (a.rois_changed, a.measurements_changed, a.current_study_changed, session.study_indexed):
            signal.connect(lambda *_: self.refresh())
        a.measurement_selection_changed.connect(self._show_selection)
        self.tree.itemClicked.connect(lambda item, _column: self._choose(item))
        self.tree.itemActivated.connect(lambda item, _column: self._choose(item))
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.refresh()

    def row_texts(self) -> list[list[str]]:
        """The text of every row, column by column (what the user reads)."""
        return row_texts(self.tree)

    def item_for(self, item_id: str) -> Optional[QTreeWidgetItem]:
        """The row of a measurement."""
        return self._items.get(item_id)

    def refresh(self) -> None:
        """Rebuild the rows from the session."""
        annotations = self.session.annotations.current
        self._syncing = True
        self.tree.clear()
        self._items.clear()
        self._kinds.clear()
        rows = measurement_rows(self.session.index, annotations) if annotations is not None else []
        for row in rows:
            item = QTreeWidgetItem([row.name_text, row.value_text, row.slice_text, row.series_text])
            item.setIcon(0, self._icons[row.kind])
            item.setData(0, ID_ROLE, row.item_id)
            item.setToolTip(3, row.series_text)
            for column in (1, 2):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)
            self._items[row.item_id] = item
            self._kinds[row.item_id] = row.kind
        if rows:
            self.summary.setText(f"Measurements ({len(rows)})")
        else:
            self.summary.setText("Measurements: none yet (Measure Distance M, Node Axes A, Cricoid Level L)")
        self._syncing = False
        self._show_selection(self.session.annotations.selected_measurement_id)

    def _show_selection(self, item_id: Optional[str]) -> None:
        self._syncing = True
        item = self._items.get(item_id) if item_id else None
        if item is None:
            self.tree.clearSelection()
            self.tree.setCurrentItem(None)
        else:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
        self._syncing = False

    def _choose(self, item: Optional[QTreeWidgetItem]) -> None:
        if item is None:
            return
        item_id = item.data(0, ID_ROLE)
        self.session.show_measurement(item_id)
        self.measurement_chosen.emit(item_id)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        item_id = item.data(0, ID_ROLE)
        annotations = self.session.annotations
        annotations.select_measurement(item_id)
        menu = QMenu(self)
        menu.setObjectName("measurementListMenu")
        delete = menu.addAction(_DELETE_TEXT[self._kinds[item_id]])
        delete.setObjectName("deleteMeasurement")
        delete.triggered.connect(lambda: annotations.delete_measurement(item_id))
        self.menu = menu
        menu.popup(self.tree.viewport().mapToGlobal(pos))
