"""The TNM dock: the clinician's TNM form of the current study, its categories with their reasons,
the stage group beside the ensemble's result, and "Use as patient stage".

Every edit is one undo step of the annotation model (so it is autosaved with the study); the
dock follows the current study, its ROIs, node axes, cricoid level and form, the loaded series
and, through :meth:`TnmPanel.show_ensemble` (called by the shell), the last staging result. The
categories, stage and reasons come from :mod:`npc_desktop.core.tnm` only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from npc_desktop.core.tnm import EDITIONS, Axis, NodeFlags, Override, TnmAssessment, TnmError, TnmForm
from npc_desktop.core.tnm.study import assess_study, study_form, study_node_evidence
from npc_desktop.gui.fitted_scroll import WidthFittedScroll
from npc_desktop.gui.tnm import tnm_view
from npc_desktop.gui.tnm.axis_section import AxisSection
from npc_desktop.gui.tnm.findings_checklist import FindingsChecklist
from npc_desktop.gui.tnm.host import TnmHost
from npc_desktop.gui.tnm.node_list import NodeList
from npc_desktop.gui.tnm.stage_box import StageBox

PROBLEM_STYLE = "background: #7a1f12; color: #ffe0d6; padding: 4px;"
SUMMARY_STYLE = "padding: 4px 6px; font-weight: bold;"
SUMMARY_DISCORDANT_STYLE = "padding: 4px 6px; font-weight: bold; background: #7a1f12; color: #ffe0d6;"
M_CHOICES: tuple[tuple[str, Optional[str]], ...] = (("M0", "M0"), ("M1", "M1"), ("not entered", None))


class TnmPanel(QWidget):
    """The TNM form dock of a session (see the module docstring)."""

    summary_changed = Signal(str, bool)
    """The line for the Staging Results dock (the TNM stage and its agreement), and whether the
    TNM stage and the ensemble are discordant; an empty line when there is no study."""

    def __init__(self, host: TnmHost, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("tnmPanel")
        self.host = host
        self.form: Optional[TnmForm] = None
        self.assessment: Optional[TnmAssessment] = None
        self._ensemble: Optional[tnm_view.EnsembleCall] = None
        self._offer = tnm_view.label_offer(None, None)
        self.edition = QComboBox(self)
        self.edition.setObjectName("tnmEdition")
        for number, table in EDITIONS.items():
            self.edition.addItem(table.title, number)
        self.problem = QLabel(self)
        self.problem.setObjectName("tnmProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(PROBLEM_STYLE)
        self.replace_form = QPushButton("Start a new form", self)
        self.replace_form.setObjectName("tnmReplaceForm")
        self.replace_form.setToolTip("Replace the unreadable form with an empty one (undoable)")
        self.stage_box = StageBox(self)
        self.summary = QLabel(self)
        self.summary.setObjectName("tnmSummary")
        self.summary.setWordWrap(True)
        self.summary.setToolTip("Stays in view while the form scrolls; the Stage group below has the reasons")
        self.findings = FindingsChecklist(self)
        self.nodes = NodeList(self)
        self.neck_reviewed = QCheckBox("Neck reviewed: no involved nodes", self)
        self.neck_reviewed.setObjectName("tnmNeckReviewed")
        self.neck_reviewed.setToolTip("Without node ROIs, N0 is provisional until the neck is marked as reviewed")
        self.m_buttons: dict[Optional[str], QRadioButton] = {}
        self.m_group = QButtonGroup(self)
        self.sections = {Axis.T: AxisSection(Axis.T, self.findings, self),
                         Axis.N: AxisSection(Axis.N, self._n_entry(), self),
                         Axis.M: AxisSection(Axis.M, self._m_entry(), self)}
        self.content = QWidget(self)
        self.content.setObjectName("tnmContent")
        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        header = QHBoxLayout()
        header.addWidget(QLabel("Edition", self.content))
        header.addWidget(self.edition, 1)
        layout.addLayout(header)
        layout.addWidget(self.problem)
        layout.addWidget(self.replace_form, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.stage_box)
        for section in self.sections.values():
            layout.addWidget(section)
        layout.addStretch(1)
        self.scroll = WidthFittedScroll(self.content, "tnmScroll", self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.summary)
        outer.addWidget(self.scroll)
        self._connect()
        self.refresh()

    def _n_entry(self) -> QWidget:
        entry = QWidget(self)
        column = QVBoxLayout(entry)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.neck_reviewed)
        column.addWidget(self.nodes)
        return entry

    def _m_entry(self) -> QWidget:
        entry = QWidget(self)
        row = QHBoxLayout(entry)
        row.setContentsMargins(0, 0, 0, 0)
        for text, value in M_CHOICES:
            button = QRadioButton(text, entry)
            button.setObjectName(f"m_{value or 'none'}")
            self.m_group.addButton(button)
            self.m_buttons[value] = button
            row.addWidget(button)
        row.addStretch(1)
        return entry

    def _connect(self) -> None:
        model = self.host.annotations
        model.current_study_changed.connect(self._on_study_changed)
        model.rois_changed.connect(self._on_study_edited)
        model.label_changed.connect(self._on_study_edited)
        model.measurements_changed.connect(self._on_study_edited)  # node axes and the cricoid level
        self.host.series_loaded.connect(lambda *_: self.refresh())
        self.host.viewport_cleared.connect(lambda *_: self.refresh())
        self.host.study_indexed.connect(lambda *_: self.refresh())
        self.edition.activated.connect(lambda i: self._edit("Set TNM Edition", edition=self.edition.itemData(i)))
        self.replace_form.clicked.connect(self._replace_unreadable_form)
        self.findings.finding_toggled.connect(self._on_finding)
        self.findings.primary_side_chosen.connect(
            lambda side: self._edit("Set Primary Tumour Side", primary_side=side))
        self.nodes.side_chosen.connect(lambda rid, side: self._edit_node(rid, "Set Node Side", side=side))
        self.nodes.retropharyngeal_toggled.connect(
            lambda rid, on: self._edit_node(rid, "Mark Node Retropharyngeal" if on else "Mark Node Cervical",
                                            retropharyngeal=on))
        self.nodes.node_chosen.connect(lambda rid: self.host.show_roi(rid))
        self.m_group.buttonClicked.connect(self._on_m)
        self.neck_reviewed.clicked.connect(
            lambda on: self._edit("Mark Neck Reviewed" if on else "Unmark Neck Reviewed", neck_reviewed=on))
        for axis, section in self.sections.items():
            section.override_requested.connect(lambda code, note, a=axis: self._override(a, code, note))
            section.override_cleared.connect(lambda a=axis: self._clear_override(a))
        self.stage_box.use_requested.connect(self._use_as_patient_stage)

    # -- model -> view ---------------------------------------------------------------------------------

    def _on_study_changed(self, *_: object) -> None:
        for section in self.sections.values():
            section.reset_override_entry()
        self.refresh()

    def _on_study_edited(self, study_uid: str, *_: object) -> None:
        if study_uid == self.host.annotations.current_uid:
            self.refresh()

    def refresh(self) -> None:
        """Show the current study's form, categories, stage and offer again."""
        model = self.host.annotations
        annotations = model.current
        self.form, self.assessment = None, None
        problem = ""
        if annotations is None:
            problem = "Open a study to stage it with TNM."
        else:
            try:
                self.form = study_form(annotations)
                # What the report, the SR and the command line use: loaded series and the study's headers.
                volumes, index = self._volumes(), self.host.index
                evidence = study_node_evidence(annotations, self.form, volumes, index)
                self.assessment = assess_study(annotations, volumes, index)
            except TnmError as exc:
                problem = (f"The saved TNM form was not loaded: {exc}. It is kept as saved; "
                           "start a new form to replace it.")
                evidence = []
        read_only = model.read_only_reason(model.current_uid) if annotations is not None else None
        self.problem.setText(problem if annotations is not None else "")
        self.problem.setVisible(annotations is not None and bool(problem))
        self.replace_form.setVisible(annotations is not None and self.form is None and read_only is None)
        for widget in (self.edition, self.findings, self.nodes, self.neck_reviewed, *self.sections.values()):
            widget.setEnabled(self.form is not None and read_only is None)
        table = self.form.table if self.form is not None else next(iter(EDITIONS.values()))
        self.edition.setCurrentIndex(max(self.edition.findData(table.number), 0))
        self.findings.set_edition(table)
        form = self.form or TnmForm(edition=table.number)
        self.findings.show_form(form.findings, form.primary_side)
        self.nodes.show_rows(tnm_view.node_rows(annotations, evidence) if self.form is not None else [])
        self.m_buttons[form.m].setChecked(True)
        self.neck_reviewed.setChecked(form.neck_reviewed)
        a = self.assessment
        for axis, section in self.sections.items():
            section.set_categories(table.codes(axis))
            section.show_call(None if a is None else {Axis.T: a.t, Axis.N: a.n, Axis.M: a.m}[axis])
        self.stage_box.show_assessment(a, problem)
        label = annotations.label if annotations is not None else None
        self._offer = tnm_view.label_offer(a, label)
        if read_only is not None:
            self._offer = tnm_view.LabelOffer(None, None, "Read-only: " + read_only)
        self.stage_box.show_offer(self._offer)
        self._show_comparison()

    def show_ensemble(self, call: Optional[tnm_view.EnsembleCall]) -> None:
        """The ensemble's last result for a study (None: none), shown beside the TNM stage."""
        self._ensemble = call
        self._show_comparison()

    def _show_comparison(self) -> None:
        call = self._ensemble
        if call is not None and call.study_uid != self.host.annotations.current_uid:
            call = None
        compared = tnm_view.comparison(self.assessment, call)
        self.stage_box.show_ensemble(tnm_view.ensemble_line(call), compared)
        line, discordant = tnm_view.results_line(self.assessment, compared)
        categories = tnm_view.categories_text(self.assessment)
        self.summary.setText(f"{categories}: {line}" if categories and line else line)
        self.summary.setVisible(bool(line))
        self.summary.setStyleSheet(SUMMARY_DISCORDANT_STYLE if discordant else SUMMARY_STYLE)
        self.summary_changed.emit(line, discordant)

    def _volumes(self) -> dict[str, Any]:
        return {v.meta.series_instance_uid: v for v in self.host.loaded_volumes() if v is not None}

    # -- view -> model ---------------------------------------------------------------------------------

    def _edit(self, text: str, **changes: Any) -> None:
        if self.form is None:
            return
        try:
            new = replace(self.form, **changes)
        except TnmError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        if not self.host.annotations.set_tnm_form(new.to_dict(), text):
            self.refresh()  # refused (read-only) or unchanged: show what is stored

    def _on_finding(self, finding_id: str, checked: bool) -> None:
        if self.form is None:
            return
        findings = self.form.findings | {finding_id} if checked else self.form.findings - {finding_id}
        self._edit("Check T Finding" if checked else "Uncheck T Finding", findings=findings)

    def _edit_node(self, roi_id: str, text: str, **change: Any) -> None:
        if self.form is None:
            return
        nodes = dict(self.form.nodes)
        nodes[roi_id] = replace(self.form.nodes.get(roi_id, NodeFlags()), **change)
        self._edit(text, nodes=nodes)

    def _on_m(self, button: QRadioButton) -> None:
        value = next(v for v, b in self.m_buttons.items() if b is button)
        self._edit("Set M", m=value)

    def _override(self, axis: Axis, category: str, note: str) -> None:
        if self.form is None:
            return
        try:
            overrides = {**self.form.overrides, axis: Override(category=category, note=note)}
        except TnmError as exc:
            self.sections[axis].hint.setText(exc.problem)
            return
        self._edit(f"Override {axis.value}", overrides=overrides)
        if self.form is not None and axis in self.form.overrides:
            self.sections[axis].reset_override_entry()

    def _clear_override(self, axis: Axis) -> None:
        if self.form is not None and axis in self.form.overrides:
            self._edit(f"Clear {axis.value} Override",
                       overrides={a: o for a, o in self.form.overrides.items() if a is not axis})

    def _replace_unreadable_form(self) -> None:
        if self.host.annotations.current is not None and self.form is None:
            self.host.annotations.set_tnm_form(TnmForm().to_dict(), "Replace Unreadable TNM Form")

    def _use_as_patient_stage(self) -> None:
        if self._offer.enabled:
            self.host.annotations.set_label(stage=self._offer.stage, source=self._offer.source)

    # -- layout ----------------------------------------------------------------------------------------

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        # The scroll area takes any height but must not clip the width: the dock keeps it.
        return QSize(self.scroll.minimum_content_width(), super().minimumSizeHint().height())
