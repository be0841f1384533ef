"""The main window's menu bar and toolbar, built from its named actions."""

from __future__ import annotations

from typing import Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu, QSizePolicy, QToolBar, QToolButton, QWidget

MEASUREMENT_TOOLS = ("tool_ruler", "tool_node_axes", "tool_cricoid")
"""The measurement tools' actions, after Draw ROI in the Tools menu and the toolbar."""


def build_menus(window: QMainWindow, a: Mapping[str, QAction], dock_toggles: Sequence[QAction]) -> dict[str, QMenu]:
    """Fill the menu bar; returns the menus the window updates later ("recent", "export", "presets").

    Parameters
    ----------
    window
        The main window.
    a
        Its actions by name.
    dock_toggles
        The docks' show/hide actions, listed in the View menu.
    """
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([a["open_folder"], a["open_file"], a["open_demo"]])
    recent_menu = file_menu.addMenu("Open &Recent")
    file_menu.addSeparator()
    export_menu = file_menu.addMenu("&Export Annotations")
    export_menu.setObjectName("exportMenu")
    export_menu.addActions([a["export_sr"], a["export_csv"], a["export_coco"]])
    file_menu.addActions([a["import_sr"], a["save_annotations"]])
    file_menu.addSeparator()
    file_menu.addActions([a["export_report"], a["export_dataset"]])
    file_menu.addSeparator()
    file_menu.addActions([a["query_pacs"], a["open_store"], a["send_to_pacs"]])
    file_menu.addSeparator()
    file_menu.addAction(a["cancel"])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addActions([a["undo"], a["redo"]])
    edit_menu.addSeparator()
    edit_menu.addActions([a["kind_tumour"], a["kind_node"]])
    edit_menu.addSeparator()
    edit_menu.addActions([a["relabel_tumour"], a["relabel_node"], a["delete_roi"]])
    view_menu = bar.addMenu("&View")
    view_menu.addActions([a["one_up"], a["two_up"], a["next_viewport"]])
    view_menu.addSeparator()
    view_menu.addActions([a["sync_slices"], a["link_views"]])
    view_menu.addSeparator()
    view_menu.addActions([a["fit"], a["zoom_in"], a["zoom_out"]])
    view_menu.addSeparator()
    view_menu.addActions(list(dock_toggles))
    view_menu.addActions([a["previous_patient"], a["next_patient"]])
    image_menu = bar.addMenu("&Image")
    preset_menu = image_menu.addMenu("Window &Presets")
    preset_menu.addActions([a["preset_header"], a["preset_auto"], a["preset_mr_t1c"], a["preset_mr_t2"]])
    image_menu.addAction(a["reset_window"])
    image_menu.addSeparator()
    image_menu.addAction(a["clahe"])
    tools_menu = bar.addMenu("&Tools")
    tools_menu.addActions([a["tool_pan"], a["tool_zoom"], a["tool_window"], a["tool_roi"]])
    tools_menu.addSeparator()
    tools_menu.addActions([a[name] for name in MEASUREMENT_TOOLS])
    staging_menu = bar.addMenu("&Staging")
    staging_menu.setObjectName("stagingMenu")
    staging_menu.addActions([a["stage"], a["stage_selected"]])
    staging_menu.addSeparator()
    staging_menu.addAction(a["show_cam"])
    staging_menu.addSeparator()
    staging_menu.addAction(a["export_report"])
    models_menu = bar.addMenu("&Models")
    models_menu.setObjectName("modelsMenu")
    models_menu.addActions([a["open_bundle"], a["use_demo_models"]])
    bar.addMenu("&Settings").addActions([a["pacs_nodes"], a["pacs_listen"]])
    models_menu.addSection("Runtime")
    models_menu.addActions([a["runtime_onnx"], a["runtime_tf"]])
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([a["shortcuts"], a["first_use_hints"], a["about"]])
    for group_names in (("one_up", "two_up"), ("tool_pan", "tool_zoom", "tool_window", "tool_roi", *MEASUREMENT_TOOLS)):
        group = QActionGroup(window)
        group.setExclusive(True)
        for name in group_names:
            group.addAction(a[name])
    return {"recent": recent_menu, "export": export_menu, "presets": preset_menu}


def build_toolbar(window: QMainWindow, a: Mapping[str, QAction], preset_menu: QMenu, kind_selector: QWidget,
                  clahe_panel: QWidget) -> QToolBar:
    """Add the main toolbar: tools, ROI kind, window presets, layout, CLAHE, staging, help."""
    toolbar = QToolBar("Tools", window)
    toolbar.setObjectName("mainToolBar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    toolbar.addAction(a["open_folder"])
    toolbar.addSeparator()
    toolbar.addActions([a["tool_pan"], a["tool_zoom"], a["tool_window"], a["fit"]])
    toolbar.addSeparator()
    toolbar.addAction(a["tool_roi"])
    toolbar.addWidget(kind_selector)
    toolbar.addActions([a[name] for name in MEASUREMENT_TOOLS])
    toolbar.addActions([a["delete_roi"], a["undo"], a["redo"]])
    toolbar.addSeparator()
    presets = QToolButton(toolbar)
    presets.setObjectName("presetButton")
    presets.setText("Window")
    presets.setToolTip("Window/level presets (1-4), reset (R)")
    presets.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    presets.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    presets.setMenu(preset_menu)
    toolbar.addWidget(presets)
    toolbar.addAction(a["reset_window"])
    toolbar.addSeparator()
    toolbar.addActions([a["one_up"], a["two_up"], a["sync_slices"], a["link_views"]])
    toolbar.addSeparator()
    toolbar.addWidget(clahe_panel)
    toolbar.addSeparator()
    toolbar.addActions([a["stage"], a["show_cam"], a["export_report"]])
    spacer = QWidget(toolbar)
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    toolbar.addWidget(spacer)
    toolbar.addAction(a["shortcuts"])
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    return toolbar
