"""What a feature's window commands get from the main window, instead of the window itself.

The staging, research and annotation commands (menus, dialogs, status) need a parent for their
dialogs, the shared actions, the settings and a few callbacks. Handing them this small object
keeps the feature packages free of the main window (no import cycle with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from npc_desktop.gui.done_message import DoneMessage
from npc_desktop.gui.settings import AppSettings


@dataclass(frozen=True)
class WindowContext:
    """The main window's parts a feature's commands may use.

    Parameters
    ----------
    parent
        The parent of dialogs and message boxes (the main window).
    actions
        The window's actions by name (:func:`npc_desktop.gui.actions.create_actions`).
    settings
        The application settings.
    commit_pending_edits
        Stores what is typed in an editor but not yet committed (the patient label's note),
        before an export reads it.
    show_status
        Shows a message in the status bar for the given milliseconds.
    done
        The window's one success message (a new one replaces the last).
    """

    parent: QWidget
    actions: Mapping[str, QAction]
    settings: AppSettings
    commit_pending_edits: Callable[[], None]
    show_status: Callable[[str, int], None]
    done: DoneMessage

    def set_checked(self, name: str, on: bool) -> None:
        """Check or uncheck an action without triggering it."""
        action = self.actions[name]
        action.blockSignals(True)
        action.setChecked(on)
        action.blockSignals(False)
