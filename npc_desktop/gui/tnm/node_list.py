"""The lymph-node ROIs of the TNM form: side and retropharyngeal flag per node, with its long axis
and whether it lies below the cricoid (both read-only, from the measurements)."""

from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QPushButton, QWidget

from npc_desktop.gui.tnm.findings_checklist import SIDE_CHOICES
from npc_desktop.gui.tnm.tnm_view import NodeRow

NO_NODES_TEXT = ("No lymph-node ROIs. Mark a ROI as a lymph node (N) to add it here, or check "
                 "\"Neck reviewed\" when the neck holds no involved node.")


class NodeList(QWidget):
    """Two lines per node ROI: its name (a click shows it), side and retropharyngeal flag; then
    its long axis and its level against the cricoid."""

    side_chosen = Signal(str, object)
    """ROI id, the Side chosen (or None)"""
    retropharyngeal_toggled = Signal(str, bool)
    """ROI id, whether it is retropharyngeal"""
    node_chosen = Signal(str)
    """ROI id: show that ROI"""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("nodeList")
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(2)
        self._grid.setColumnStretch(3, 1)
        self.side_boxes: dict[str, QComboBox] = {}
        self.retro_boxes: dict[str, QCheckBox] = {}
        self.details: dict[str, QLabel] = {}
        self.name_buttons: dict[str, QPushButton] = {}
        self._ids: tuple[str, ...] = ()
        self._empty = QLabel(NO_NODES_TEXT, self)
        self._empty.setObjectName("noNodes")
        self._empty.setWordWrap(True)
        self._grid.addWidget(self._empty, 0, 0, 1, 4)

    def show_rows(self, rows: Sequence[NodeRow]) -> None:
        """Show ``rows``; the widgets are rebuilt only when the nodes themselves change."""
        ids = tuple(row.roi_id for row in rows)
        if ids != self._ids:
            self._rebuild(rows)
        for row in rows:
            side = self.side_boxes[row.roi_id]
            side.setCurrentIndex(next(i for i, (_, s) in enumerate(SIDE_CHOICES) if s == row.side))
            retro = self.retro_boxes[row.roi_id]
            retro.blockSignals(True)
            retro.setChecked(row.retropharyngeal)
            retro.blockSignals(False)
            self.details[row.roi_id].setText(f"long axis {row.long_axis} · below cricoid: {row.below_cricoid}")

    def _rebuild(self, rows: Sequence[NodeRow]) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None and item.widget() is not self._empty:
                item.widget().hide()
                item.widget().deleteLater()
        self.side_boxes.clear()
        self.retro_boxes.clear()
        self.details.clear()
        self.name_buttons.clear()
        self._ids = tuple(row.roi_id for row in rows)
        self._empty.setVisible(not rows)
        if not rows:
            self._grid.addWidget(self._empty, 0, 0, 1, 4)
        for index, row in enumerate(rows):
            line = 2 * index
            name = QPushButton(row.label, self)
            name.setObjectName(f"node_{index + 1}")
            name.setFlat(True)
            name.setToolTip(f"Show {row.label}'s ROI")
            name.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            name.clicked.connect(lambda _=False, rid=row.roi_id: self.node_chosen.emit(rid))
            side = QComboBox(self)
            side.setObjectName(f"nodeSide_{index + 1}")
            side.setToolTip(f"The side of the neck {row.label} lies on (midline counts as ipsilateral)")
            for text, value in SIDE_CHOICES:
                side.addItem(text, value)
            side.activated.connect(lambda i, rid=row.roi_id, box=side: self.side_chosen.emit(rid, box.itemData(i)))
            retro = QCheckBox("retropharyngeal", self)
            retro.setObjectName(f"nodeRetro_{index + 1}")
            retro.setToolTip(f"{row.label} is a retropharyngeal node (unchecked: cervical)")
            retro.toggled.connect(lambda on, rid=row.roi_id: self.retropharyngeal_toggled.emit(rid, on))
            detail = QLabel(self)
            detail.setObjectName(f"nodeDetail_{index + 1}")
            detail.setWordWrap(True)
            detail.setStyleSheet("color: #a0a3a8;")
            self._grid.addWidget(name, line, 0)
            self._grid.addWidget(side, line, 1)
            self._grid.addWidget(retro, line, 2, 1, 2)
            self._grid.addWidget(detail, line + 1, 0, 1, 4)
            self.side_boxes[row.roi_id] = side
            self.retro_boxes[row.roi_id] = retro
            self.details[row.roi_id] = detail
            self.name_buttons[row.roi_id] = name

