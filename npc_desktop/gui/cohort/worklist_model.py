"""The worklist as a Qt table model, with a proxy that filters and sorts it."""

from __future__ import annotations

from typing import Any, Callable, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from npc_desktop.core.cohort.rows import WorklistRow, matches
from npc_desktop.gui.viewer.overlay import format_person_name

Index = QModelIndex | QPersistentModelIndex


def _yes(flag: bool) -> str:
    return "yes" if flag else "—"


def _date(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else (text or "—")


def _staged(row: WorklistRow) -> str:
    if not row.staged:
        return "—"
    return f"{row.ensemble_class or '?'}{' (stale)' if row.stale else ''}"


COLUMNS: tuple[tuple[str, Callable[[WorklistRow, bool], Any]], ...] = (
    ("Patient", lambda r, real: format_person_name(r.display_name(real_names=True)) if real else r.pseudonym),
    ("Date", lambda r, real: _date(r.study_date) if real else "—"),
    ("T1C", lambda r, real: _yes(r.t1c is not None)),
    ("T2", lambda r, real: _yes(r.t2 is not None)),
    ("Tumours", lambda r, real: r.tumours),
    ("Nodes", lambda r, real: r.nodes),
    ("Meas.", lambda r, real: r.measurements),
    ("Label", lambda r, real: r.label or "—"),
    ("TNM", lambda r, real: r.tnm_stage or "—"),
    ("Staged", lambda r, real: _staged(r)),
    ("Bundle", lambda r, real: r.bundle_hash[:12] if r.bundle_hash else "—"),
    ("Reviewer", lambda r, real: r.reviewer or "—"),
    ("Last edit", lambda r, real: r.last_edit.astimezone().strftime("%Y-%m-%d %H:%M") if r.last_edit else "—"),
)
"""Column titles and how each shows a row (the flag: real names shown)."""

_DISCORDANT = QColor(255, 220, 200)
_PROBLEM = QColor(255, 245, 190)


class WorklistModel(QAbstractTableModel):
    """The rows of the worklist; patients shown by pseudonym unless :attr:`real_names`."""

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.rows: list[WorklistRow] = []
        self.real_names = False

    def set_rows(self, rows: list[WorklistRow]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def replace_row(self, key: str, row: Optional[WorklistRow]) -> None:
        """Update the row with ``key`` (None removes it)."""
        position = next((i for i, r in enumerate(self.rows) if r.key == key), None)
        if position is None:
            return
        if row is None:
            self.beginRemoveRows(QModelIndex(), position, position)
            del self.rows[position]
            self.endRemoveRows()
            return
        self.rows[position] = row
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(COLUMNS) - 1))

    def set_real_names(self, on: bool) -> None:
        """Show the patients' names (True) or their pseudonyms."""
        self.beginResetModel()
        self.real_names = on
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return COLUMNS[index.column()][1](row, self.real_names)
        if role == Qt.ItemDataRole.BackgroundRole:
            if row.discordant:
                return QBrush(_DISCORDANT)
            if row.problems:
                return QBrush(_PROBLEM)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"Discordant: {row.discordance}"] if row.discordant else []
            lines += [f"{s.role}: {s.description or s.series_uid} ({s.images} images; {s.role_reason})"
                      for s in row.series]
            lines += [f"Problem: {p}" for p in row.problems]
            return "\n".join(lines)
        return None


class WorklistFilter(QSortFilterProxyModel):
    """Shows the rows that pass one filter (see :data:`npc_desktop.core.cohort.rows.FILTERS`)."""

    def __init__(self, source: WorklistModel, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.name: Optional[str] = None

    def set_filter(self, name: Optional[str]) -> None:
        """Filter by ``name`` (None shows every row)."""
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+: invalidateFilter() is deprecated
            self.beginFilterChange()
            self.name = name
            self.endFilterChange()
        else:
            self.name = name
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802 - Qt API
        model = self.sourceModel()
        assert isinstance(model, WorklistModel)
        return matches(model.rows[source_row], self.name)

    def row_at(self, proxy_row: int) -> WorklistRow:
        """The worklist row shown at ``proxy_row``."""
        model = self.sourceModel()
        assert isinstance(model, WorklistModel)
        return model.rows[self.mapToSource(self.index(proxy_row, 0)).row()]

    def visible_rows(self) -> list[WorklistRow]:
        """The rows shown, in the order shown."""
        return [self.row_at(i) for i in range(self.rowCount())]
