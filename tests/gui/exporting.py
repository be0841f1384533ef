"""Helpers of the export dialog tests: typing into a field, waiting for the success message."""

from __future__ import annotations

from typing import Any


def type_text(qtbot: Any, edit: Any, text: str) -> None:
    """Replace the text of a line edit by typing, as a user does."""
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def finish_export(qtbot: Any, window: Any, commands: Any = None) -> str:
    """Wait for the success message of ``commands`` (the staging commands by default) and return its text."""
    commands = commands or window.staging_ui
    qtbot.waitUntil(lambda: commands.info_box is not None or window.error_box is not None, timeout=120000)
    assert window.error_box is None, window.error_box.informativeText()
    return commands.info_box.informativeText()
