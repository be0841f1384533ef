"""The TNM stage group with its chain of reasons, the ensemble's result beside it, their
(dis)agreement, and "Use as patient stage"."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from npc_desktop.core.tnm import Agreement, EnsembleComparison, TnmAssessment
from npc_desktop.gui.tnm.tnm_view import LabelOffer

HEADLINE_SCALE = 1.3
DISCORDANT_STYLE = "background: #7a1f12; color: #ffe0d6; font-weight: bold; padding: 3px;"
CONCORDANT_STYLE = "color: #8fd19e; padding: 3px;"
NOT_COMPARABLE_STYLE = "color: #a0a3a8; padding: 3px;"


class StageBox(QGroupBox):
    """Shows a :class:`TnmAssessment`'s stage group beside the ensemble's result."""

    use_requested = Signal()
    """"Use as patient stage" was clicked"""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Stage group", parent)
        self.setObjectName("stageBox")
        self.stage = QLabel(self)
        self.stage.setObjectName("tnmStage")
        font = self.stage.font()
        font.setPointSizeF(font.pointSizeF() * HEADLINE_SCALE)
        font.setBold(True)
        self.stage.setFont(font)
        self.stage.setWordWrap(True)
        self.reasons = QLabel(self)
        self.reasons.setObjectName("tnmStageReasons")
        self.reasons.setWordWrap(True)
        self.reasons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.ensemble = QLabel(self)
        self.ensemble.setObjectName("tnmEnsemble")
        self.ensemble.setWordWrap(True)
        self.agreement = QLabel(self)
        self.agreement.setObjectName("tnmAgreement")
        self.agreement.setWordWrap(True)
        self.use = QPushButton("Use as patient stage", self)
        self.use.setObjectName("useTnmStage")
        self.use_reason = QLabel(self)
        self.use_reason.setObjectName("useTnmStageReason")
        self.use_reason.setWordWrap(True)
        self.use_reason.setStyleSheet("color: #a0a3a8;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        for widget in (self.stage, self.reasons, self.ensemble, self.agreement, self.use, self.use_reason):
            layout.addWidget(widget)
        self.use.clicked.connect(self.use_requested)
        self.discordant = False
        """Whether a discordance is highlighted."""

    def show_assessment(self, assessment: Optional[TnmAssessment], problem: str = "") -> None:
        """The stage group and its chain of reasons (``problem``: why there is no assessment)."""
        if assessment is None:
            self.stage.setText("No TNM stage")
            self.reasons.setText(problem)
            return
        provisional = " (provisional)" if assessment.provisional and assessment.stage else ""
        self.stage.setText(f"TNM stage {assessment.stage}{provisional}" if assessment.stage else "Not staged")
        self.reasons.setText("\n".join(f"→ {line}" for line in assessment.reasons))

    def show_ensemble(self, line: str, compared: Optional[EnsembleComparison]) -> None:
        """The ensemble's result and, when they can be compared, the agreement (discordance highlighted)."""
        self.ensemble.setText(line)
        self.agreement.setVisible(compared is not None)
        self.discordant = compared is not None and compared.discordant
        if compared is None:
            self.agreement.setText("")
            return
        self.agreement.setText(compared.text)
        style = {Agreement.DISCORDANT: DISCORDANT_STYLE, Agreement.CONCORDANT: CONCORDANT_STYLE}
        self.agreement.setStyleSheet(style.get(compared.agreement, NOT_COMPARABLE_STYLE))

    def show_offer(self, offer: LabelOffer) -> None:
        """Enable "Use as patient stage" or say why it is not possible."""
        self.use.setEnabled(offer.enabled)
        self.use.setToolTip(offer.reason)
        self.use_reason.setText(offer.reason)

