"""Controls of the CLAHE preview: on/off, clip limit, tile grid."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from npc_desktop.gui.state import ClaheSettings
from npc_desktop.gui.viewer.viewer_session import ViewerSession


class ClahePanel(QWidget):
    """Edits the session's :class:`ClaheSettings`; follows it when changed elsewhere."""

    def __init__(self, session: ViewerSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("clahePanel")
        self.enabled = QCheckBox("CLAHE", self)
        self.enabled.setToolTip(
            "Preview the slice after contrast-limited adaptive histogram equalisation, "
            "as the staging pipeline sees it (C)")
        self.clip = QDoubleSpinBox(self)
        self.clip.setRange(0.1, 40.0)
        self.clip.setSingleStep(0.5)
        self.clip.setDecimals(1)
        self.clip.setToolTip("Clip limit: higher values enhance contrast more (and noise)")
        self.tiles = QSpinBox(self)
        self.tiles.setRange(1, 32)
        self.tiles.setToolTip("Tile grid: the image is equalised in N × N tiles")
        self.tiles.setSuffix(" × n")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.enabled)
        layout.addWidget(QLabel("clip", self))
        layout.addWidget(self.clip)
        layout.addWidget(QLabel("tiles", self))
        layout.addWidget(self.tiles)
        self._show(session.clahe)
        self.enabled.toggled.connect(self._changed)
        self.clip.valueChanged.connect(self._changed)
        self.tiles.valueChanged.connect(self._changed)
        session.clahe_changed.connect(self._show)

    def _show(self, settings: ClaheSettings) -> None:
        for widget in (self.enabled, self.clip, self.tiles):
            widget.blockSignals(True)
        self.enabled.setChecked(settings.enabled)
        self.clip.setValue(settings.clip_limit)
        self.tiles.setValue(settings.tile_grid)
        self.tiles.setSuffix(f" × {settings.tile_grid}")
        for widget in (self.enabled, self.clip, self.tiles):
            widget.blockSignals(False)

    def _changed(self, *_: object) -> None:
        self.tiles.setSuffix(f" × {self.tiles.value()}")
        self.session.set_clahe(ClaheSettings(self.enabled.isChecked(), self.clip.value(), self.tiles.value()))
