"""The main window: menus, toolbar, docks, status bar, drag and drop, remembered layout."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import psutil
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStyle,
    QToolBar,
    QToolButton,
    QWidget,
)

from npc_desktop import __version__
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.dicom import StudyIndex
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.gui.actions import create_actions
from npc_desktop.gui.annotation_io import EXPORT_FILTERS, EXPORT_LABELS, EXPORT_SUFFIXES, ExportFormat
from npc_desktop.gui.first_use_hint import SETTING_KEY as FIRST_USE_HINTS_KEY
from npc_desktop.gui.first_use_hint import FirstUseHint
from npc_desktop.gui.overlay import format_date, format_person_name, format_value
from npc_desktop.gui.roi_kind_commands import change_roi_kind, choose_drawing_kind
from npc_desktop.gui.session import SessionModel
from npc_desktop.gui.settings import AppSettings
from npc_desktop.gui.staging_controller import EngineFactories
from npc_desktop.gui.staging_ui import StagingUi
from npc_desktop.gui.state import ClaheSettings, CursorInfo, IngestMessage, Preset, Tool
from npc_desktop.gui.widgets.clahe_panel import ClahePanel
from npc_desktop.gui.widgets.conflict_dialog import ask_which_version
from npc_desktop.gui.widgets.label_panel import PatientLabelPanel
from npc_desktop.gui.widgets.messages_panel import MessagesPanel
from npc_desktop.gui.widgets.patch_preview_panel import PatchPreviewPanel
from npc_desktop.gui.widgets.progress_panel import ProgressPanel
from npc_desktop.gui.widgets.results_panel import ResultsPanel
from npc_desktop.gui.widgets.roi_kind_selector import RoiKindSelector
from npc_desktop.gui.widgets.roi_list_panel import RoiListPanel
from npc_desktop.gui.widgets.shortcut_dialog import ShortcutDialog
from npc_desktop.gui.widgets.study_browser import StudyBrowser
from npc_desktop.gui.widgets.viewer_grid import ViewerGrid

APP_TITLE = "NPC Desktop"
MEMORY_REFRESH_MS = 2000
VIEWPORT_NAMES = ("Left", "Right")
MODEL_START_DELAY_MS = 800
"""After the first image is painted, wait this long before the models start loading (TensorFlow's
import competes with the first interactions for the CPU)."""


class MainWindow(QMainWindow):
    """The clinician's workstation window, a view of one :class:`SessionModel`."""

    first_image_shown = Signal()
    """Emitted once, after the first series image was painted."""

    def __init__(self, session: Optional[SessionModel] = None, settings: Optional[QSettings] = None,
                 parent: Optional[QWidget] = None, *, annotation_store: Optional[AnnotationStore] = None,
                 engine_factories: Optional[EngineFactories] = None, load_models: bool = True) -> None:
        """``annotation_store`` and ``engine_factories`` are used when no ``session`` is given (tests pass
        a temporary store and tiny models). With ``load_models`` the staging models start loading in
        the background once the first image is shown."""
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.session = session if session is not None else SessionModel(
            self, annotation_store=annotation_store, engine_factories=engine_factories)
        self.load_models = load_models
        self.settings = AppSettings(settings)
        self._image_seen = False
        self._opening_demo = False
        self.error_box: Optional[QMessageBox] = None
        self.help_dialog: Optional[ShortcutDialog] = None
        self.grid = ViewerGrid(self.session, self)
        self.setCentralWidget(self.grid)
        self.browser = StudyBrowser(self.session, self)
        self.messages = MessagesPanel(self.session, self)
        self.browser_dock = self._dock("studiesDock", "Studies", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.messages_dock = self._dock("messagesDock", "Messages", self.messages,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        self.messages_dock.hide()
        self.label_panel = PatientLabelPanel(self.session, self)
        self.label_dock = self._dock("labelDock", "Patient Label", self.label_panel,
                                     Qt.DockWidgetArea.LeftDockWidgetArea)
        self.roi_list = RoiListPanel(self.session, self)
        self.roi_dock = self._dock("roiDock", "ROIs", self.roi_list, Qt.DockWidgetArea.RightDockWidgetArea)
        self.patch_panel = PatchPreviewPanel(self.session, self)
        self.patch_dock = self._dock("patchDock", "Patch Preview", self.patch_panel,
                                     Qt.DockWidgetArea.RightDockWidgetArea)
        self.results = ResultsPanel(self.session, self)
        self.results_dock = self._dock("resultsDock", "Staging Results", self.results,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.patch_dock, self.results_dock)
        self.patch_dock.raise_()
        self.kind_selector = RoiKindSelector(self.session, self)
        self.clahe_panel = ClahePanel(self.session, self)
        self.progress = ProgressPanel(self.session, self)
        self.actions_by_name = create_actions(self)
        self.first_use_hint = FirstUseHint(self.session, [v.canvas for v in self.grid.viewports],
                                           enabled=self.settings.flag(FIRST_USE_HINTS_KEY, True), parent=self)
        self.staging_ui = StagingUi(self)
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.setAcceptDrops(True)
        self._restore()

    # -- construction ------------------------------------------------------------------------

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        a = self.actions_by_name
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a["open_folder"], a["open_file"], a["open_demo"]])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        self.export_menu = file_menu.addMenu("&Export Annotations")
        self.export_menu.setObjectName("exportMenu")
        self.export_menu.addActions([a["export_sr"], a["export_csv"], a["export_coco"]])
        file_menu.addActions([a["import_sr"], a["save_annotations"]])
        file_menu.addSeparator()
        file_menu.addActions([a["export_report"], a["export_dataset"]])
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
        view_menu.addActions([self.browser_dock.toggleViewAction(), self.messages_dock.toggleViewAction(),
                              self.label_dock.toggleViewAction(), self.roi_dock.toggleViewAction(),
                              self.patch_dock.toggleViewAction(), self.results_dock.toggleViewAction()])
        image_menu = bar.addMenu("&Image")
        self.preset_menu = image_menu.addMenu("Window &Presets")
        self.preset_menu.addActions([a["preset_header"], a["preset_auto"], a["preset_mr_t1c"], a["preset_mr_t2"]])
        image_menu.addAction(a["reset_window"])
        image_menu.addSeparator()
        image_menu.addAction(a["clahe"])
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addActions([a["tool_pan"], a["tool_zoom"], a["tool_window"], a["tool_roi"]])
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
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([a["shortcuts"], a["first_use_hints"], a["about"]])
        for group_names in (("one_up", "two_up"), ("tool_pan", "tool_zoom", "tool_window", "tool_roi")):
            group = QActionGroup(self)
            group.setExclusive(True)
            for name in group_names:
                group.addAction(a[name])
        self._refresh_recent()

    def _build_toolbar(self) -> None:
        a = self.actions_by_name
        toolbar = QToolBar("Tools", self)
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        toolbar.addAction(a["open_folder"])
        toolbar.addSeparator()
        toolbar.addActions([a["tool_pan"], a["tool_zoom"], a["tool_window"], a["fit"]])
        toolbar.addSeparator()
        toolbar.addAction(a["tool_roi"])
        toolbar.addWidget(self.kind_selector)
        toolbar.addActions([a["delete_roi"], a["undo"], a["redo"]])
        toolbar.addSeparator()
        presets = QToolButton(toolbar)
        presets.setObjectName("presetButton")
        presets.setText("Window")
        presets.setToolTip("Window/level presets (1-4), reset (R)")
        presets.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        presets.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        presets.setMenu(self.preset_menu)
        toolbar.addWidget(presets)
        toolbar.addAction(a["reset_window"])
        toolbar.addSeparator()
        toolbar.addActions([a["one_up"], a["two_up"], a["sync_slices"], a["link_views"]])
        toolbar.addSeparator()
        toolbar.addWidget(self.clahe_panel)
        toolbar.addSeparator()
        toolbar.addActions([a["stage"], a["show_cam"], a["export_report"]])
        spacer = QWidget(toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addAction(a["shortcuts"])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.cursor_label = QLabel(self)
        self.loaded_label = QLabel("Nothing loaded", self)
        self.memory_label = QLabel(self)
        self.save_label = QLabel(self)
        self.save_label.setObjectName("annotationSaveLabel")
        self.warnings_button = QToolButton(self)
        self.warnings_button.setObjectName("warningsButton")
        self.warnings_button.setAutoRaise(True)
        self.warnings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.warnings_button.setIconSize(QSize(14, 14))
        self.warnings_button.setVisible(False)
        self.warnings_button.clicked.connect(self._show_messages)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cursor_label)
        bar.addPermanentWidget(self.warnings_button)
        bar.addPermanentWidget(self.save_label)
        bar.addPermanentWidget(self.staging_ui.models_label)
        bar.addPermanentWidget(self.loaded_label)
        bar.addPermanentWidget(self.memory_label)
        self._process = psutil.Process()
        self._memory_timer = QTimer(self)
        self._memory_timer.timeout.connect(self._update_memory)
        self._memory_timer.start(MEMORY_REFRESH_MS)
        self._update_memory()

    def _connect(self) -> None:
        a, s = self.actions_by_name, self.session
        a["open_folder"].triggered.connect(self.choose_folder)
        a["open_file"].triggered.connect(self.choose_file)
        a["open_demo"].triggered.connect(lambda: self.open_path(None))
        a["quit"].triggered.connect(self.close)
        a["cancel"].triggered.connect(s.cancel_jobs)
        a["one_up"].triggered.connect(lambda: s.set_layout(1))
        a["two_up"].triggered.connect(lambda: s.set_layout(2))
        a["next_viewport"].triggered.connect(self._next_viewport)
        a["sync_slices"].toggled.connect(lambda on: s.set_sync(slices=on))
        a["link_views"].toggled.connect(lambda on: s.set_sync(views=on))
        a["tool_pan"].triggered.connect(lambda: s.set_tool(Tool.PAN))
        a["tool_zoom"].triggered.connect(lambda: s.set_tool(Tool.ZOOM))
        a["tool_window"].triggered.connect(lambda: s.set_tool(Tool.WINDOW))
        a["tool_roi"].triggered.connect(lambda: s.set_tool(Tool.ROI))
        an = s.annotations
        announce = s.status_message.emit
        for name, kind in (("tumour", RoiKind.TUMOUR), ("node", RoiKind.LYMPH_NODE)):
            a[f"kind_{name}"].triggered.connect(lambda _=False, k=kind: choose_drawing_kind(an, k, announce))
            a[f"relabel_{name}"].triggered.connect(
                lambda _=False, k=kind: change_roi_kind(an, an.selected_id, k, announce))
        self.roi_list.roi_chosen.connect(lambda *_: self.grid.active_viewport().canvas.setFocus(
            Qt.FocusReason.OtherFocusReason))
        a["delete_roi"].triggered.connect(lambda: an.delete_roi())
        a["undo"].triggered.connect(an.undo)
        a["redo"].triggered.connect(an.redo)
        a["save_annotations"].triggered.connect(self.save_annotations_now)
        for fmt in ExportFormat:
            a[f"export_{fmt.value}"].triggered.connect(lambda _=False, f=fmt: self.choose_export(f))
        a["import_sr"].triggered.connect(self.choose_import)
        an.undo_stack.canUndoChanged.connect(self._sync_history)
        an.undo_stack.canRedoChanged.connect(self._sync_history)
        an.undo_stack.indexChanged.connect(self._sync_history)
        an.selection_changed.connect(self._sync_history)
        an.current_study_changed.connect(self._sync_history)
        an.rois_changed.connect(self._sync_history)
        s.study_indexed.connect(self._sync_history)
        an.save_state_changed.connect(self._on_save_state)
        a["fit"].triggered.connect(lambda: s.request_fit(s.active))
        a["zoom_in"].triggered.connect(lambda: s.request_zoom(1.25))
        a["zoom_out"].triggered.connect(lambda: s.request_zoom(0.8))
        for preset in Preset:
            a[f"preset_{preset.value}"].triggered.connect(lambda _=False, p=preset: s.apply_preset(p))
        a["reset_window"].triggered.connect(lambda: s.reset_window())
        a["clahe"].toggled.connect(lambda on: s.set_clahe(ClaheSettings(on, s.clahe.clip_limit, s.clahe.tile_grid)))
        a["shortcuts"].triggered.connect(self.show_shortcuts)
        a["first_use_hints"].setChecked(self.first_use_hint.enabled)
        a["first_use_hints"].toggled.connect(self._set_first_use_hints)
        a["about"].triggered.connect(self._about)
        s.error_occurred.connect(self.show_error)
        s.status_message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        s.study_indexed.connect(self._on_study)
        s.study_opened.connect(self._on_opened)
        s.series_loaded.connect(self._update_loaded)
        s.series_loaded.connect(self._focus_viewer)
        s.viewport_cleared.connect(self._update_loaded)
        s.messages_changed.connect(self._on_messages)
        s.cursor_changed.connect(self._on_cursor)
        s.layout_changed.connect(self._sync_actions)
        s.sync_changed.connect(self._sync_actions)
        s.tool_changed.connect(self._sync_actions)
        s.clahe_changed.connect(self._sync_actions)
        self.grid.image_shown.connect(self._on_image_shown)
        self._sync_actions()
        self._sync_history()

    # -- opening -----------------------------------------------------------------------------

    def open_path(self, path: Optional[str]) -> None:
        """Open a folder, DICOMDIR, zip or file; the demo study when None."""
        self._opening_demo = path is None
        self.session.open_path(path)

    def choose_folder(self) -> None:
        """Ask for a folder and open it."""
        folder = QFileDialog.getExistingDirectory(self, "Open DICOM Folder", self.settings.last_folder)
        if folder:
            self.open_path(folder)

    def choose_file(self) -> None:
        """Ask for a DICOMDIR, zip archive or single DICOM file and open it."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open DICOMDIR or Zip", self.settings.last_folder,
            "DICOMDIR or zip (DICOMDIR *.zip);;All files (*)")
        if path:
            self.open_path(path)

    def _on_opened(self, path: str) -> None:
        if self._opening_demo:
            return
        self.settings.last_folder = str(Path(path).parent)
        self.settings.add_recent(path)
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List").triggered.connect(self._clear_recent)
        self.recent_menu.setEnabled(bool(recent))

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._refresh_recent()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.open_path(urls[0].toLocalFile())

    # -- session -> window -------------------------------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        """A non-blocking warning dialog (the status bar says it too)."""
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, title, QMessageBox.StandardButton.Ok, self)
        box.setInformativeText(message)
        box.setObjectName("errorBox")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda *_: setattr(self, "error_box", None))
        self.error_box = box
        box.open()

    def _on_study(self, index: StudyIndex) -> None:
        patient = index.patients[0] if index.patients else None
        if patient is None:
            self.setWindowTitle(APP_TITLE)
            return
        study = patient.studies[0] if patient.studies else None
        parts = [format_person_name(patient.name), patient.patient_id]
        if study is not None and study.date:
            parts.append(format_date(study.date))
        # The app name goes last: Qt appends the display name to a title that does not end with it.
        self.setWindowTitle(" · ".join(p for p in parts if p) + f" — {APP_TITLE}")

    def _update_loaded(self, *_: object) -> None:
        parts, tips = [], []
        for vp, state in enumerate(self.session.viewports):
            volume = state.volume
            if volume is not None:
                slices, rows, cols = volume.shape
                name = volume.meta.series_description or volume.meta.modality
                tips.append(f"{VIEWPORT_NAMES[vp]}: {name}, {cols} × {rows} × {slices}, "
                            f"{volume.voxels.nbytes / 2**20:.0f} MB")
                short = name if len(name) <= 22 else name[:21] + "…"
                parts.append(f"{VIEWPORT_NAMES[vp]}: {short} {cols}×{rows}×{slices}")
        self.loaded_label.setText("   ".join(parts) if parts else "Nothing loaded")
        self.loaded_label.setToolTip("\n".join(tips))

    def _update_memory(self) -> None:
        try:
            rss = self._process.memory_info().rss
        except psutil.Error:
            return
        self.memory_label.setText(f"Memory {rss / 2**20:,.0f} MB")

    def _on_messages(self, messages: list[IngestMessage]) -> None:
        warnings = sum(1 for m in messages if m.severity == "warning")
        infos = len(messages) - warnings
        style = self.style()
        if warnings:
            self.warnings_button.setText(f"{warnings} warning{'s' if warnings > 1 else ''}")
            self.warnings_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
        elif infos:
            self.warnings_button.setText(f"{infos} note{'s' if infos > 1 else ''}")
            self.warnings_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation))
        self.warnings_button.setToolTip("Show the ingestion messages")
        self.warnings_button.setVisible(bool(messages))
        if warnings:
            self.messages_dock.show()

    def _show_messages(self) -> None:
        self.messages_dock.show()
        self.messages_dock.raise_()

    def _on_cursor(self, info: Optional[CursorInfo]) -> None:
        if info is None:
            self.cursor_label.setText("")
            return
        x, y, z = info.patient_mm
        volume = self.session.viewports[info.viewport].volume
        value = format_value(info.value, volume is not None and volume.voxels.dtype.kind in "iu")
        self.cursor_label.setText(f"({x:.1f}, {y:.1f}, {z:.1f}) mm   value {value}")

    def _sync_actions(self, *_: object) -> None:
        a, s = self.actions_by_name, self.session
        for name, on in (("one_up", s.layout == 1), ("two_up", s.layout == 2),
                         ("sync_slices", s.sync_slices), ("link_views", s.link_views),
                         ("tool_pan", s.tool is Tool.PAN), ("tool_zoom", s.tool is Tool.ZOOM),
                         ("tool_window", s.tool is Tool.WINDOW), ("tool_roi", s.tool is Tool.ROI),
                         ("clahe", s.clahe.enabled)):
            a[name].blockSignals(True)
            a[name].setChecked(on)
            a[name].blockSignals(False)

    def _sync_history(self, *_: object) -> None:
        a, an = self.actions_by_name, self.session.annotations
        stack = an.undo_stack
        for name, can, text in (("undo", stack.canUndo(), stack.undoText()), ("redo", stack.canRedo(), stack.redoText())):
            a[name].setEnabled(can)
            label = name.capitalize() + (f" {text}" if can and text else "")
            a[name].setText(label)
            a[name].setToolTip(label + f"  ({a[name].shortcut().toString()})")
        a["delete_roi"].setEnabled(an.selected_id is not None)
        has_rois = an.current is not None and len(an.current) > 0
        for fmt in ExportFormat:
            a[f"export_{fmt.value}"].setEnabled(has_rois)
        a["import_sr"].setEnabled(self.session.index is not None)

    def _on_save_state(self, ok: bool, text: str) -> None:
        self.save_label.setText("" if ok else "⚠ " + text)
        self.save_label.setToolTip(str(self.session.annotations.store.directory))
        self.save_label.setStyleSheet("" if ok else "color: #ff8a65; font-weight: bold;")
        self.statusBar().showMessage(text, 10000)

    def save_annotations_now(self) -> None:
        """Retry saving every annotation change that could not be written; where another program
        changed the file, ask which version stays."""
        annotations = self.session.annotations
        self.label_panel.commit_pending()
        annotations.flush()
        for study_uid, conflict in annotations.conflicts().items():
            keep_mine = ask_which_version(self, conflict)
            if keep_mine is not None:
                self.statusBar().showMessage(annotations.resolve_conflict(study_uid, keep_mine=keep_mine), 15000)
        if not annotations.has_unsaved:
            self.statusBar().showMessage("All annotations are saved", 5000)

    # -- export / import ---------------------------------------------------------------------

    def choose_export(self, fmt: ExportFormat) -> None:
        """Ask where (and, for CSV and COCO, under which pseudonym) to export the study's ROIs."""
        start = str(Path(self.settings.last_folder) / f"annotations{EXPORT_SUFFIXES[fmt]}")
        path, _ = QFileDialog.getSaveFileName(self, f"Export ROIs as {EXPORT_LABELS[fmt]}", start,
                                              EXPORT_FILTERS[fmt])
        if not path:
            return
        patient = "patient1"
        if fmt is not ExportFormat.SR:
            patient, ok = QInputDialog.getText(
                self, "Pseudonymous patient ID",
                "Patient ID written into the export (letters, digits, - and _; not the real ID):", text=patient)
            if not ok:
                return
        self.session.export_annotations(fmt, path, patient=patient.strip())

    def choose_import(self) -> None:
        """Ask for a DICOM SR file and add its ROIs."""
        path, _ = QFileDialog.getOpenFileName(self, "Import ROIs from DICOM SR", self.settings.last_folder,
                                              "DICOM SR (*.dcm);;All files (*)")
        if path:
            self.session.import_sr(path)

    def _on_image_shown(self) -> None:
        if not self._image_seen:
            self._image_seen = True
            self.first_image_shown.emit()
            if self.load_models:
                QTimer.singleShot(MODEL_START_DELAY_MS, self._start_models)

    def _start_models(self) -> None:
        if self.load_models and self.isVisible():
            self.staging_ui.start_models()

    def _focus_viewer(self, vp: int, *_: object) -> None:
        """Put the keyboard on the image just shown, unless the user is typing somewhere."""
        focus = QApplication.focusWidget()
        if vp == self.session.active and not isinstance(focus, (QAbstractSpinBox, QLineEdit)):
            self.grid.viewports[vp].canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    def _next_viewport(self) -> None:
        self.session.set_layout(2)
        self.session.set_active((self.session.active + 1) % len(self.session.viewports))
        self.grid.active_viewport().canvas.setFocus()

    # -- dialogs -----------------------------------------------------------------------------

    def show_shortcuts(self) -> None:
        """The keyboard and mouse reference (non-modal)."""
        if self.help_dialog is None:
            self.help_dialog = ShortcutDialog(self)
        self.help_dialog.show()
        self.help_dialog.raise_()

    def _set_first_use_hints(self, on: bool) -> None:
        self.first_use_hint.set_enabled(on)
        self.settings.set_value(FIRST_USE_HINTS_KEY, on)
        self.settings.sync()

    def _about(self) -> None:
        QMessageBox.about(
            self, f"About {APP_TITLE}",
            f"{APP_TITLE} {__version__}\n\nMR staging support for nasopharyngeal carcinoma "
            "(stage III vs IVa). It supports the clinician's decision; it does not replace "
            "the TNM assessment.")

    # -- settings ----------------------------------------------------------------------------

    def _restore(self) -> None:
        st = self.settings
        geometry = st.byte_array("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = st.byte_array("window/state")
        if state is not None:
            self.restoreState(state)
        else:
            self.resizeDocks([self.browser_dock, self.roi_dock], [280, 340], Qt.Orientation.Horizontal)
            self.resizeDocks([self.browser_dock, self.label_dock], [520, 260], Qt.Orientation.Vertical)
            self.resizeDocks([self.roi_dock, self.patch_dock], [300, 480], Qt.Orientation.Vertical)
            self.resizeDocks([self.messages_dock], [160], Qt.Orientation.Vertical)
        splitter = st.byte_array("viewer/splitter")
        if splitter is not None:
            self.grid.restore_state(splitter)
        self.session.set_sync(slices=st.flag("viewer/sync_slices", True), views=st.flag("viewer/link_views", True))
        self.session.set_clahe(ClaheSettings(False, st.number("viewer/clahe_clip", 2.0),
                                             int(st.number("viewer/clahe_tiles", 8))))

    def save_settings(self) -> None:
        """Remember the window layout and the viewer switches."""
        st = self.settings
        st.set_value("window/geometry", self.saveGeometry())
        st.set_value("window/state", self.saveState())
        st.set_value("viewer/splitter", self.grid.save_state())
        st.set_value("viewer/sync_slices", self.session.sync_slices)
        st.set_value("viewer/link_views", self.session.link_views)
        st.set_value("viewer/clahe_clip", self.session.clahe.clip_limit)
        st.set_value("viewer/clahe_tiles", self.session.clahe.tile_grid)
        st.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.label_panel.commit_pending()
        annotations = self.session.annotations
        if not annotations.flush():
            conflicts = annotations.conflicts()
            kept = "".join(f"\n{c.path.name} was changed by another program; your version is in "
                           f"{c.conflict_path or 'memory only'}." for c in conflicts.values())
            answer = QMessageBox.warning(
                self, "Annotations not saved",
                "Some annotation changes could not be saved to their study file.\n"
                f"{kept}\n\nWhat is only in memory is lost if you close now. Check the folder "
                f"{annotations.store.directory} and choose Retry, or close anyway.",
                QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Close
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Retry)
            if answer != QMessageBox.StandardButton.Close:
                event.ignore()
                if answer == QMessageBox.StandardButton.Retry:
                    self.save_annotations_now()
                return
        self.save_settings()
        self._memory_timer.stop()
        self.load_models = False
        self.session.shutdown()
        super().closeEvent(event)

