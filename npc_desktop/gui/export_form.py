"""The frame of an export dialog: a summary line, a form, a one-line error, Export and Cancel.

The report dialog (staging) and the patch-dataset dialog (research) fill the form with their own
fields; the frame checks the entries on Export, shows what is wrong in one line naming the field,
and remembers the settings only once they are valid.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

DIALOG_WIDTH = 620
ERROR_STYLE = "color: #ff8a65;"


def field_row(field: QWidget, *after: QWidget) -> QWidget:
    """``field`` stretched, followed by ``after`` (Browse and Clear buttons, a "+" and a second field)."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(field, 1)
    for widget in after:
        layout.addWidget(widget)
    return row


class ExportFormDialog(QDialog):
    """Base of the export dialogs (see the module docstring).

    Subclasses add their fields to :attr:`form`, call :meth:`finish` at the end of their
    ``__init__`` (the error line and the buttons exist from then on), and implement
    :meth:`problem` and :meth:`remember`.

    Parameters
    ----------
    name
        Prefix of the object names: ``<name>Dialog``, ``<name>Error``, ``<name>Export``.
    title
        The window title.
    summary
        What is exported, shown at the top.
    """

    def __init__(self, name: str, title: str, summary: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}Dialog")
        self.setWindowTitle(title)
        self._name = name
        self._summary_text = summary
        self.form = QFormLayout()

    def finish(self) -> None:
        """Add the summary, error line and buttons around the filled form; Tab then follows the
        form from the top, and the first field has the keyboard."""
        name = self._name
        self.summary = QLabel(self._summary_text, self)
        self.summary.setWordWrap(True)
        self.error = QLabel(self)
        self.error.setObjectName(f"{name}Error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName(f"{name}Export")
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        chain = [*self._form_fields(), self.export_button, cancel]
        for before, after in zip(chain, chain[1:]):
            QWidget.setTabOrder(before, after)
        chain[0].setFocus(Qt.FocusReason.OtherFocusReason)
        self.resize(DIALOG_WIDTH, self.sizeHint().height())

    def _form_fields(self) -> list[QWidget]:
        """The form's focusable widgets, top to bottom and left to right."""
        fields = []
        for row in range(self.form.rowCount()):
            item = self.form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            widget = item.widget() if item is not None else None
            if widget is None:
                continue
            layout = widget.layout()
            parts = [layout.itemAt(i).widget() for i in range(layout.count())] if layout is not None else [widget]
            fields.extend(w for w in parts if w is not None and w.focusPolicy() != Qt.FocusPolicy.NoFocus)
        return fields

    def problem(self) -> Optional[str]:
        """What is wrong with the entries (one line naming the field), or None."""
        raise NotImplementedError

    def remember(self) -> None:
        """Keep the valid entries in the settings for the next time."""
        raise NotImplementedError

    def accept(self) -> None:  # noqa: D102 - Qt API
        problem = self.problem()
        if problem is not None:
            self.error.setText(problem)
            self.error.show()
            return
        self.remember()
        super().accept()
