"""What the TNM dock needs of the session it works in.

The TNM package is a feature package: it imports neither the shell nor the annotation or
staging packages. The shell's :class:`~npc_desktop.gui.session.SessionModel` satisfies
:class:`TnmHost`; the ensemble's result reaches the dock through
:meth:`~npc_desktop.gui.tnm.tnm_panel.TnmPanel.show_ensemble`, called by the shell.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Protocol

from PySide6.QtCore import SignalInstance

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.dicom import StudyIndex, Volume


class TnmAnnotations(Protocol):
    """The annotations the TNM dock reads and edits (each edit one undo step, autosaved)."""

    current_uid: Optional[str]
    current_study_changed: SignalInstance
    """the StudyInstanceUID the panels show, or None"""
    rois_changed: SignalInstance
    """study UID: any change of that study's annotations but its label (ROIs, measurements, TNM form)"""
    label_changed: SignalInstance
    """study UID, its new PatientLabel"""
    measurements_changed: SignalInstance
    """study UID: its rulers, node axes or cricoid level changed"""

    @property
    def current(self) -> Optional[AnnotationSet]:
        """The annotations of the study the active viewport shows."""

    def read_only_reason(self, study_uid: Optional[str]) -> Optional[str]:
        """Why a study's annotations cannot be changed here, or None."""

    def set_tnm_form(self, form: Optional[Mapping[str, Any]], text: str = ...) -> bool:
        """Store the current study's TNM form (one undo step called ``text``)."""

    def set_label(self, *, stage: Any = None, reviewer: Optional[str] = None, note: Optional[str] = None,
                  source: object = ...) -> bool:
        """Change the current study's patient label; ``source`` says where the stage came from."""


class TnmHost(Protocol):
    """The session the TNM dock works in: its annotations, study index, loaded series and ROI navigation."""

    series_loaded: SignalInstance
    viewport_cleared: SignalInstance
    study_indexed: SignalInstance
    index: Optional[StudyIndex]
    """the open study's index: every series' headers (image planes, frames of reference), loaded or not"""

    @property
    def annotations(self) -> TnmAnnotations:
        """The study's annotations."""

    def loaded_volumes(self) -> list[Optional[Volume]]:
        """The volume of each viewport (None where nothing is loaded)."""

    def show_roi(self, roi_id: str, *, only_if_hidden: bool = False) -> None:
        """Select a ROI and show its slice."""
