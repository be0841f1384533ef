"""The first-use hint: while the open study has no ROIs, a small box on the active viewer says
which keys draw, choose the kind and stage. It goes once a ROI exists, and Help > Show First-Use
Hints turns it off (remembered in the settings)."""

from __future__ import annotations

from typing import Optional, Protocol, Sequence

from PySide6.QtCore import QObject

from npc_desktop.gui.annotation.annotation_session import AnnotationSession

SETTING_KEY = "help/first_use_hints"
"""QSettings key of the Help menu switch."""

HINT_LINES = [
    "D  draw a ROI    ·    T / N  choose tumour or lymph node",
    "Ctrl+R  stage all ROIs    ·    F1  every key",
]
HINT_TOOLTIP = "Shown while the study has no ROIs. Help > Show First-Use Hints turns it off."


class HintSurface(Protocol):
    """What the hint needs of a viewer: somewhere to show lines of advice."""

    def set_hint(self, lines: list[str], tooltip: str = "") -> None:
        """Show ``lines`` ([] hides the hint)."""


class FirstUseHint(QObject):
    """Shows :data:`HINT_LINES` on the active viewer while the open study has no ROIs.

    Parameters
    ----------
    session
        The session whose study, viewports and annotations decide when the hint shows.
    surfaces
        One surface per viewport, in the session's viewport order.
    enabled
        Whether hints are on (the user's saved choice).
    parent
        The owning QObject.
    """

    def __init__(self, session: AnnotationSession, surfaces: Sequence[HintSurface], *, enabled: bool = True,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.surfaces = list(surfaces)
        self.enabled = enabled
        s, a = session, session.annotations
        for signal in (s.series_loaded, s.viewport_cleared, s.active_viewport_changed, s.layout_changed,
                       s.study_indexed, a.rois_changed, a.measurements_changed, a.current_study_changed):
            signal.connect(self.refresh)
        self.refresh()

    def set_enabled(self, enabled: bool) -> None:
        """Turn the hint on or off."""
        self.enabled = bool(enabled)
        self.refresh()

    def shown_on(self) -> Optional[int]:
        """The viewport the hint should be on now, or None."""
        session, annotations = self.session, self.session.annotations
        current = annotations.current
        # Any annotation, a ROI or a measurement, shows the user has found the tools.
        if not self.enabled or current is None or len(current) > 0 or current.measurements \
                or current.cricoid_level is not None:
            return None
        if annotations.read_only_reason(annotations.current_uid) is not None:
            return None  # nothing can be drawn here, so the advice would not work
        return session.active if session.viewports[session.active].volume is not None else None

    def refresh(self, *_: object) -> None:
        """Show or hide the hint as the session now stands."""
        target = self.shown_on()
        for index, surface in enumerate(self.surfaces):
            if index == target:
                surface.set_hint(HINT_LINES, HINT_TOOLTIP)
            else:
                surface.set_hint([])
