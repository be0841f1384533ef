"""The workstation's commands: one table gives their text, keys, icons and the help dialog's list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QIcon, QKeySequence

ICON_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"


@dataclass(frozen=True)
class ActionSpec:
    """A command: label, keys (first is shown in menus), tooltip, icon file, checkable."""

    name: str
    text: str
    keys: tuple[str, ...] = ()
    tip: str = ""
    icon: str = ""
    checkable: bool = False
    section: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open_folder", "&Open Folder…", ("Ctrl+O",), "Open a folder of DICOM files", "open", section="Files"),
    ActionSpec("open_file", "Open &DICOMDIR or Zip…", ("Ctrl+Shift+O",), "Open a DICOMDIR file or a zip archive", section="Files"),
    ActionSpec("open_demo", "Open D&emo Study", (), "Open the built-in synthetic study", section="Files"),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), section="Files"),
    ActionSpec("one_up", "&One Viewport", ("Ctrl+1",), "One-up layout", "one_up", True, "Layout"),
    ActionSpec("two_up", "&Two Viewports", ("Ctrl+2",), "Two-up layout: two series side by side", "two_up", True, "Layout"),
    ActionSpec("next_viewport", "&Next Viewport", ("Ctrl+Tab",), "Make the other viewport active", section="Layout"),
    ActionSpec("sync_slices", "&Synchronise Slices", ("S",),
               "Scrolling one viewport moves the other to the nearest slice (same frame of reference)",
               "sync", True, "Layout"),
    ActionSpec("link_views", "&Link Zoom and Pan", ("K",), "Zoom and pan both viewports together", "link", True, "Layout"),
    ActionSpec("tool_pan", "&Pan", ("P",), "Left drag pans the image", "pan", True, "Mouse tools"),
    ActionSpec("tool_zoom", "&Zoom", ("Z",), "Left drag up/down zooms", "zoom", True, "Mouse tools"),
    ActionSpec("tool_window", "&Window/Level", ("W",), "Left drag sets window/level (as the right button does)",
               "window", True, "Mouse tools"),
    ActionSpec("tool_roi", "Draw &ROI", ("D",),
               "Left drag draws a rectangular ROI; with this tool ROIs can be moved and resized by their handles",
               "roi", True, "Mouse tools"),
    ActionSpec("tool_ruler", "&Measure Distance", ("M",),
               "Left drag draws a distance ruler (length in mm); with this tool rulers and node axes can be "
               "moved by their handles", "ruler", True, "Mouse tools"),
    ActionSpec("tool_node_axes", "Node &Axes (Long × Short)", ("A",),
               "On the selected lymph-node ROI's slice: drag the long axis, then the short axis (kept "
               "perpendicular)", "node_axes", True, "Mouse tools"),
    ActionSpec("tool_cricoid", "Mark &Cricoid Level", ("L",),
               "Click on an axial slice at the caudal border of the cricoid cartilage (one level per study)",
               "cricoid", True, "Mouse tools"),
    ActionSpec("kind_tumour", "Next ROI: &Tumour", ("T",),
               "ROIs drawn from now on outline a tumour (existing ROIs keep their kind)", section="Annotation"),
    ActionSpec("kind_node", "Next ROI: &Lymph Node", ("N",),
               "ROIs drawn from now on outline a lymph node (existing ROIs keep their kind)", section="Annotation"),
    ActionSpec("relabel_tumour", "Change Selected ROI to T&umour", ("Shift+T",),
               "The selected ROI outlines a tumour (undoable)", section="Annotation"),
    ActionSpec("relabel_node", "Change Selected ROI to Lymph &Node", ("Shift+N",),
               "The selected ROI outlines a lymph node (undoable)", section="Annotation"),
    ActionSpec("delete_roi", "&Delete", ("Delete", "Backspace"), "Delete the selected ROI or measurement",
               "delete", section="Annotation"),
    ActionSpec("undo", "&Undo", ("Ctrl+Z",), "Undo the last annotation change", "undo", section="Annotation"),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone annotation change", "redo",
               section="Annotation"),
    ActionSpec("save_annotations", "&Save Annotations Now", ("Ctrl+S",),
               "Annotations are saved on every change; this retries a save that failed", section="Files"),
    ActionSpec("export_sr", "DICOM &SR (TID 1500)…", (),
               "Export the study's ROIs and measurements as a DICOM Structured Report",
               section="Files"),
    ActionSpec("export_csv", "&CSV Table…", (),
               "Export the study's ROIs and patch boxes as CSV, and its measurements as a second CSV "
               "(pseudonymous)",
               section="Files"),
    ActionSpec("export_coco", "C&OCO JSON…", (), "Export the study's ROIs as a COCO detection dataset",
               section="Files"),
    ActionSpec("import_sr", "&Import DICOM SR…", (),
               "Add the ROIs and measurements of a DICOM SR (TID 1500) to the study",
               section="Files"),
    ActionSpec("export_report", "Export Staging &Report…", ("Ctrl+P",),
               "Write the staged PDF report (and optionally a DICOM Encapsulated PDF)", "report", section="Files"),
    ActionSpec("query_pacs", "&Query PACS…", ("Ctrl+Shift+Q",),
               "Search a PACS and retrieve a study into the local study store", section="Files"),
    ActionSpec("open_store", "Open &Local Study Store", (), "Open the studies retrieved from or pushed by a PACS",
               section="Files"),
    ActionSpec("send_to_pacs", "Se&nd to PACS…", (), "Send the open study's DICOM SR and staging report to a PACS",
               section="Files"),
    ActionSpec("pacs_listen", "&Receive Pushed Studies", (),
               "Accept studies a PACS sends to us (port and AE title in Settings > PACS Nodes)", checkable=True,
               section="Files"),
    ActionSpec("pacs_nodes", "&PACS Nodes…", (), "Add, edit and test the PACS nodes", section="Files"),
    ActionSpec("export_dataset", "Export Patch &Dataset…", (),
               "Export the study's ROIs as a de-identified patch dataset for training", section="Files"),
    ActionSpec("stage", "&Stage All ROIs", ("Ctrl+R", "F5"),
               "Stage every ROI of the study with the five-model ensemble", "stage", section="Staging"),
    ActionSpec("stage_selected", "Stage Se&lected ROI", ("Ctrl+Shift+R",), "Stage only the selected ROI",
               section="Staging"),
    ActionSpec("show_cam", "Show &Grad-CAM Overlay", ("G",),
               "Heatmap of what the models looked at, over each staged patch", "cam", True, "Staging"),
    ActionSpec("open_bundle", "&Open Model Bundle…", (), "Stage with a trained model bundle folder",
               section="Models"),
    ActionSpec("use_demo_models", "Use &Untrained Demo Models", (),
               "Random-weight members to try the workflow (UNTRAINED DEMO - not a prediction)", checkable=True,
               section="Models"),
    ActionSpec("runtime_onnx", "Run on ONNX &Runtime", (),
               "Stage with ONNX Runtime (default: fast start; CUDA or DirectML when available)", checkable=True,
               section="Models"),
    ActionSpec("runtime_tf", "Run on &TensorFlow", (), "Stage with the TensorFlow fused graph (the fallback)",
               checkable=True, section="Models"),
    ActionSpec("fit", "&Fit to Window", ("F",), "Show the whole image", "fit", section="View"),
    ActionSpec("zoom_in", "Zoom &In", ("Ctrl+=", "+"), section="View"),
    ActionSpec("zoom_out", "Zoom O&ut", ("Ctrl+-", "-"), section="View"),
    ActionSpec("preset_header", "Window from DICOM &Header", ("1",), section="Window/level"),
    ActionSpec("preset_auto", "&Automatic Window (1–99 %)", ("2",), section="Window/level"),
    ActionSpec("preset_mr_t1c", "MR &Contrast T1", ("3",), section="Window/level"),
    ActionSpec("preset_mr_t2", "MR &T2", ("4",), section="Window/level"),
    ActionSpec("reset_window", "&Reset Window", ("R",), "Back to the window the series opened with", "reset",
               section="Window/level"),
    ActionSpec("clahe", "&CLAHE Preview", ("C",), "Show the slice after CLAHE, as the staging pipeline sees it",
               "clahe", True, "Image"),
    ActionSpec("cancel", "&Cancel", ("Esc",), "Stop indexing, loading, staging or an export", section="Files"),
    ActionSpec("next_patient", "&Next Patient", ("Ctrl+]",),
               "Open the next worklist row: its T1C and T2 side by side at the ROI's slice", section="Cohort"),
    ActionSpec("previous_patient", "&Previous Patient", ("Ctrl+[",), "Open the previous worklist row",
               section="Cohort"),
    ActionSpec("shortcuts", "&Keyboard Shortcuts", ("F1",), "", "help", section="Help"),
    ActionSpec("first_use_hints", "Show &First-Use Hints", (),
               "A short reminder of the keys on the image while the study has no ROIs", checkable=True,
               section="Help"),
    ActionSpec("about", "&About NPC Desktop", (), section="Help"),
)

GESTURES: tuple[tuple[str, str, str], ...] = (
    ("Slices", "Mouse wheel", "Next / previous slice"),
    ("Slices", "↓ → / ↑ ←", "Next / previous slice"),
    ("Slices", "PageDown / PageUp", "10 slices forward / back"),
    ("Slices", "Home / End", "First / last slice"),
    ("Slices", "Slider under the image", "Any slice"),
    ("Window/level", "Right-button drag", "Horizontal: width (contrast), vertical: level (brightness)"),
    ("View", "Ctrl + mouse wheel", "Zoom about the pointer"),
    ("View", "Left drag (pan tool), middle drag", "Pan"),
    ("Study", "Double-click a series (or Enter)", "Show it in the active viewport"),
    ("Study", "Right-click a series", "Show it in the left or right viewport"),
    ("Study", "Drop a folder, DICOMDIR or zip on the window", "Open it"),
    ("Layout", "Click a viewport", "Make it the active viewport"),
    ("Annotation", "Left drag (Draw ROI tool)", "Draw a ROI on the slice"),
    ("Annotation", "Click a ROI", "Select it; drag it or its handles (Draw ROI tool) to move or resize"),
    ("Annotation", "Right-click a ROI", "Change its kind or delete it"),
    ("Annotation", "Click a row of the ROI list", "Show that ROI's slice; the keys then move through the slices"),
    ("Annotation", "Right-click a row of the ROI list", "Change that ROI's kind or delete it"),
    ("Measurements", "Left drag (Measure Distance tool)", "Draw a ruler; its length in mm is shown on it"),
    ("Measurements", "Two drags (Node Axes tool)", "Long axis, then short axis of the selected lymph-node ROI"),
    ("Measurements", "Click (Mark Cricoid Level tool)", "Mark the cricoid level on an axial slice"),
    ("Measurements", "Drag a handle (a measurement tool)", "Move that end of a ruler or axis"),
    ("Measurements", "Right-click a measurement or its row", "Delete it"),
)


def _icon(name: str) -> QIcon:
    path = ICON_DIR / f"{name}.svg"
    return QIcon(str(path)) if name and path.is_file() else QIcon()


def create_actions(parent: QObject) -> dict[str, QAction]:
    """QActions for every :data:`ACTIONS` entry, keyed by name (not yet connected)."""
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(spec.text, parent)
        action.setObjectName(spec.name)
        if spec.keys:
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if spec.keys:
            tip += f"  ({spec.keys[0]})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setCheckable(spec.checkable)
        if spec.icon:
            action.setIcon(_icon(spec.icon))
        actions[spec.name] = action
    return actions


def shortcut_rows() -> list[tuple[str, str, str]]:
    """(section, keys, what it does) for the help dialog: commands, then mouse and keys."""
    rows = []
    for spec in ACTIONS:
        if spec.keys:
            keys = ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in spec.keys)
            rows.append((spec.section, keys, spec.text.replace("&", "").rstrip("…")))
    rows.extend(GESTURES)
    order = ["Slices", "Window/level", "View", "Mouse tools", "Annotation", "Measurements", "Layout", "Image", "Study",
             "Staging", "Files", "Help"]
    return sorted(rows, key=lambda row: order.index(row[0]) if row[0] in order else len(order))


def find_icon(name: str) -> Optional[QIcon]:
    """An icon of resources/icons by name, or None if the file is missing."""
    icon = _icon(name)
    return None if icon.isNull() else icon
