"""The staging results dock: patient stage and agreement, patches, members, Grad-CAM, bundle."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.gui.fitted_scroll import WidthFittedScroll
from npc_desktop.gui.staging import staging_view
from npc_desktop.gui.staging.cam_controls import CamControls
from npc_desktop.gui.staging.row_fitted_table import RowFittedTable
from npc_desktop.gui.staging.staging_restore import stored_note
from npc_desktop.gui.staging.staging_session import StagingSession
from npc_desktop.gui.staging.staging_state import StagedResult

EMPTY_TEXT = ("No staging result yet.\n\nDraw tumour and lymph-node ROIs, then press Stage (Ctrl+R) to "
              "stage them with the five-model ensemble.")
STALE_TEXT = "The ROIs changed after staging: these results are out of date. Stage again (Ctrl+R)."
SPLIT_COLOUR = QColor(255, 190, 90)
HEADLINE_SCALE = 1.4
PATCH_ROWS_ALWAYS_SHOWN = 3
MEMBER_ROWS_ALWAYS_SHOWN = 3
DISSENT_COLOUR = QColor(255, 160, 120)
TNM_DISCORDANT_STYLE = "background: #7a1f12; color: #ffe0d6; font-weight: bold; padding: 3px;"


def _item(text: str, *, align_right: bool = False, colour: Optional[QColor] = None, bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if colour is not None:
        item.setForeground(colour)
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item


class ResultsPanel(QWidget):
    """Shows the session's last staging result; clicking a patch shows its ROI and its members.

    A click on a patch row shows its ROI and emits :attr:`roi_chosen`, so the window can give the
    keyboard back to the viewer (the table still takes the keyboard with Tab).
    """

    roi_chosen = Signal(str)
    """The user clicked a patch row: the id of its ROI, now shown."""

    def __init__(self, session: StagingSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsPanel")
        self.session = session
        self.banner = QLabel(UNTRAINED_LABEL, self)
        self.banner.setObjectName("untrainedBanner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet("background: #7a1f12; color: #ffe0d6; font-weight: bold; padding: 4px;")
        self.banner.setToolTip("The members have random weights: the numbers show how the workflow runs, "
                               "they say nothing about the patient.")
        self.stale_note = QLabel(STALE_TEXT, self)
        self.stale_note.setObjectName("staleNote")
        self.stale_note.setWordWrap(True)
        self.stale_note.setStyleSheet("color: #ffbe5a; font-style: italic;")
        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setObjectName("resultsEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.stage_button = QPushButton("Stage ROIs", self)
        self.stage_button.setObjectName("stageButton")
        self.stage_button.setToolTip("Stage every ROI of the study (Ctrl+R)")
        self.stage_label = QLabel(self)
        self.stage_label.setObjectName("patientStage")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * HEADLINE_SCALE)
        font.setBold(True)
        self.stage_label.setFont(font)
        self.stage_label.setWordWrap(True)
        self.agreement_label = QLabel(self)
        self.agreement_label.setObjectName("patientAgreement")
        self.agreement_label.setWordWrap(True)
        self.tnm_line = QLabel(self)
        self.tnm_line.setObjectName("tnmLine")
        self.tnm_line.setWordWrap(True)
        self.tnm_line.setToolTip("The TNM stage group of the study's TNM form (TNM dock) beside the ensemble's class")
        self.tnm_discordant = False
        self.patches = RowFittedTable("patchTable", ["Patch", "Slice", "Class", "P", "P", "Agree"],
                                      min_rows=PATCH_ROWS_ALWAYS_SHOWN, parent=self)
        self.members_title = QLabel(self)
        self.members_title.setObjectName("membersTitle")
        self.members = RowFittedTable("memberTable", ["Model", "P", "P", "Vote"],
                                      min_rows=MEMBER_ROWS_ALWAYS_SHOWN, parent=self)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.cam = CamControls(session, self)
        self.bundle_label = QLabel(self)
        self.bundle_label.setObjectName("bundleLabel")
        self.bundle_label.setWordWrap(True)
        self.bundle_label.setStyleSheet("color: #a0a3a8;")
        self.bundle_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # The tables give up rows (and scroll) before anything else; only when even their few
        # always-shown rows do not fit does the whole panel scroll, so nothing ever overlaps.
        self.content = QWidget(self)
        self.content.setObjectName("resultsContent")
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        for widget in (self.banner, self.stale_note, self.empty, self.stage_label, self.agreement_label,
                       self.tnm_line):
            layout.addWidget(widget)
        layout.addWidget(self.patches, 2)
        layout.addWidget(self.members_title)
        layout.addWidget(self.members, 1)
        layout.addWidget(self.cam)
        footer = QHBoxLayout()
        footer.setSpacing(6)
        footer.addWidget(self.bundle_label, 1)
        footer.addWidget(self.stage_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(footer)
        layout.addStretch(0)
        self.scroll = WidthFittedScroll(self.content, "resultsScroll", self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        self._result_widgets = (self.stage_label, self.agreement_label, self.patches, self.members_title,
                                self.members, self.bundle_label)
        self._patch_index: Optional[int] = None
        st = session.staging
        st.result_changed.connect(self._show)
        st.stale_changed.connect(self._on_stale)
        self.patches.itemSelectionChanged.connect(self._on_patch_selected)
        self.patches.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.patches.cellClicked.connect(lambda row, _col: self._jump(row))
        self.stage_button.clicked.connect(lambda: st.stage())
        session.annotations.selection_changed.connect(self._follow_selection)
        self._show(st.staged)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # The scroll area takes any height but must not clip the width: the dock keeps it.
        return QSize(self.scroll.minimum_content_width(), super().minimumSizeHint().height())

    # -- result -> widgets ---------------------------------------------------------------------------

    def _show(self, staged: Optional[StagedResult]) -> None:
        has = staged is not None
        self.empty.setVisible(not has)
        for widget in self._result_widgets:
            widget.setVisible(has)
        self.banner.setVisible(has and staged.result.untrained_demo)
        self.stale_note.setVisible(has and self.session.staging.stale)
        self.stage_button.setText("Stage Again" if has else "Stage ROIs")
        self.tnm_line.setVisible(has and bool(self.tnm_line.text()))
        self._patch_index = None
        if staged is None:
            self.patches.setRowCount(0)
            self.members.setRowCount(0)
            return
        classes = staged.result.class_names
        summary = staging_view.patient_summary(staged)
        if summary is not None:
            self.stage_label.setText(summary.headline)
            self.stage_label.setToolTip(summary.aggregation)
            # Each member's vote is in the member table below; the tooltip keeps the one-line form.
            self.agreement_label.setText(summary.agreement)
            self.agreement_label.setToolTip(summary.votes)
            self.agreement_label.setStyleSheet(f"color: {SPLIT_COLOUR.name()};" if summary.split else "")
        headers = ["Patch", "Slice", "Class", *(f"P({c})" for c in classes), "Agree"]
        self.patches.setColumnCount(len(headers))
        self.patches.setHorizontalHeaderLabels(headers)
        lines = staging_view.patch_lines(staged)
        self.patches.blockSignals(True)
        self.patches.setRowCount(len(lines))
        for row, line in enumerate(lines):
            colour = SPLIT_COLOUR if line.split else None
            cells = [_item(line.label), _item(line.slice_text), _item(line.predicted, bold=True),
                     *(_item(p, align_right=True) for p in line.probabilities),
                     _item(line.agreement, align_right=True, colour=colour)]
            for column, cell in enumerate(cells):
                cell.setData(Qt.ItemDataRole.UserRole, line.roi_id)
                self.patches.setItem(row, column, cell)
        self.patches.clearSelection()
        self.patches.blockSignals(False)
        self.members.setColumnCount(len(classes) + 2)
        self.members.setHorizontalHeaderLabels(["Model", *(f"P({c})" for c in classes), "Vote"])
        self._show_members()
        self.bundle_label.setText("\n".join(t for t in (staging_view.bundle_line(staged.result), stored_note(staged)) if t))
        self._on_stale(self.session.staging.stale)

    def _show_members(self) -> None:
        staged = self.session.staging.staged
        if staged is None:
            return
        index = self._patch_index
        lines = staging_view.member_lines(staged, index)
        self.members_title.setText("Each model, patient level:" if index is None
                                   else f"Each model, patch {index + 1}:")
        self.members.setRowCount(len(lines))
        for row, line in enumerate(lines):
            colour = DISSENT_COLOUR if line.dissent else None
            cells = [_item(line.name), *(_item(p, align_right=True) for p in line.probabilities),
                     _item(line.vote, colour=colour, bold=not line.dissent)]
            for column, cell in enumerate(cells):
                self.members.setItem(row, column, cell)

    def _on_stale(self, stale: bool) -> None:
        staged = self.session.staging.staged
        self.stale_note.setVisible(stale and staged is not None)
        for widget in self._result_widgets:
            widget.setEnabled(not stale)

    def show_tnm(self, text: str, discordant: bool) -> None:
        """The study's TNM stage and whether it is discordant with the ensemble (highlighted), shown
        under the ensemble's result; an empty ``text`` hides the line."""
        self.tnm_discordant = discordant
        self.tnm_line.setText(text)
        self.tnm_line.setStyleSheet(TNM_DISCORDANT_STYLE if discordant else "color: #a0a3a8;")
        self.tnm_line.setVisible(bool(text) and self.session.staging.staged is not None)

    # -- user -> session -----------------------------------------------------------------------------

    def _on_patch_selected(self) -> None:
        rows = {index.row() for index in self.patches.selectedIndexes()}
        self._patch_index = min(rows) if rows else None
        self._show_members()

    def _jump(self, row: int) -> None:
        item = self.patches.item(row, 0)
        roi_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if roi_id and self.session.annotations.find(roi_id) is not None:
            self.session.show_roi(roi_id)
            self.roi_chosen.emit(roi_id)

    def _follow_selection(self, roi_id: Optional[str]) -> None:
        """Selecting a ROI elsewhere selects its patch row (and shows its members)."""
        for row in range(self.patches.rowCount()):
            item = self.patches.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == roi_id:
                if self._patch_index != row:
                    self.patches.selectRow(row)
                return
