"""The export dialogs' frame: the first field has the keyboard and Tab follows the form from the top."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.gui.research.dataset_dialog import DatasetDialog
from npc_desktop.gui.settings import AppSettings
from npc_desktop.gui.staging.report_dialog import ReportDialog

pytestmark = pytest.mark.gui


def _tab_through(qtbot, dialog, count: int) -> list:
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=2000)
    seen = [QApplication.focusWidget()]
    for _ in range(count):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    dialog.reject()
    return seen


def test_report_dialog_tabs_from_the_file_field(qtbot, qapp, gui_settings) -> None:
    dialog = ReportDialog(AppSettings(gui_settings), "Report of the last staging")
    qtbot.addWidget(dialog)
    seen = _tab_through(qtbot, dialog, 4)
    assert seen[:3] == [dialog.path_edit, seen[1], dialog.page_size]
    assert seen[1].text() == "Browse…"
    assert seen[3] is dialog.institution and seen[4] is dialog.department


def test_dataset_dialog_tabs_in_visual_order_to_export(qtbot, qapp, gui_settings) -> None:
    dialog = DatasetDialog(AppSettings(gui_settings), ContextMargin(), "3 ROIs")
    qtbot.addWidget(dialog)
    seen = _tab_through(qtbot, dialog, 7)
    assert seen[0] is dialog.out_edit and seen[1].text() == "Browse…"
    # The mapping file field is disabled until the mapping is ticked, so Tab passes it by.
    assert seen[2:] == [dialog.margin_fraction, dialog.margin_mm, dialog.train_fraction, dialog.seed,
                        dialog.mapping, dialog.export_button]
