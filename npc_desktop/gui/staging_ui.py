"""The main window's staging commands: models, Stage, Grad-CAM toggle, report and dataset exports.

:class:`StagingUi` is created by the :class:`~npc_desktop.gui.main_window.MainWindow`; it connects
the staging actions to the session's :class:`~npc_desktop.gui.staging_controller.StagingController`,
keeps the models' status-bar label current, and runs the export dialogs. The work itself runs
in the session (inference thread, thread pool); this class only asks and reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.gui import exports
from npc_desktop.gui.staging_state import ModelPhase, ModelStatus, StagedResult
from npc_desktop.gui.widgets.dataset_dialog import DatasetDialog
from npc_desktop.gui.widgets.report_dialog import ReportDialog

if TYPE_CHECKING:
    from npc_desktop.gui.main_window import MainWindow

UNTRAINED_STYLE = "color: #ff8a65; font-weight: bold;"


class StagingUi(QObject):
    """Staging commands of one main window (see the module docstring)."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.staging = window.session.staging
        self.models_label = QLabel(window)
        self.models_label.setObjectName("modelsLabel")
        self.dialog: Optional[Any] = None
        self.info_box: Optional[QMessageBox] = None
        self._after_result: Optional[Callable[[], None]] = None
        a, st = window.actions_by_name, self.staging
        a["stage"].triggered.connect(lambda: st.stage())
        a["stage_selected"].triggered.connect(self.stage_selected)
        a["show_cam"].toggled.connect(lambda on: st.set_cam(visible=on))
        a["open_bundle"].triggered.connect(self.choose_bundle)
        a["use_demo_models"].triggered.connect(self.use_demo)
        a["export_report"].triggered.connect(self.export_report)
        a["export_dataset"].triggered.connect(self.export_dataset)
        st.status_changed.connect(self._on_status)
        st.cam_changed.connect(lambda cam: self._set_checked("show_cam", cam.visible))
        st.result_changed.connect(self._on_result)
        st.busy_changed.connect(self._on_busy)
        self.session.annotations.selection_changed.connect(self._sync)
        self.session.annotations.rois_changed.connect(self._sync)
        self.session.annotations.current_study_changed.connect(self._sync)
        self._on_status(st.status)
        self._set_checked("show_cam", st.cam.visible)
        self._sync()

    # -- models ----------------------------------------------------------------------------------

    def start_models(self) -> None:
        """Load the remembered bundle (or the untrained demo) in the background, once."""
        if self.staging.started:
            return
        bundle = self.window.settings.model_bundle
        if bundle is not None and not Path(bundle).is_dir():
            self.session.status_message.emit(f"Model bundle {bundle} not found; using the untrained demo models")
            bundle = None
        self.staging.start(bundle)

    def choose_bundle(self) -> None:
        """Ask for a bundle folder and load it (remembered for the next start)."""
        start = self.window.settings.model_bundle or self.window.settings.last_folder
        folder = QFileDialog.getExistingDirectory(self.window, "Open Model Bundle (the folder with manifest.json)",
                                                  start)
        if folder and self.staging.use_bundle(folder):
            self.window.settings.model_bundle = str(Path(folder))

    def use_demo(self) -> None:
        """Switch to the untrained demo members (remembered)."""
        self.window.settings.model_bundle = None
        if self.staging.status.bundle is not None or self.staging.status.phase is ModelPhase.FAILED \
                or not self.staging.started:
            self.staging.use_demo()
        self._set_checked("use_demo_models", True)

    def _on_status(self, status: ModelStatus) -> None:
        label = self.models_label
        label.setText(status.text)
        label.setToolTip(status.tooltip)
        if status.phase is ModelPhase.FAILED:
            label.setStyleSheet("color: #ff8a65;")
        elif status.untrained:
            label.setStyleSheet(UNTRAINED_STYLE)
        else:
            label.setStyleSheet("")
        self._set_checked("use_demo_models", status.bundle is None and status.phase is not ModelPhase.IDLE)

    def _set_checked(self, name: str, on: bool) -> None:
        action = self.window.actions_by_name[name]
        action.blockSignals(True)
        action.setChecked(on)
        action.blockSignals(False)

    # -- staging ---------------------------------------------------------------------------------

    def stage_selected(self) -> None:
        """Stage only the selected ROI."""
        selected = self.session.annotations.selected_id
        if selected is None:
            self.session.status_message.emit("Select a ROI first (click it, or a row of the ROI list)")
            return
        self.staging.stage([selected])

    def _sync(self, *_: object) -> None:
        a, an = self.window.actions_by_name, self.session.annotations
        current = an.current
        has_rois = current is not None and len(current) > 0
        a["stage"].setEnabled(has_rois)
        a["stage_selected"].setEnabled(has_rois and an.selected_id is not None)
        a["export_dataset"].setEnabled(current is not None)

    def _on_result(self, staged: Optional[StagedResult]) -> None:
        if staged is None:
            return
        dock = self.window.results_dock
        dock.show()
        dock.raise_()
        follow, self._after_result = self._after_result, None
        if follow is not None:
            follow()

    def _on_busy(self, busy: bool) -> None:
        if not busy:  # the request ended (a result was handled before this) or failed, or was cancelled
            self._after_result = None

    # -- report ----------------------------------------------------------------------------------

    def export_report(self) -> None:
        """Ask how to write the report of the last staging result (offering to stage first)."""
        st = self.staging
        if st.staged is None or st.stale or st.staged.partial or st.staged.stored_at is not None:
            if st.staged is None:
                why = "There is no staging result for this study yet."
            elif st.staged.stored_at is not None:
                why = ("The result shown was stored when the study was last open, without the Grad-CAM maps "
                       "and images a report shows.")
            elif st.stale:
                why = "The ROIs changed after the last staging: its result is out of date."
            else:
                why = ("The last staging covered only the selected ROI, not all of the study's ROIs: "
                       "it is not the patient-level result a report needs.")
            answer = QMessageBox.question(
                self.window, "Stage first?", f"{why}\n\nStage the study's ROIs now and then export the report?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
            if answer == QMessageBox.StandardButton.Yes and st.stage():
                self._after_result = self.export_report
            return
        result = st.staged.result
        summary = f"Report of the last staging: {exports_summary(result)}"
        dialog = ReportDialog(self.window.settings, summary, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._write_report(dialog.request()))
        self.dialog = dialog
        dialog.open()

    def _write_report(self, request: exports.ReportRequest) -> None:
        staged = self.staging.staged
        if staged is None:
            return
        index = self.session.index
        study = None
        if index is not None:
            study = next((s for p in index.patients for s in p.studies
                          if s.study_instance_uid == staged.study_uid), None)
        # The sign-off is read now, not at staging time: the note is usually written after staging.
        self.window.label_panel.commit_pending()
        current = self.session.annotations.study(staged.study_uid)
        label = current.label if current is not None else None
        self.session.jobs.submit(
            f"Writing report {request.path.name}",
            lambda progress, cancel: exports.report_job(staged, request, study, index, progress, cancel, label=label),
            self._report_written,
            on_failed=lambda message: self.session.error_occurred.emit("Report not written", message),
            on_cancelled=lambda: self.session.status_message.emit("Report export cancelled"),
        )

    def _report_written(self, written: exports.ReportWritten) -> None:
        files = [str(written.pdf)] + ([str(written.dicom)] if written.dicom is not None else [])
        self.session.status_message.emit(f"Report written: {written.pdf}")
        self._done("Report written", f"{written.stage_text}\n\n" + "\n".join(files), written.pdf.parent)

    # -- dataset ---------------------------------------------------------------------------------

    def export_dataset(self) -> None:
        """Ask for the dataset settings and export the open study's ROIs in the background."""
        annotations = self.session.annotations.current
        problem = exports.dataset_problem(annotations)
        if problem is not None or self.session.index is None:
            self.session.error_occurred.emit("Cannot export a patch dataset", problem or "Open a study first.")
            return
        rois = len(annotations.rois)
        summary = (f"{rois} ROI{'s' if rois != 1 else ''} of the open study, stage {annotations.label.stage.value}: "
                   "each patch as the raw 16-bit crop and the 8-bit CLAHE model input.")
        dialog = DatasetDialog(self.window.settings, self.session.annotations.margin, summary, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._write_dataset(dialog.request()))
        self.dialog = dialog
        dialog.open()

    def _write_dataset(self, request: exports.DatasetRequest) -> None:
        annotations = self.session.annotations.current
        index = self.session.index
        if annotations is None or index is None:
            return
        self.session.annotations.flush()
        snapshot = type(annotations).from_dict(annotations.to_dict())
        root = Path(index.root)
        self.session.jobs.submit(
            f"Exporting patches to {request.out_dir.name}",
            lambda progress, cancel: exports.dataset_job(root, snapshot, request, progress, cancel),
            self._dataset_written,
            on_failed=lambda message: self.session.error_occurred.emit("Patch dataset not exported", message),
            on_cancelled=lambda: self.session.status_message.emit("Patch dataset export cancelled"),
        )

    def _dataset_written(self, result: Any) -> None:
        split = result.split
        text = (f"{result.patches} patch{'es' if result.patches != 1 else ''} of {result.patients} patient(s) "
                f"in {result.root}\nTraining patients: {len(split.train)}, test patients: {len(split.test)}")
        if result.mapping_file is not None:
            text += f"\nPseudonym mapping (holds patient identity): {result.mapping_file}"
        if result.notes:
            text += "\n\nNotes:\n" + "\n".join(result.notes)
        self.session.status_message.emit(f"Patch dataset written to {result.root}")
        self._done("Patch dataset exported", text, result.root)

    # -- shared ----------------------------------------------------------------------------------

    def _done(self, title: str, text: str, folder: Path) -> None:
        """A non-blocking success message with an Open Folder button."""
        if self.info_box is not None:
            self.info_box.close()
        box = QMessageBox(QMessageBox.Icon.Information, title, title, QMessageBox.StandardButton.Close, self.window)
        box.setObjectName("exportDoneBox")
        box.setInformativeText(text)
        open_button = box.addButton("Open Folder", QMessageBox.ButtonRole.ActionRole)
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda *_: setattr(self, "info_box", None))
        self.info_box = box
        box.open()


def exports_summary(result: Any) -> str:
    """``"IVa (p = 0.62), agreement 60%, 4 patches"`` with the untrained mark when it applies."""
    from npc_desktop.core.reports.assemble import stage_label_text

    count = len(result.patches)
    text = f"{stage_label_text(result)}, {count} patch{'es' if count != 1 else ''}"
    return text if not result.untrained_demo or UNTRAINED_LABEL in text else f"{UNTRAINED_LABEL}: {text}"
