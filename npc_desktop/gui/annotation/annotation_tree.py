"""The table the ROI and measurement lists share: one row per annotation, one selection."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QWidget


def annotation_tree(name: str, columns: Sequence[str], parent: QWidget) -> QTreeWidget:
    """A flat, single-selection table with a context menu; the last column takes the spare width.

    A click does not take the keyboard from the viewer (the slice keys stay there); Tab still
    reaches the table.
    """
    tree = QTreeWidget(parent)
    tree.setObjectName(name)
    tree.setColumnCount(len(columns))
    tree.setHeaderLabels(list(columns))
    tree.setRootIsDecorated(False)
    tree.setAlternatingRowColors(True)
    tree.setUniformRowHeights(True)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    tree.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    header = tree.header()
    header.setStretchLastSection(False)
    for column in range(len(columns) - 1):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(len(columns) - 1, QHeaderView.ResizeMode.Stretch)
    return tree


def row_texts(tree: QTreeWidget) -> list[list[str]]:
    """The text of every row, column by column (what the user reads)."""
    return [[tree.topLevelItem(i).text(c) for c in range(tree.columnCount())]
            for i in range(tree.topLevelItemCount())]
