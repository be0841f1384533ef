"""The toolbar's ROI kind chooser, which is also the colour legend: tumour (T), lymph node (N)."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.gui.annotation.annotation_session import AnnotationSession
from npc_desktop.gui.annotation.roi_list_panel import kind_icon
from npc_desktop.gui.annotation.roi_style import KIND_KEYS, KIND_NAMES


class RoiKindSelector(QComboBox):
    """Shows the kind the next drawn ROI gets; choosing one changes only that (not drawn ROIs)."""

    def __init__(self, session: AnnotationSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("roiKindSelector")
        for kind in RoiKind:
            self.addItem(kind_icon(kind, 14), f"{KIND_NAMES[kind]}  ({KIND_KEYS[kind]})", kind.value)
        self.setToolTip("Kind of the next ROI you draw. Keys: "
                        + ", ".join(f"{KIND_KEYS[k]} {KIND_NAMES[k].lower()}" for k in RoiKind)
                        + ". To change a drawn ROI: select it and press Shift+T or Shift+N, or right-click it")
        # Choosing from the list must leave the keyboard with the viewer (arrow keys = slices).
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._show(session.annotations.kind.value)
        self.activated.connect(lambda position: session.annotations.set_kind(RoiKind(self.itemData(position))))
        session.annotations.kind_changed.connect(self._show)

    def _show(self, value: str) -> None:
        self.blockSignals(True)
        self.setCurrentIndex(self.findData(value))
        self.blockSignals(False)
