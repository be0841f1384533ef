"""One axis of the TNM form (T, N or M): what the clinician enters, the category it gives with its
reasons, and the clinician's override with its required note."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from npc_desktop.core.tnm import Axis, CategoryCall

OVERRIDE_STYLE = "background: #6b4a12; color: #ffe6b3; padding: 2px 4px;"
NOTE_NEEDED = "An override needs a note saying why."
TITLES = {Axis.T: "T: primary tumour", Axis.N: "N: regional lymph nodes", Axis.M: "M: distant metastasis"}


class AxisSection(QGroupBox):
    """The entry of one axis above its derived category, reasons and override.

    Parameters
    ----------
    axis
        T, N or M.
    entry
        The widget the clinician enters the axis's evidence with.
    parent
        The owning widget.
    """

    override_requested = Signal(str, str)
    """category, note: override the derived category"""
    override_cleared = Signal()

    def __init__(self, axis: Axis, entry: QWidget, parent: Optional[QWidget] = None) -> None:
        super().__init__(TITLES[axis], parent)
        self.axis = axis
        self.setObjectName(f"axis{axis.value}")
        self.entry = entry
        self.value = QLabel(self)
        self.value.setObjectName(f"value{axis.value}")
        font = self.value.font()
        font.setBold(True)
        self.value.setFont(font)
        self.value.setWordWrap(True)
        self.reasons = QLabel(self)
        self.reasons.setObjectName(f"reasons{axis.value}")
        self.reasons.setWordWrap(True)
        self.reasons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.category = QComboBox(self)
        self.category.setObjectName(f"overrideCategory{axis.value}")
        self.category.setToolTip(f"Override the derived {axis.value} category")
        self.note = QLineEdit(self)
        self.note.setObjectName(f"overrideNote{axis.value}")
        self.note.setPlaceholderText("why (required)")
        self.note.setMaxLength(1000)
        self.apply = QPushButton("Override", self)
        self.apply.setObjectName(f"overrideApply{axis.value}")
        self.clear = QPushButton("Clear", self)
        self.clear.setObjectName(f"overrideClear{axis.value}")
        self.clear.setToolTip(f"Use the derived {axis.value} category again")
        self.hint = QLabel(self)
        self.hint.setObjectName(f"overrideHint{axis.value}")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #a0a3a8;")
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(QLabel("Override", self))
        row.addWidget(self.category)
        row.addWidget(self.note, 1)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.hint, 1)
        buttons.addWidget(self.apply)
        buttons.addWidget(self.clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(entry)
        layout.addWidget(self.value)
        layout.addWidget(self.reasons)
        layout.addLayout(row)
        layout.addLayout(buttons)
        self.category.currentIndexChanged.connect(lambda *_: self._update_buttons())
        self.note.textChanged.connect(lambda *_: self._update_buttons())
        self.note.returnPressed.connect(self._request)
        self.apply.clicked.connect(self._request)
        self.clear.clicked.connect(self.override_cleared)
        self._overridden = False

    def set_categories(self, codes: tuple[str, ...]) -> None:
        """The categories an override may choose (the edition's), first "none"."""
        wanted = ["choose…", *codes]
        if [self.category.itemText(i) for i in range(self.category.count())] != wanted:
            self.category.clear()
            self.category.addItems(wanted)

    def show_call(self, call: Optional[CategoryCall]) -> None:
        """Show the axis's category, its reasons (caveats and override included) and the override."""
        if call is None:
            self.value.setText(f"{self.axis.value}: —")
            self.reasons.setText("")
            self.value.setStyleSheet("")
            self._overridden = False
            self._update_buttons()
            return
        self._overridden = call.overridden
        if call.override is not None:
            derived = call.derived or "undetermined"
            self.value.setText(f"{call.value} (override by the clinician; derived {derived})")
            self.value.setStyleSheet(OVERRIDE_STYLE)
            self.setToolTip(f"Override note: {call.override.note}")
        else:
            self.value.setText(call.value or f"{self.axis.value} undetermined")
            self.value.setStyleSheet("")
            self.setToolTip("")
        self.reasons.setText("\n".join(call.explanation()))
        self._update_buttons()

    def reset_override_entry(self) -> None:
        """Empty the override's category and note (after it was applied, or for another study)."""
        self.category.setCurrentIndex(0)
        self.note.clear()

    def _request(self) -> None:
        if self.category.currentIndex() <= 0:
            self.hint.setText("Choose the category to override with.")
            return
        if not self.note.text().strip():
            self.hint.setText(NOTE_NEEDED)
            return
        self.override_requested.emit(self.category.currentText(), self.note.text().strip())

    def _update_buttons(self) -> None:
        chosen = self.category.currentIndex() > 0
        noted = bool(self.note.text().strip())
        self.apply.setEnabled(chosen and noted)
        self.clear.setEnabled(self._overridden)
        if chosen and not noted:
            self.hint.setText(NOTE_NEEDED)
        elif not chosen and noted:
            self.hint.setText("Choose the category to override with.")
        else:
            self.hint.setText("")
