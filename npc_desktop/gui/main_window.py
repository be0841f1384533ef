"""The main window: the shell that composes the feature packages into the workstation.

It builds the session, the viewer grid with the annotation and Grad-CAM layers, the docks, the
actions, menus, toolbar and status bar, and hands each feature's commands a
:class:`~npc_desktop.gui.window_context.WindowContext`. Opening studies, the recent list, drag and
drop, error messages and the remembered layout are its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from npc_desktop import __version__
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.dicom import StudyIndex
from npc_desktop.gui.actions import create_actions
from npc_desktop.gui.annotation.annotation_ui import AnnotationUi
from npc_desktop.gui.annotation.first_use_hint import SETTING_KEY as FIRST_USE_HINTS_KEY
from npc_desktop.gui.annotation.first_use_hint import FirstUseHint
from npc_desktop.gui.annotation.label_panel import PatientLabelPanel
from npc_desktop.gui.annotation.measurement_layer import MeasurementLayer
from npc_desktop.gui.annotation.patch_preview_panel import PatchPreviewPanel
from npc_desktop.gui.annotation.roi_kind_selector import RoiKindSelector
from npc_desktop.gui.annotation.roi_layer import RoiLayer
from npc_desktop.gui.annotation.roi_list_panel import RoiListPanel
from npc_desktop.gui.cohort.worklist_ui import WorklistUi
from npc_desktop.gui.done_message import DoneMessage
from npc_desktop.gui.network.pacs_ui import PacsUi
from npc_desktop.gui.pacs_wiring import results_to_send
from npc_desktop.gui.progress_panel import ProgressPanel
from npc_desktop.gui.research.research_ui import ResearchUi
from npc_desktop.gui.session import SessionModel
from npc_desktop.gui.settings import AppSettings
from npc_desktop.gui.shortcut_dialog import ShortcutDialog
from npc_desktop.gui.staging.cam_layer import CamLayer
from npc_desktop.gui.staging.engine_factories import EngineFactories
from npc_desktop.gui.staging.results_panel import ResultsPanel
from npc_desktop.gui.staging.staging_ui import StagingUi
from npc_desktop.gui.state import ClaheSettings, CursorInfo, IngestMessage, Preset, Tool
from npc_desktop.gui.status_readouts import StatusReadouts
from npc_desktop.gui.tnm.tnm_panel import TnmPanel
from npc_desktop.gui.tnm_wiring import connect_tnm
from npc_desktop.gui.viewer.clahe_panel import ClahePanel
from npc_desktop.gui.viewer.messages_panel import MessagesPanel
from npc_desktop.gui.viewer.overlay import format_date, format_person_name
from npc_desktop.gui.viewer.study_browser import StudyBrowser
from npc_desktop.gui.viewer.viewer_grid import ViewerGrid
from npc_desktop.gui.window_context import WindowContext
from npc_desktop.gui.window_menus import build_menus, build_toolbar

APP_TITLE = "NPC Desktop"
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
        session = self.session
        self.grid = ViewerGrid(session, self, layers={
            "rois": lambda index, canvas: RoiLayer(session, index, canvas),
            "measurements": lambda index, canvas: MeasurementLayer(session, index, canvas),
            "cams": lambda index, canvas: CamLayer(session, index, canvas),
        })
        for viewport in self.grid.viewports:
            viewport.layers["measurements"].show_marks_on(viewport.slider)
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
        self.tnm_panel = TnmPanel(self.session, self)
        self.tnm_dock = self._dock("tnmDock", "TNM", self.tnm_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.patch_dock, self.results_dock)
        self.tabifyDockWidget(self.results_dock, self.tnm_dock)
        self.patch_dock.raise_()
        self.kind_selector = RoiKindSelector(self.session, self)
        self.clahe_panel = ClahePanel(self.session, self)
        self.progress = ProgressPanel(self.session, self)
        self.actions_by_name = create_actions(self)
        self.first_use_hint = FirstUseHint(self.session, [v.canvas for v in self.grid.viewports],
                                           enabled=self.settings.flag(FIRST_USE_HINTS_KEY, True), parent=self)
        context = WindowContext(self, self.actions_by_name, self.settings, self.label_panel.commit_pending,
                                self.statusBar().showMessage, DoneMessage(self))
        self.staging_ui = StagingUi(context, session, self._show_results)
        self.research_ui = ResearchUi(context, session)
        self.pacs_ui = PacsUi(context, self.open_path, lambda: results_to_send(session), self.show_error)
        self.worklist_ui = WorklistUi(context, session, self._batch_engine)
        self.worklist_dock = self._dock("worklistDock", "Worklist", self.worklist_ui.panel,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        self.worklist_dock.hide()
        self.readouts = StatusReadouts(self.statusBar(), [self.progress], [self.staging_ui.models_label],
                                       self._show_messages)
        self.cursor_label, self.save_label = self.readouts.cursor_label, self.readouts.save_label
        self.loaded_label, self.warnings_button = self.readouts.loaded_label, self.readouts.warnings_button
        self.annotation_ui = AnnotationUi(context, session, self._on_save_state)
        docks = (self.browser_dock, self.messages_dock, self.label_dock, self.roi_dock, self.patch_dock,
                 self.results_dock, self.tnm_dock, self.worklist_dock)
        menus = build_menus(self, self.actions_by_name, [dock.toggleViewAction() for dock in docks])
        self.recent_menu, self.export_menu, self.preset_menu = menus["recent"], menus["export"], menus["presets"]
        self._refresh_recent()
        self.toolbar = build_toolbar(self, self.actions_by_name, self.preset_menu, self.kind_selector,
                                     self.clahe_panel)
        self._connect()
        connect_tnm(self.tnm_panel, session.staging, self.results)
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
        for tool in (Tool.ROI, Tool.RULER, Tool.NODE_AXES, Tool.CRICOID):
            a[f"tool_{tool.value}"].triggered.connect(lambda _=False, t=tool: s.set_tool(t))
        self.roi_list.roi_chosen.connect(self._give_keys_to_viewer)
        self.roi_list.measurements.measurement_chosen.connect(self._give_keys_to_viewer)
        self.results.roi_chosen.connect(self._give_keys_to_viewer)
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
        # A replaced box is deleted later: only forget the box that is still the current one.
        box.destroyed.connect(lambda *_, old=box: setattr(self, "error_box", None) if self.error_box is old else None)
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
        self.readouts.show_loaded(self.session.viewports)

    def _on_messages(self, messages: list[IngestMessage]) -> None:
        if self.readouts.show_messages(messages):
            self.messages_dock.show()

    def _show_messages(self) -> None:
        self.messages_dock.show()
        self.messages_dock.raise_()

    def _on_cursor(self, info: Optional[CursorInfo]) -> None:
        volume = self.session.viewports[info.viewport].volume if info is not None else None
        self.readouts.show_cursor(info, volume is not None and volume.voxels.dtype.kind in "iu")

    def _sync_actions(self, *_: object) -> None:
        a, s = self.actions_by_name, self.session
        for name, on in (("one_up", s.layout == 1), ("two_up", s.layout == 2),
                         ("sync_slices", s.sync_slices), ("link_views", s.link_views),
                         ("tool_pan", s.tool is Tool.PAN), ("tool_zoom", s.tool is Tool.ZOOM),
                         ("tool_window", s.tool is Tool.WINDOW), ("clahe", s.clahe.enabled),
                         *((f"tool_{t.value}", s.tool is t) for t in (Tool.ROI, Tool.RULER, Tool.NODE_AXES,
                                                                        Tool.CRICOID))):
            a[name].blockSignals(True)
            a[name].setChecked(on)
            a[name].blockSignals(False)

    def _on_save_state(self, ok: bool, text: str) -> None:
        self.readouts.show_save_state(ok, text, str(self.session.annotations.store.directory))

    def save_annotations_now(self) -> None:
        """Retry saving every annotation change that could not be written (File > Save Annotations Now)."""
        self.annotation_ui.save_now()

    def _batch_engine(self) -> tuple:
        """The worklist's batch staging uses the models chosen in the Models menu (the demo by default)."""
        staging = self.session.staging
        bundle = staging.status.bundle
        factory = staging.factories.demo_factory() if bundle is None else staging.factories.bundle_factory(bundle)
        return factory, bundle or "the untrained demo models (UNTRAINED DEMO - not a prediction)"

    def _show_results(self) -> None:
        self.results_dock.show()
        self.results_dock.raise_()

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

    def _give_keys_to_viewer(self, *_: object) -> None:
        """After a click that showed a ROI, the slice keys belong to the viewer again."""
        self.grid.active_viewport().canvas.setFocus(Qt.FocusReason.OtherFocusReason)

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
        if not self.annotation_ui.may_close():
            event.ignore()
            return
        self.save_settings()
        self.readouts.stop()
        self.pacs_ui.shutdown()
        self.load_models = False
        self.worklist_ui.cancel_batch()
        self.session.shutdown()
        self.worklist_ui.close()
        super().closeEvent(event)
