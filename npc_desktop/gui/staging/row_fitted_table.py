"""A read-only table that asks for the height of its rows and shrinks, scrolling, to a few of them."""

from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableWidget, QWidget

ROW_HEIGHT = 22


class RowFittedTable(QTableWidget):
    """A table whose preferred height shows every row and whose minimum shows ``min_rows`` of them.

    A layout short of room shrinks it towards the minimum and the rest of the rows scroll, so the
    table never overlaps its neighbours and never shows a fraction of a row fewer than asked for.

    Parameters
    ----------
    name
        Object name.
    headers
        Column headers.
    min_rows
        Rows that stay visible however little room the layout has (fewer when it has fewer rows).
    parent
        Parent widget.
    """

    def __init__(self, name: str, headers: Sequence[str], *, min_rows: int,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(0, len(headers), parent)
        self.setObjectName(name)
        self.min_rows = min_rows
        self.setHorizontalHeaderLabels(list(headers))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The first (name) column takes up the slack: a stretched last column ends up one
        # scroll-bar width too wide once the rows scroll, hiding its right-aligned values.
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        # The horizontal scroll bar comes and goes with the dock's width; the heights include it.
        self.horizontalScrollBar().rangeChanged.connect(lambda *_: self._refit())
        self.model().rowsInserted.connect(lambda *_: self._refit())
        self.model().rowsRemoved.connect(lambda *_: self._refit())
        self._refit()

    def height_for_rows(self, rows: int) -> int:
        """The widget height that shows the header and ``rows`` whole rows."""
        height = self.horizontalHeader().sizeHint().height() + rows * ROW_HEIGHT + 2 * self.frameWidth()
        if self.horizontalScrollBar().maximum() > 0:
            height += self.horizontalScrollBar().sizeHint().height()
        return height

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(super().sizeHint().width(), self.height_for_rows(max(self.rowCount(), 1)))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        rows = max(min(self.rowCount(), self.min_rows), 1)
        return QSize(super().minimumSizeHint().width(), self.height_for_rows(rows))

    def _refit(self) -> None:
        # Growing past its rows would only add empty space under the last one.
        self.setMaximumHeight(self.height_for_rows(max(self.rowCount(), 1)))
        self.updateGeometry()
