"""Retrieval by C-GET (no PACS configuration needed) and by C-MOVE to our own temporary Storage SCP."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pydicom.dataset import Dataset
from pynetdicom import evt, sop_class

from npc_desktop.core.network.association import associate, new_ae
from npc_desktop.core.network.dimse import PENDING, timeout_error
from npc_desktop.core.network.errors import PacsConnectionError, PacsError, PacsRejectedError
from npc_desktop.core.network.nodes import PacsNode
from npc_desktop.core.network.storage import ReceiveLog, get_storage_contexts, make_store_handler
from npc_desktop.core.network.storage_scp import StorageServer
from npc_desktop.core.network.store import StudyStore
from npc_desktop.core.progress import CancelToken, OperationCancelled, ProgressCallback

log = logging.getLogger(__name__)

MOVE_DESTINATION_UNKNOWN = 0xA801
DEFAULT_MOVE_PORT = 11113


@dataclass
class RetrieveReport:
    """What a retrieval brought: the study folder, new files, skipped duplicates and messages."""

    study_uid: str
    folder: Path
    method: str
    stored: list[Path] = field(default_factory=list)
    skipped: int = 0
    non_image: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failed_suboperations: int = 0

    def summary(self) -> str:
        """One line for the status bar and the CLI."""
        parts = [f"{len(self.stored)} new instance(s)"]
        if self.skipped:
            parts.append(f"{self.skipped} already in the store")
        if self.non_image:
            parts.append(f"{len(self.non_image)} non-image object(s) ({', '.join(sorted(set(self.non_image)))})")
        if self.problems or self.failed_suboperations:
            parts.append(f"{max(len(self.problems), self.failed_suboperations)} not retrieved")
        return f"retrieved by {self.method} into {self.folder}: " + ", ".join(parts)


def retrieve_identifier(study_uid: str, series_uid: str = "") -> Dataset:
    """The C-GET/C-MOVE identifier of a study, or of one series of it."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
    ds.StudyInstanceUID = study_uid
    if series_uid:
        ds.SeriesInstanceUID = series_uid
    return ds


class _Progress:
    """Per-image progress: instances received against the total the PACS announces."""

    def __init__(self, callback: Optional[ProgressCallback]) -> None:
        self.callback = callback
        self.total = 0

    def update_total(self, status: Dataset) -> None:
        counts = [status.get(k) for k in ("NumberOfRemainingSuboperations", "NumberOfCompletedSuboperations",
                                          "NumberOfFailedSuboperations", "NumberOfWarningSuboperations")]
        if all(c is not None for c in counts):
            self.total = max(self.total, sum(int(c) for c in counts))

    def __call__(self, received: int) -> None:
        if self.callback is not None:
            self.callback(received, max(self.total, received))


def _run_retrieve(node: PacsNode, assoc, responses, receive_log: ReceiveLog, progress: _Progress,
                  cancel: Optional[CancelToken], what: str) -> int:
    """Iterate C-GET/C-MOVE responses; return the failed sub-operation count. Aborts on cancel."""
    failed = 0
    for status, _identifier in responses:
        if cancel is not None and cancel.is_set():
            assoc.abort()
            raise OperationCancelled(f"{what} cancelled")
        if "Status" not in status:
            assoc.abort()
            raise timeout_error(node, what)
        progress.update_total(status)
        failed = int(status.get("NumberOfFailedSuboperations", failed) or 0)
        if status.Status in PENDING:
            continue
        nothing_moved = receive_log.received == 0 and not int(status.get("NumberOfCompletedSuboperations", 0) or 0)
        if what == "C-MOVE" and status.Status not in (0x0000, 0xB000, 0xFE00) and (
                status.Status == MOVE_DESTINATION_UNKNOWN or nothing_moved):
            # Orthanc answers 0xC000 rather than 0xA801 for an unknown destination.
            raise PacsRejectedError(
                node.label, f"C-MOVE failed (status 0x{status.Status:04X}) before sending anything to our AE "
                            f"title {node.our_aet!r}: the PACS does not know it as a C-MOVE destination or cannot "
                            f"reach it (add {node.our_aet} with this computer's address and our Storage SCP port "
                            "to the PACS's DICOM modalities, or retrieve by C-GET)")
        if status.Status not in (0x0000, 0xB000, 0xFE00):
            raise PacsError(node.label, f"{what} failed with status 0x{status.Status:04X}")
    if cancel is not None and cancel.is_set():
        raise OperationCancelled(f"{what} cancelled")
    if not assoc.is_established and assoc.is_aborted:
        raise PacsConnectionError(node.label, f"aborted the {what} before it finished")
    return failed


