"""The T checklist: the edition's anatomical findings grouped by T category, and the primary's side."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QWidget

from npc_desktop.core.tnm import Axis, EditionTable, Side

SIDE_CHOICES: tuple[tuple[str, Optional[Side]], ...] = (
    ("not set", None), ("left", Side.LEFT), ("right", Side.RIGHT), ("midline", Side.MIDLINE))
"""The side choices of the primary tumour and of each node, as the combo boxes list them."""


class FindingsChecklist(QWidget):
    """Check boxes for the findings of an edition's T checklist, and the primary tumour's side.

    A finding's wording wraps beside its box; clicking the wording toggles the box too.
    """

    finding_toggled = Signal(str, bool)
    """finding id, checked"""
    primary_side_chosen = Signal(object)
    """the Side chosen for the primary tumour, or None"""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("findingsChecklist")
        self.boxes: dict[str, QCheckBox] = {}
        self._texts: dict[QLabel, QCheckBox] = {}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(4)
        self._grid.setVerticalSpacing(2)
        self._grid.setColumnStretch(1, 1)
        self.primary_side = QComboBox(self)
        self.primary_side.setObjectName("primarySide")
        self.primary_side.setToolTip("The primary tumour's side: midline nodes count on this side")
        for text, side in SIDE_CHOICES:
            self.primary_side.addItem(text, side)
        self.primary_side.activated.connect(lambda index: self.primary_side_chosen.emit(
            self.primary_side.itemData(index)))
        self._table: Optional[EditionTable] = None

    def set_edition(self, table: EditionTable) -> None:
        """List the findings of ``table``, grouped by category (rebuilt only when the edition changes)."""
        if table is self._table:
            return
        self._table = table
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None and item.widget() is not self.primary_side:
                item.widget().hide()
                item.widget().deleteLater()
        self.boxes.clear()
        self._texts.clear()
        row = 0
        side_label = QLabel("Primary tumour side", self)
        self._grid.addWidget(side_label, row, 0, 1, 2)
        self._grid.addWidget(self.primary_side, row, 2)
        row += 1
        definitions = {c.code: c.definition for c in table.t}
        for code in table.codes(Axis.T):
            findings = [f for f in table.findings if f.category == code]
            if not findings:
                continue
            heading = QLabel(f"<b>{code}</b>", self)
            heading.setToolTip(definitions[code])
            self._grid.addWidget(heading, row, 0, 1, 3)
            row += 1
            for finding in findings:
                box = QCheckBox(self)
                box.setObjectName(f"finding_{finding.id}")
                box.setToolTip(f"{finding.label} ({code})")
                box.toggled.connect(lambda on, fid=finding.id: self.finding_toggled.emit(fid, on))
                text = QLabel(finding.label, self)
                text.setWordWrap(True)
                text.installEventFilter(self)
                self._texts[text] = box
                self.boxes[finding.id] = box
                self._grid.addWidget(box, row, 0, Qt.AlignmentFlag.AlignTop)
                self._grid.addWidget(text, row, 1, 1, 2)
                row += 1

    def show_form(self, findings: frozenset[str], primary_side: Optional[Side]) -> None:
        """Show the checked findings and the primary's side without announcing them as edits."""
        for finding_id, box in self.boxes.items():
            box.blockSignals(True)
            box.setChecked(finding_id in findings)
            box.blockSignals(False)
        self.primary_side.setCurrentIndex(next(i for i, (_, s) in enumerate(SIDE_CHOICES) if s == primary_side))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        box = self._texts.get(watched)  # type: ignore[call-overload]
        if box is not None and event.type() == QEvent.Type.MouseButtonRelease and box.isEnabled():
            box.toggle()
            return True
        return super().eventFilter(watched, event)
