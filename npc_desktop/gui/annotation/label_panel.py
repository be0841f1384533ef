"""The patient label: stage III / IVa / unknown, reviewer and note of the current study, and whether
the stage was filled from the TNM stage group."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QWidget,
)

from npc_desktop.core.annotation.labels import PatientLabel, Stage
from npc_desktop.gui.annotation.annotation_session import AnnotationSession

NOTE_IDLE_MS = 1200
"""A note is stored after this pause in typing (or when the editor loses focus), not per key."""
STAGE_TEXT = {Stage.UNKNOWN: "Unknown", Stage.III: "III", Stage.IVA: "IVa"}


class PatientLabelPanel(QWidget):
    """Edits the current study's :class:`PatientLabel` through the session (each edit undoable)."""

    def __init__(self, session: AnnotationSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("labelPanel")
        self.stage_buttons: dict[Stage, QRadioButton] = {}
        self.stage_group = QButtonGroup(self)
        stages = QWidget(self)
        row = QHBoxLayout(stages)
        row.setContentsMargins(0, 0, 0, 0)
        for stage in (Stage.III, Stage.IVA, Stage.UNKNOWN):
            button = QRadioButton(STAGE_TEXT[stage], stages)
            button.setObjectName(f"stage_{stage.value}")
            button.setToolTip(f"Patient stage: {STAGE_TEXT[stage]}")
            # A click sets the stage without taking the keyboard: the arrow keys stay with the
            # viewer's slices instead of moving the stage (Tab still reaches the buttons).
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            self.stage_group.addButton(button)
            self.stage_buttons[stage] = button
            row.addWidget(button)
        row.addStretch(1)
        self.reviewer = QLineEdit(self)
        self.reviewer.setObjectName("reviewerEdit")
        self.reviewer.setPlaceholderText("initials or user name")
        self.reviewer.setMaxLength(64)
        self.note = QPlainTextEdit(self)
        self.note.setObjectName("noteEdit")
        self.note.setPlaceholderText("Findings, reasoning (no patient identifiers)")
        self.note.setTabChangesFocus(True)
        self.status = QLabel(self)
        self.status.setObjectName("labelStatus")
        self.status.setWordWrap(True)
        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        form.addRow("Stage", stages)
        form.addRow("Reviewer", self.reviewer)
        form.addRow("Note", self.note)
        form.addRow(self.status)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(NOTE_IDLE_MS)
        self._timer.timeout.connect(self.commit_note)
        self._showing = False
        self.stage_group.buttonToggled.connect(self._on_stage)
        self.reviewer.editingFinished.connect(self._on_reviewer)
        self.note.textChanged.connect(self._on_note_typed)
        self.note.installEventFilter(self)
        a = session.annotations
        a.current_study_changed.connect(lambda *_: self.show_current())
        a.label_changed.connect(self._on_label_changed)
        a.about_to_change_history.connect(self.commit_pending)
        a.about_to_change_study.connect(self.commit_pending)
        self.show_current()

    # -- model -> view ----------------------------------------------------------------------------

    def show_current(self) -> None:
        """Show the label of the current study (or disable the panel when there is none, or when
        the study is read-only here)."""
        model = self.session.annotations
        annotations = model.current
        read_only = model.read_only_reason(model.current_uid)
        self.setEnabled(annotations is not None and read_only is None)
        self._show(annotations.label if annotations is not None else PatientLabel())
        if read_only is not None:
            self.status.setText("Read-only: " + read_only)

    def _on_label_changed(self, study_uid: str, label: PatientLabel) -> None:
        if study_uid == self.session.annotations.current_uid:
            self._show(label)

    def _show(self, label: PatientLabel) -> None:
        self._showing = True
        self.stage_buttons[label.stage].setChecked(True)
        if self.reviewer.text() != (label.reviewer or ""):
            self.reviewer.setText(label.reviewer or "")
        if self.note.toPlainText() != label.note:
            self._timer.stop()
            self.note.setPlainText(label.note)
            cursor = self.note.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            self.note.setTextCursor(cursor)
        self._showing = False
        if label == PatientLabel(modified=label.modified):
            self.status.setText("Not labelled yet")
            return
        when = label.modified.astimezone().strftime("%Y-%m-%d %H:%M")
        by = f" by {label.reviewer}" if label.reviewer else ""
        origin = f" from TNM stage {label.tnm_stage}" if label.tnm_stage is not None else ""
        self.status.setText(f"Stage {STAGE_TEXT[label.stage]}{origin}, set {when}{by}")
        self.status.setToolTip("Filled from the study's TNM stage group; choosing a stage by hand makes it your own"
                               if origin else "")

    # -- view -> model ----------------------------------------------------------------------------

    def _on_stage(self, button: QRadioButton, checked: bool) -> None:
        if checked and not self._showing:
            stage = next(s for s, b in self.stage_buttons.items() if b is button)
            self.session.annotations.set_label(stage=stage)

    def _on_reviewer(self) -> None:
        if not self._showing:
            self.session.annotations.set_label(reviewer=self.reviewer.text())

    def _on_note_typed(self) -> None:
        if not self._showing:
            self._timer.start()

    def commit_note(self) -> None:
        """Store the note as typed so far (one undo step)."""
        self._timer.stop()
        if self.isEnabled():
            self.session.annotations.set_label(note=self.note.toPlainText())

    def commit_pending(self) -> None:
        """Store what is typed but not stored yet (before undo/redo, a change of study, closing
        the window, and on focus loss)."""
        if self._timer.isActive():
            self.commit_note()
        if self.reviewer.isModified():
            self.reviewer.setModified(False)
            self._on_reviewer()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.note and event.type() == QEvent.Type.FocusOut and self._timer.isActive():
            self.commit_note()
        return super().eventFilter(watched, event)
