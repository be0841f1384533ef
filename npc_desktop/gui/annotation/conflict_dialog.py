"""The question asked when another program changed a study's annotation file: which version stays."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QMessageBox, QWidget

from npc_desktop.core.annotation.store_results import AnnotationConflict

KEEP_MINE_TEXT = "Keep My Version"
LOAD_OTHER_TEXT = "Load the Other Version"


def ask_which_version(parent: Optional[QWidget], conflict: AnnotationConflict) -> Optional[bool]:
    """Ask whether the annotations in memory replace the file another program changed.

    Parameters
    ----------
    parent
        The window the modal question belongs to.
    conflict
        The conflict found when saving.

    Returns
    -------
    Optional[bool]
        True to keep the version in memory, False to load the other one, None to decide later.
    """
    box = QMessageBox(QMessageBox.Icon.Question, "Annotations changed by another program",
                      "Which version of the annotations should stay?", QMessageBox.StandardButton.NoButton,
                      parent)
    box.setObjectName("conflictBox")
    mine = conflict.conflict_path or "memory only"
    box.setInformativeText(
        f"{conflict.path.name} was changed by another program while you edited it.\n\n"
        f"{KEEP_MINE_TEXT}: your version replaces it; the other version is kept as a conflict file.\n"
        f"{LOAD_OTHER_TEXT}: the other version is shown; yours stays in {mine}.")
    keep = box.addButton(KEEP_MINE_TEXT, QMessageBox.ButtonRole.AcceptRole)
    load = box.addButton(LOAD_OTHER_TEXT, QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    if conflict.conflict_path is None:
        load.setEnabled(False)  # the version in memory would be lost
    box.exec()
    clicked = box.clickedButton()
    return True if clicked is keep else False if clicked is load else None
