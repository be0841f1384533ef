"""What the staging package needs of the session it works in.

Staging is a feature package: it imports neither the shell nor the annotation package. The shell's
:class:`~npc_desktop.gui.session.SessionModel` satisfies :class:`StagingHost` (it is the viewer
session with annotations); staging reads the study's ROIs through :class:`StagedAnnotations`.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol

from PySide6.QtCore import SignalInstance

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.dicom import StudyIndex, Volume
from npc_desktop.gui.state import ViewportState
from npc_desktop.gui.workers import JobRunner


class StagedAnnotations(Protocol):
    """The annotations staging reads, and where it records the last result of a study."""

    rois_changed: SignalInstance
    """study UID: the ROIs of that study changed"""
    selection_changed: SignalInstance
    current_study_changed: SignalInstance
    problem: SignalInstance
    """title, message: shown to the user and listed with the messages"""
    selected_id: Optional[str]
    store: AnnotationStore

    @property
    def current(self) -> Optional[AnnotationSet]:
        """The annotations of the study the active viewport shows."""

    def study(self, study_uid: Optional[str]) -> Optional[AnnotationSet]:
        """The loaded annotations of a study (None when not loaded)."""

    def find(self, roi_id: Optional[str]) -> Optional[RectRoi]:
        """A ROI of the current study by id."""

    def record_staging(self, study_uid: str, record: Optional[dict[str, Any]]) -> None:
        """Keep a study's last staging result with its annotations (saved with them)."""


class StagingHost(Protocol):
    """The session staging runs in: study, viewports, jobs, messages and annotations."""

    index: Optional[StudyIndex]
    jobs: JobRunner
    viewports: list[ViewportState]
    error_occurred: SignalInstance
    """title, message"""
    status_message: SignalInstance
    study_indexed: SignalInstance
    series_loaded: SignalInstance
    slice_changed: SignalInstance
    viewport_cleared: SignalInstance

    @property
    def annotations(self) -> StagedAnnotations:
        """The study's annotations."""

    def loaded_volumes(self) -> list[Optional[Volume]]:
        """The volume of each viewport (None where nothing is loaded)."""

    def show_roi(self, roi_id: str, *, only_if_hidden: bool = False) -> None:
        """Select a ROI and show its slice."""
