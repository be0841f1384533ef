"""A vertical scroll area for dock panels whose content has word-wrapped labels."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget


class WidthFittedScroll(QScrollArea):
    """Scrolls ``content`` vertically; the content always has the viewport's width and the height
    that width needs, so wrapped labels never overlap what follows them.

    Not QScrollArea's own resizing: with wrapped labels it gives the content its preferred height
    (every table row, say), so the whole panel scrolls where its tables should.

    Parameters
    ----------
    content
        The panel's content; its layout decides the height for a width.
    name
        The object name of the scroll area.
    parent
        The panel; it is told to update its geometry when the content's layout changes.
    """

    def __init__(self, content: QWidget, name: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)
        content.installEventFilter(self)
        self.viewport().installEventFilter(self)

    def minimum_content_width(self) -> int:
        """The width the panel needs so that the content is never clipped sideways."""
        return self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            panel = self.parentWidget()
            if panel is not None:
                panel.updateGeometry()
            self.fit_content()
        elif watched is self.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_content()
        return False

    def fit_content(self) -> None:
        """Give the content the viewport's width and the height that width needs (at least the
        viewport's height)."""
        content = self.widget()
        width = self.viewport().width()
        needed = content.layout().minimumHeightForWidth(width)
        if needed < 0:
            needed = content.minimumSizeHint().height()
        content.resize(width, max(self.viewport().height(), needed))
