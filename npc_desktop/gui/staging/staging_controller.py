"""Staging in the workstation: the models in the background, "Stage", results, Grad-CAM settings.

:class:`StagingController` belongs to the :class:`~npc_desktop.gui.session.SessionModel`. It owns
one :class:`~npc_desktop.gui.staging.inference_worker.InferenceService` (the long-lived TensorFlow thread),
started once the window shows so the models are loaded before the first click. A staging request
copies the study's ROIs, loads any series they lie on that no viewport shows (on the thread pool),
waits for the models if they are still loading, and hands everything to the worker; a new request
supersedes the previous one. The last result is kept with what it was computed from and goes
stale when the ROIs change. Widgets subscribe to the signals; only plain objects cross threads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.locate import locate, volume_for
from npc_desktop.core.dicom import Volume
from npc_desktop.core.progress import ProgressCallback
from npc_desktop.gui.staging.engine_factories import EngineFactories, check_bundle_folder
from npc_desktop.gui.staging.host import StagingHost
from npc_desktop.gui.staging.inference_worker import (
    InferenceService,
)
from npc_desktop.gui.staging.staging_restore import add_volume, record_for, restore_staged
from npc_desktop.gui.staging.staging_state import (
    CamSettings,
    EngineInfo,
    ModelPhase,
    ModelStatus,
    StagedResult,
    StagingRequest,
    roi_signature,
)
from npc_desktop.gui.state import LoadedSeries
from npc_desktop.gui.viewer import loading
from npc_desktop.gui.workers import JobHandle

log = logging.getLogger(__name__)

RETIRE_POLL_MS = 250
"""How often a replaced inference thread is checked for having stopped."""


class StagingController(QObject):
    """The staging workflow of one session (see the module docstring).

    Parameters
    ----------
    session
        The session it works in (annotations, viewports, study index, job runner, messages).
    factories
        Engine factories; the untrained demo at native sizes and bundle folders by default.
    """

    status_changed = Signal(object)
    """ModelStatus"""
    result_changed = Signal(object)
    """StagedResult, or None when there is no result (new study)"""
    stale_changed = Signal(bool)
    """Whether the ROIs changed since the shown result was computed"""
    cam_changed = Signal(object)
    """CamSettings"""
    busy_changed = Signal(bool)
    progress_changed = Signal(str, int, int)
    """what is happening, done, total (0 total: busy indicator)"""

    def __init__(self, session: StagingHost, factories: Optional[EngineFactories] = None,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.factories = factories or EngineFactories()
        self.status = ModelStatus()
        self.staged: Optional[StagedResult] = None
        self.stale = False
        self.cam = CamSettings()
        self._service: Optional[InferenceService] = None
        self._info: dict[int, EngineInfo] = {}
        self._retiring: list[InferenceService] = []
        self._pending_start: Optional[tuple[Optional[str]]] = None
        self._retire_timer = QTimer(self)
        self._retire_timer.setInterval(RETIRE_POLL_MS)
        self._retire_timer.timeout.connect(self._poll_retiring)
        self._request: Optional[StagingRequest] = None
        self._request_id: Optional[int] = None
        self._load_jobs: list[JobHandle] = []
        self._volumes: dict[str, Volume] = {}
        self._busy = False
        session.annotations.rois_changed.connect(self._on_rois_changed)
        session.study_indexed.connect(lambda *_: self._on_new_study())
        session.annotations.current_study_changed.connect(self._show_stored)
        session.series_loaded.connect(self._complete_stored)

    # -- models --------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a staging request is loading series, waiting for the models or running."""
        return self._busy

    @property
    def started(self) -> bool:
        """Whether models were asked for (loading, loaded or failed)."""
        return self._service is not None

    def start(self, bundle: Optional[str] = None) -> None:
        """Load the models in the background: the bundle folder, or the untrained demo when None."""
        if self._service is not None:
            self._retire(self._service)
        if self._retiring:
            # One ensemble in memory at a time: load the new one once the replaced one has stopped.
            self._pending_start = (bundle,)
            self._set_status(ModelStatus(ModelPhase.LOADING, bundle))
            return
        self._pending_start = None
        factory = self.factories.demo_factory() if bundle is None else self.factories.bundle_factory(bundle)
        key = id(factory)

        def build(progress: ProgressCallback, cancel: threading.Event) -> Any:
            engine = factory(progress, cancel)
            self._info[key] = EngineInfo.from_engine(engine)  # read on the worker, before ``ready``
            return engine

        service = InferenceService(build, parent=self)
        self._service = service
        service.ready.connect(lambda _text, s=service, k=key: self._on_ready(s, k))
        service.load_failed.connect(lambda message, s=service: self._on_load_failed(s, message))
        service.load_progress.connect(lambda d, t, s=service: self._on_load_progress(s, d, t))
        service.progress.connect(lambda d, t, s=service: self._on_progress(s, d, t))
        service.result.connect(lambda rid, value, s=service: self._on_result(s, rid, value))
        service.failed.connect(lambda rid, message, s=service: self._on_failed(s, rid, message))
        service.cancelled.connect(lambda rid, s=service: self._on_cancelled(s, rid))
        self._set_status(ModelStatus(ModelPhase.LOADING, bundle))
        service.start()

    def use_bundle(self, path: str) -> bool:
        """Switch to the bundle folder ``path``; a folder that is not a bundle is refused with a message.

        Returns
        -------
        bool
            True when the bundle is being loaded.
        """
        problem = check_bundle_folder(path)
        if problem is not None:
            self.session.error_occurred.emit(
                "Not a model bundle",
                f"{problem}\n\nChoose the folder that holds the bundle's manifest.json "
                "(see models/README.md). The current models stay in use.")
            return False
        self.start(str(Path(path)))
        return True

    def use_demo(self) -> None:
        """Switch to the untrained demo members (random weights)."""
        self.start(None)

    def shutdown(self) -> None:
        """Stop staging and every inference thread (window closing).

        Waits for each thread to end: destroying a running QThread aborts the process, and no
        thread may outlive the window. The worker checks the abort flag between member builds and
        batches, so the wait is at most one of those.
        """
        self.cancel()
        for service in [s for s in [self._service, *self._retiring] if s is not None]:
            if not service.shutdown(5000):
                log.warning("waiting for the staging thread to finish its current step before closing")
                service.shutdown(None)
        self._service = None
        self._retiring.clear()
        self._retire_timer.stop()

    def _retire(self, service: InferenceService) -> None:
        """Stop a replaced service without waiting for it on the GUI thread."""
        self._cancel_request(notify=False)
        self._service = None
        if not service.shutdown(0):
            self._retiring.append(service)
            self._retire_timer.start()
        else:
            service.deleteLater()

    def _poll_retiring(self) -> None:
        for service in list(self._retiring):
            if service.shutdown(0):
                self._retiring.remove(service)
                service.deleteLater()
        if not self._retiring:
            self._retire_timer.stop()
            if self._pending_start is not None:
                (bundle,) = self._pending_start
                self.start(bundle)

    def _set_status(self, status: ModelStatus) -> None:
        self.status = status
        self.status_changed.emit(status)

    def _on_ready(self, service: InferenceService, key: int) -> None:
        if service is not self._service:
            return
        info = self._info.pop(key, None)
        self._set_status(ModelStatus(ModelPhase.READY, self.status.bundle, info=info))
        if info is not None:
            self.session.status_message.emit(f"Staging models ready: {info.title}")
        if self._request is not None and not self._request.missing:
            self._submit(self._request)

    def _on_load_failed(self, service: InferenceService, message: str) -> None:
        if service is not self._service:
            return
        bundle = self.status.bundle
        self._set_status(ModelStatus(ModelPhase.FAILED, bundle, message=message))
        what = "the untrained demo models" if bundle is None else f"the model bundle {bundle}"
        self.session.error_occurred.emit(
            "Cannot load the staging models",
            f"Loading {what} failed: {message}\n\nChoose another bundle (Models > Open Model Bundle…) "
            "or Models > Use Untrained Demo Models.")
        if self._request is not None:
            self._cancel_request(notify=False)

    def _on_load_progress(self, service: InferenceService, done: int, total: int) -> None:
        if service is self._service and self.status.phase is ModelPhase.LOADING:
            self._set_status(replace(self.status, done=done, total=total))
            if self._request is not None and not self._request.missing:
                self.progress_changed.emit(self._waiting_label(), done, total)

    # -- staging -------------------------------------------------------------------------------------

    def stage(self, roi_ids: Optional[Sequence[str]] = None) -> bool:
        """Stage the current study's ROIs (all, or ``roi_ids``) on their series.

        Returns
        -------
        bool
            False when there is nothing to stage (the user is told why).
        """
        s = self.session
        annotations = s.annotations.current
        if s.index is None or annotations is None:
            s.error_occurred.emit("Nothing to stage", "Open a study and draw tumour or lymph-node ROIs first.")
            return False
        ids = None if roi_ids is None else tuple(roi_ids)
        rois = [r for r in annotations.rois if ids is None or r.id in ids]
        if not rois:
            s.error_occurred.emit(
                "Nothing to stage",
                "The open study has no ROIs yet: draw a tumour or lymph-node ROI (Draw ROI tool, D) and stage again.")
            return False
        self._cancel_request(notify=False)
        request = StagingRequest(AnnotationSet.from_dict(annotations.to_dict()), ids, roi_signature(annotations.rois),
                                 patches=len(rois))
        shown = [v for v in s.loaded_volumes() if v is not None] + list(self._volumes.values())
        to_load = {}
        for roi in rois:
            uid = roi.series_instance_uid
            if uid in request.volumes or uid in to_load:
                continue
            volume = volume_for(roi, shown)
            if volume is not None:
                request.volumes[uid] = volume
                continue
            found = locate(s.index, roi)
            if found is None:
                s.error_occurred.emit("Cannot stage", f"ROI {roi.id[:8]}: its image is not in the open study.")
                return False
            to_load[uid] = found[0]
        self._request = request
        self._set_busy(True)
        if self._service is None:
            self.start(self.status.bundle)
        request.missing = set(to_load)
        for uid, series in to_load.items():
            self._load_for(request, uid, series)
        if not request.missing:
            self._submit(request)
        return True

    def _load_for(self, request: StagingRequest, uid: str, series: Any) -> None:
        index = self.session.index
        label = f"Loading {series.description or series.modality} for staging"

        def done(loaded: LoadedSeries) -> None:
            if request is not self._request:
                return
            self._volumes[uid] = loaded.volume
            request.volumes[uid] = loaded.volume
            request.missing.discard(uid)
            if not request.missing:
                self._submit(request)

        def failed(message: str) -> None:
            if request is self._request:
                self._cancel_request(notify=False)
                self.session.error_occurred.emit("Cannot stage", f"Loading {series.description or uid}: {message}")

        def cancelled() -> None:
            if request is self._request:
                self._cancel_request()

        self._load_jobs.append(self.session.jobs.submit(
            label, lambda progress, cancel: loading.load_job(series, index, progress, cancel), done,
            on_failed=failed, on_cancelled=cancelled, foreground=False))
        self.progress_changed.emit(label, 0, 0)

    def _submit(self, request: StagingRequest) -> None:
        if request is not self._request:
            return
        if self._service is None or self.status.phase is ModelPhase.FAILED:
            self._cancel_request(notify=False)
            reason = f": {self.status.message}" if self.status.message else ""
            self.session.error_occurred.emit(
                "Cannot stage", f"The staging models are not loaded{reason}\n\nChoose Models > Open Model Bundle… "
                "or Models > Use Untrained Demo Models.")
            return
        if self.status.phase is not ModelPhase.READY:
            status = self.status
            self.progress_changed.emit(self._waiting_label(), status.done, status.total)
            return
        self._request_id = self._service.stage_annotations(
            request.annotations, request.volumes, roi_ids=None if request.roi_ids is None else list(request.roi_ids))
        self.progress_changed.emit(self._progress_label(request), 0, 0)

    def _waiting_label(self) -> str:
        status = self.status
        count = f" {status.done}/{status.total}" if status.total > 0 else ""
        return f"Staging: waiting for the models (loading{count})"

    def _progress_label(self, request: StagingRequest) -> str:
        members = len(self.status.info.member_names) if self.status.info is not None else 0
        patches = f"{request.patches} patch{'es' if request.patches != 1 else ''}"
        return f"Staging {patches} × {members} models" if members else f"Staging {patches}"

    def cancel(self) -> None:
        """Stop the running staging request (the Cancel button, Esc)."""
        if self._request is not None:
            self._cancel_request()

    def _cancel_request(self, *, notify: bool = True) -> None:
        had = self._request is not None
        self._request = None
        for handle in self._load_jobs:
            handle.request_cancel()
        self._load_jobs.clear()
        if self._request_id is not None and self._service is not None:
            self._service.cancel()
        self._request_id = None
        self._set_busy(False)
        if had and notify:
            self.session.status_message.emit("Staging cancelled")

    def _on_progress(self, service: InferenceService, done: int, total: int) -> None:
        if service is self._service and self._request is not None and self._request_id is not None:
            self.progress_changed.emit(self._progress_label(self._request), done, total)

    def _on_result(self, service: InferenceService, request_id: int, result: Any) -> None:
        if service is not self._service or request_id != self._request_id or self._request is None:
            return
        request = self._request
        self._request, self._request_id = None, None
        self._load_jobs.clear()
        used = {p.series_instance_uid for p in result.patches}
        volumes = {uid: v for uid, v in request.volumes.items() if uid in used}
        self.staged = StagedResult(result, request.annotations, volumes, request.signature, self.status.info,
                                   request.roi_ids)
        self.result_changed.emit(self.staged)
        self._check_stale()
        self.session.annotations.record_staging(self.staged.study_uid, record_for(self.staged))
        self._set_busy(False)  # after the result: a listener knows a request ended without one
        if not self.cam.visible:
            self.set_cam(visible=True)
        from npc_desktop.core.reports.assemble import stage_label_text
        text = stage_label_text(result, selected_only=self.staged.partial)  # a selected-ROI run says so
        self.session.status_message.emit(f"Staged in {result.elapsed_s:.1f} s: {text}")

    def _on_failed(self, service: InferenceService, request_id: int, message: str) -> None:
        if service is self._service and request_id == self._request_id:
            self._cancel_request(notify=False)
            self.session.error_occurred.emit("Staging failed", message)

    def _on_cancelled(self, service: InferenceService, request_id: int) -> None:
        if service is self._service and request_id == self._request_id:
            self._cancel_request()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    # -- result state --------------------------------------------------------------------------------

    def _on_rois_changed(self, study_uid: str) -> None:
        if self.staged is not None and study_uid == self.staged.study_uid:
            self._check_stale()

    def _check_stale(self) -> None:
        staged = self.staged
        current = self.session.annotations.study(staged.study_uid) if staged is not None else None
        stale = staged is not None and (current is None or roi_signature(current.rois) != staged.signature)
        if stale != self.stale:
            self.stale = stale
            self.stale_changed.emit(stale)

    def _on_new_study(self) -> None:
        self._cancel_request(notify=False)
        self._volumes.clear()
        if self.staged is not None:
            self.staged = None
            self.stale = False
            self.result_changed.emit(None)
            self.stale_changed.emit(False)

    def _show_stored(self, study_uid: Optional[str]) -> None:
        """Show the last staging result stored with the study's annotations, when nothing else is shown."""
        annotations = self.session.annotations
        current = annotations.study(study_uid)
        if self.staged is not None or self._request is not None or current is None:
            return
        volumes = {v.meta.series_instance_uid: v for v in self.session.loaded_volumes() if v is not None}
        staged, problem = restore_staged(current, str(annotations.store.path_for(current.study_instance_uid)), volumes)
        if problem is not None:
            annotations.problem.emit("Stored staging result not shown", problem)
        if staged is not None:
            self.staged = staged
            self.result_changed.emit(staged)
            self._check_stale()

    def _complete_stored(self, _viewport: int, loaded: LoadedSeries) -> None:
        if self.staged is not None and add_volume(self.staged, loaded.volume):
            self.result_changed.emit(self.staged)
            self._check_stale()

    def set_cam(self, *, visible: Optional[bool] = None, member: Any = ..., opacity: Optional[float] = None) -> None:
        """Change the Grad-CAM overlay: on/off, the member (None: ensemble mean), the opacity (0..1)."""
        settings = self.cam
        if visible is not None:
            settings = replace(settings, visible=bool(visible))
        if member is not ...:
            settings = replace(settings, member=member)
        if opacity is not None:
            settings = replace(settings, opacity=min(max(float(opacity), 0.0), 1.0))
        if settings != self.cam:
            self.cam = settings
            self.cam_changed.emit(settings)
