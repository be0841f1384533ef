"""The two kind commands: choosing the kind of the next drawing (T, N) and changing what an
existing ROI outlines (Shift+T, Shift+N, the ROI menus), each announced in the status bar.

They are kept apart on purpose: T and N never touch a ROI that is already drawn, so choosing the
kind of the next drawing cannot silently re-label the selected one.
"""

from __future__ import annotations

from typing import Callable, Optional

from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.gui.annotation.annotation_model import AnnotationModel
from npc_desktop.gui.annotation.roi_style import KIND_KEYS, KIND_NAMES

Announce = Callable[[str], None]
"""Shows a one-line message to the user (the status bar)."""


def _name(kind: RoiKind) -> str:
    return KIND_NAMES[kind].lower()


def choose_drawing_kind(annotations: AnnotationModel, kind: RoiKind, announce: Announce) -> None:
    """Make ``kind`` the kind of the ROIs drawn from now on, and say so.

    Parameters
    ----------
    annotations
        The session's annotation model.
    kind
        The kind the next drawings get.
    announce
        Shows the confirmation (the status bar).
    """
    annotations.set_kind(kind)
    # Short: the status bar shares its width with the permanent readouts.
    announce(f"Next ROI: {_name(kind)} (drawn ROIs unchanged)")


def change_roi_kind(annotations: AnnotationModel, roi_id: Optional[str], kind: RoiKind,
                    announce: Announce) -> bool:
    """Change what one drawn ROI outlines (one undo step), and say what changed.

    Parameters
    ----------
    annotations
        The session's annotation model.
    roi_id
        The ROI to change; None (nothing selected) only explains what to do.
    kind
        What the ROI outlines from now on.
    announce
        Shows the outcome (the status bar).

    Returns
    -------
    bool
        Whether the ROI was changed.
    """
    roi = annotations.find(roi_id)
    if roi is None:
        announce(f"No ROI selected: click a ROI, then Shift+{KIND_KEYS[kind]} makes it a {_name(kind)}")
        return False
    if roi.kind is kind:
        announce(f"The selected ROI is already a {_name(kind)}")
        return False
    if not annotations.set_roi_kind(roi.id, kind):
        return False  # refused (read-only study): the model has told the user why
    announce(f"ROI: {_name(roi.kind)} → {_name(kind)} (Ctrl+Z undoes)")
    return True
