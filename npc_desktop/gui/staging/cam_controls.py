"""Grad-CAM overlay controls: on/off, which map (a member's or the ensemble mean), opacity."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

from npc_desktop.gui.staging.staging_session import StagingSession
from npc_desktop.gui.staging.staging_state import CamSettings, StagedResult
from npc_desktop.gui.staging.staging_view import member_names

MEAN_TEXT = "Ensemble mean"
MEMBER_CHARACTERS = 13


class CamControls(QWidget):
    """A row of controls bound to the session's :class:`~npc_desktop.gui.staging.staging_state.CamSettings`."""

    def __init__(self, session: StagingSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("camControls")
        self.session = session
        self.toggle = QCheckBox("Grad-CAM", self)
        self.toggle.setObjectName("camToggle")
        self.toggle.setToolTip("Show the Grad-CAM heatmap over each staged patch (G)")
        self.member = QComboBox(self)
        self.member.setObjectName("camMember")
        self.member.setToolTip("Whose heatmap: the vote-weighted mean of the members, or one member")
        # Long member names (InceptionResNetV2) would widen the whole results dock.
        self.member.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.member.setMinimumContentsLength(MEMBER_CHARACTERS)
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setObjectName("camOpacity")
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Heatmap opacity")
        self.opacity.setMinimumWidth(70)
        self.opacity_label = QLabel(self)
        self.opacity_label.setMinimumWidth(34)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.member)
        layout.addWidget(self.opacity, 1)
        layout.addWidget(self.opacity_label)
        st = session.staging
        self.toggle.toggled.connect(lambda on: st.set_cam(visible=on))
        self.member.currentIndexChanged.connect(lambda _: st.set_cam(member=self.member.currentData() or None))
        self.opacity.valueChanged.connect(lambda value: st.set_cam(opacity=value / 100.0))
        st.cam_changed.connect(self._show)
        st.result_changed.connect(self._on_result)
        self._on_result(st.staged)
        self._show(st.cam)

    def _on_result(self, staged: Optional[StagedResult]) -> None:
        current = self.session.staging.cam.member
        self.member.blockSignals(True)
        self.member.clear()
        self.member.addItem(MEAN_TEXT, "")
        if staged is not None:
            for name, display in member_names(staged).items():
                self.member.addItem(display, name)
        index = self.member.findData(current or "")
        self.member.setCurrentIndex(max(index, 0))
        self.member.blockSignals(False)
        if index < 0:
            self.session.staging.set_cam(member=None)
        self.setEnabled(staged is not None)

    def _show(self, settings: CamSettings) -> None:
        for widget in (self.toggle, self.member, self.opacity):
            widget.blockSignals(True)
        self.toggle.setChecked(settings.visible)
        self.member.setCurrentIndex(max(self.member.findData(settings.member or ""), 0))
        self.opacity.setValue(round(settings.opacity * 100))
        self.opacity_label.setText(f"{settings.opacity:.0%}")
        self.member.setEnabled(settings.visible)
        self.opacity.setEnabled(settings.visible)
        for widget in (self.toggle, self.member, self.opacity):
            widget.blockSignals(False)
