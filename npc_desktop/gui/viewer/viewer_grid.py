"""The central area: the viewports side by side (two-up) or the active one alone (one-up)."""

from __future__ import annotations

from typing import Mapping, Optional

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from npc_desktop.gui.viewer.slice_viewport import LayerFactory, SliceViewport
from npc_desktop.gui.viewer.viewer_session import VIEWPORT_COUNT, ViewerSession


class ViewerGrid(QWidget):
    """Holds one :class:`SliceViewport` per session slot in a splitter."""

    image_shown = Signal()
    """Some viewport painted a newly loaded image."""

    def __init__(self, session: ViewerSession, parent: Optional[QWidget] = None, *,
                 layers: Mapping[str, LayerFactory] = {}) -> None:  # noqa: B006 - read only
        """``layers``: the overlay layers every viewport gets, by name (see :class:`SliceViewport`)."""
        super().__init__(parent)
        self.session = session
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(4)
        self.viewports = [SliceViewport(session, i, self.splitter, layers=layers) for i in range(VIEWPORT_COUNT)]
        for viewport in self.viewports:
            self.splitter.addWidget(viewport)
            viewport.image_shown.connect(self.image_shown)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        session.layout_changed.connect(self._on_layout)
        session.active_viewport_changed.connect(self._arrange)
        self._arrange()

    def _on_layout(self, count: int) -> None:
        self._arrange()
        if count > 1:
            share = max(self.splitter.width() // len(self.viewports), 1)
            self.splitter.setSizes([share] * len(self.viewports))

    def _arrange(self, *_: object) -> None:
        two_up = self.session.layout > 1
        for i, viewport in enumerate(self.viewports):
            viewport.setVisible(two_up or i == self.session.active)

    def active_viewport(self) -> SliceViewport:
        """The viewport keys and presets act on."""
        return self.viewports[self.session.active]

    def save_state(self) -> QByteArray:
        """Splitter sizes, for QSettings."""
        return self.splitter.saveState()

    def restore_state(self, state: QByteArray) -> None:
        """Restore splitter sizes saved by :meth:`save_state`."""
        self.splitter.restoreState(state)
