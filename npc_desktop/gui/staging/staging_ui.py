"""The main window's staging commands: models, Stage, Grad-CAM toggle and the report.

:class:`StagingUi` is made by the main window with a
:class:`~npc_desktop.gui.window_context.WindowContext`; it connects the staging actions to the
session's :class:`~npc_desktop.gui.staging.staging_controller.StagingController`, keeps the models'
status-bar label current, and runs the report dialog. The work itself runs in the session
(inference thread, thread pool); this class only asks and reports.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.gui.staging.report_dialog import ReportDialog
from npc_desktop.gui.staging.report_export import ReportRequest, ReportWritten, report_job
from npc_desktop.gui.staging.staging_session import StagingSession
from npc_desktop.gui.staging.staging_state import ModelPhase, ModelStatus, StagedResult
from npc_desktop.gui.window_context import WindowContext

UNTRAINED_STYLE = "color: #ff8a65; font-weight: bold;"


class StagingUi(QObject):
    """Staging commands of one main window (see the module docstring)."""

    def __init__(self, context: WindowContext, session: StagingSession, show_results: Callable[[], None]) -> None:
        """``show_results`` shows and raises the Staging Results dock."""
        super().__init__(context.parent)
        self.context = context
        self.session = session
        self.staging = session.staging
        self._show_results = show_results
        self.models_label = QLabel(context.parent)
        self.models_label.setObjectName("modelsLabel")
        self.dialog: Optional[Any] = None
        self._after_result: Optional[Callable[[], None]] = None
        a, st = context.actions, self.staging
        a["stage"].triggered.connect(lambda: st.stage())
        a["stage_selected"].triggered.connect(self.stage_selected)
        a["show_cam"].toggled.connect(lambda on: st.set_cam(visible=on))
        a["open_bundle"].triggered.connect(self.choose_bundle)
        a["use_demo_models"].triggered.connect(self.use_demo)
        a["runtime_onnx"].triggered.connect(lambda: self.set_runtime("onnx"))
        a["runtime_tf"].triggered.connect(lambda: self.set_runtime("tf"))
        a["export_report"].triggered.connect(self.export_report)
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

    @property
    def info_box(self) -> Optional[QMessageBox]:
        """The message saying the last report was written (None once closed)."""
        return self.context.done.box

    # -- models ----------------------------------------------------------------------------------

    def start_models(self) -> None:
        """Load the remembered bundle (or the untrained demo) in the background, once."""
        if self.staging.started:
            return
        self.staging.factories = replace(self.staging.factories, runtime=self.context.settings.staging_runtime)
        bundle = self.context.settings.model_bundle
        if bundle is not None and not Path(bundle).is_dir():
            self.session.status_message.emit(f"Model bundle {bundle} not found; using the untrained demo models")
            bundle = None
        self.staging.start(bundle)

    def choose_bundle(self) -> None:
        """Ask for a bundle folder and load it (remembered for the next start)."""
        start = self.context.settings.model_bundle or self.context.settings.last_folder
        folder = QFileDialog.getExistingDirectory(self.context.parent, "Open Model Bundle (the folder with manifest.json)",
                                                  start)
        if folder and self.staging.use_bundle(folder):
            self.context.settings.model_bundle = str(Path(folder))

    def use_demo(self) -> None:
        """Switch to the untrained demo members (remembered)."""
        self.context.settings.model_bundle = None
        if self.staging.status.bundle is not None or self.staging.status.phase is ModelPhase.FAILED \
                or not self.staging.started:
            self.staging.use_demo()
        self._set_checked("use_demo_models", True)

    def set_runtime(self, runtime: str) -> None:
        """Stage with ``runtime`` ("onnx" or "tf") from now on (remembered); reload the models in use."""
        self.context.settings.staging_runtime = runtime
        changed = runtime != self.staging.factories.runtime
        self.staging.factories = replace(self.staging.factories, runtime=runtime)
        if changed and self.staging.started:
            self.staging.start(self.staging.status.bundle)
        self._on_status(self.staging.status)

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
        self._set_checked("runtime_onnx", self.staging.factories.runtime == "onnx")
        self._set_checked("runtime_tf", self.staging.factories.runtime == "tf")

    def _set_checked(self, name: str, on: bool) -> None:
        self.context.set_checked(name, on)

    # -- staging ---------------------------------------------------------------------------------

    def stage_selected(self) -> None:
        """Stage only the selected ROI."""
        selected = self.session.annotations.selected_id
        if selected is None:
            self.session.status_message.emit("Select a ROI first (click it, or a row of the ROI list)")
            return
        self.staging.stage([selected])

    def _sync(self, *_: object) -> None:
        a, an = self.context.actions, self.session.annotations
        current = an.current
        has_rois = current is not None and len(current) > 0
        a["stage"].setEnabled(has_rois)
        a["stage_selected"].setEnabled(has_rois and an.selected_id is not None)

    def _on_result(self, staged: Optional[StagedResult]) -> None:
        if staged is None:
            return
        self._show_results()
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
                self.context.parent, "Stage first?", f"{why}\n\nStage the study's ROIs now and then export the report?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
            if answer == QMessageBox.StandardButton.Yes and st.stage():
                self._after_result = self.export_report
            return
        result = st.staged.result
        summary = f"Report of the last staging: {exports_summary(result)}"
        dialog = ReportDialog(self.context.settings, summary, self.context.parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._write_report(dialog.request()))
        self.dialog = dialog
        dialog.open()

    def _write_report(self, request: ReportRequest) -> None:
        staged = self.staging.staged
        if staged is None:
            return
        index = self.session.index
        study = None
        if index is not None:
            study = next((s for p in index.patients for s in p.studies
                          if s.study_instance_uid == staged.study_uid), None)
        # The sign-off is read now, not at staging time: the note is usually written after staging.
        self.context.commit_pending_edits()
        current = self.session.annotations.study(staged.study_uid)
        label = current.label if current is not None else None
        # The TNM form too: a copy, since the job runs on another thread.
        now = AnnotationSet.from_dict(current.to_dict()) if current is not None else None
        loaded = {v.meta.series_instance_uid: v for v in self.session.loaded_volumes() if v is not None}
        self.session.jobs.submit(
            f"Writing report {request.path.name}",
            lambda progress, cancel: report_job(staged, request, study, index, progress, cancel, label=label,
                                                current=now, more_volumes=loaded),
            self._report_written,
            on_failed=lambda message: self.session.error_occurred.emit("Report not written", message),
            on_cancelled=lambda: self.session.status_message.emit("Report export cancelled"),
        )

    def _report_written(self, written: ReportWritten) -> None:
        files = [str(written.pdf)] + ([str(written.dicom)] if written.dicom is not None else [])
        self.session.status_message.emit(f"Report written: {written.pdf}")
        self.context.done.show("Report written", f"{written.stage_text}\n\n" + "\n".join(files), written.pdf.parent)


def exports_summary(result: Any) -> str:
    """``"IVa (p = 0.62), agreement 60%, 4 patches"`` with the untrained mark when it applies."""
    from npc_desktop.core.reports.assemble import stage_label_text

    count = len(result.patches)
    text = f"{stage_label_text(result)}, {count} patch{'es' if count != 1 else ''}"
    return text if not result.untrained_demo or UNTRAINED_LABEL in text else f"{UNTRAINED_LABEL}: {text}"