def _report(method: str, study_uid: str, store: StudyStore, receive_log: ReceiveLog, failed: int) -> RetrieveReport:
    report = RetrieveReport(study_uid=study_uid, folder=store.study_dir(study_uid), method=method,
                            stored=receive_log.stored, skipped=receive_log.skipped,
                            non_image=list(receive_log.non_image), problems=list(receive_log.problems),
                            failed_suboperations=failed)
    log.info("%s: %s", method, report.summary().replace(str(report.folder), "the store"))
    return report


def retrieve_get(node: PacsNode, store: StudyStore, study_uid: str, series_uid: str = "", *,
                 progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> RetrieveReport:
    """Retrieve a study or series by C-GET into ``store``.

    On cancel, timeout or failure the instances of this transfer are removed from the store and the
    exception propagates (:class:`OperationCancelled` or a :class:`PacsError`).
    """
    ae = new_ae(node)
    ae.add_requested_context(sop_class.StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(sop_class.PatientRootQueryRetrieveInformationModelGet)
    contexts, roles = get_storage_contexts()
    for context in contexts:
        ae.add_requested_context(context.abstract_syntax, context.transfer_syntax)
    counter = _Progress(progress)
    with store.transaction() as transaction:
        receive_log = ReceiveLog(transaction)
        handler = make_store_handler(store, receive_log, on_instance=counter, cancel=cancel)
        assoc = associate(node, ae, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, handler)])
        try:
            accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
            model = sop_class.StudyRootQueryRetrieveInformationModelGet
            if str(model) not in accepted:
                model = sop_class.PatientRootQueryRetrieveInformationModelGet
            responses = assoc.send_c_get(retrieve_identifier(study_uid, series_uid), model)
            failed = _run_retrieve(node, assoc, responses, receive_log, counter, cancel, "C-GET")
        finally:
            if assoc.is_established:
                assoc.release()
    return _report("C-GET", study_uid, store, receive_log, failed)


def retrieve_move(node: PacsNode, store: StudyStore, study_uid: str, series_uid: str = "", *,
                  port: int = DEFAULT_MOVE_PORT, bind_host: str = "",
                  progress: Optional[ProgressCallback] = None,
                  cancel: Optional[CancelToken] = None) -> RetrieveReport:
    """Retrieve a study or series by C-MOVE to our own Storage SCP, started on ``port`` for this transfer.

    The PACS must know our AE title (``node.our_aet``) with this computer's address and ``port``.
    """
    counter = _Progress(progress)
    with store.transaction() as transaction:
        receive_log = ReceiveLog(transaction)
        handler = make_store_handler(store, receive_log, on_instance=counter, cancel=cancel)
        with StorageServer(node.our_aet, port, handler, bind_host=bind_host, timeouts=node.timeouts):
            ae = new_ae(node)
            ae.add_requested_context(sop_class.StudyRootQueryRetrieveInformationModelMove)
            ae.add_requested_context(sop_class.PatientRootQueryRetrieveInformationModelMove)
            assoc = associate(node, ae)
            try:
                accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
                model = sop_class.StudyRootQueryRetrieveInformationModelMove
                if str(model) not in accepted:
                    model = sop_class.PatientRootQueryRetrieveInformationModelMove
                responses = assoc.send_c_move(retrieve_identifier(study_uid, series_uid), node.our_aet, model)
                failed = _run_retrieve(node, assoc, responses, receive_log, counter, cancel, "C-MOVE")
            finally:
                if assoc.is_established:
                    assoc.release()
    return _report("C-MOVE", study_uid, store, receive_log, failed)

