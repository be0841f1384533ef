"""DIMSE services: C-ECHO, C-FIND (Study Root, Patient Root as fallback) and C-STORE of files."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import pydicom
from pydicom.errors import InvalidDicomError
from pynetdicom import sop_class

from npc_desktop.core.network.association import associate, new_ae
from npc_desktop.core.network.errors import PacsError, PacsRejectedError, PacsTimeoutError
from npc_desktop.core.network.nodes import PacsNode
from npc_desktop.core.network.query import FindQuery, result_from_dataset
from npc_desktop.core.network.storage import COMPRESSED_SYNTAXES, NATIVE_SYNTAXES
from npc_desktop.core.progress import CancelToken, OperationCancelled, ProgressCallback

log = logging.getLogger(__name__)

PENDING = (0xFF00, 0xFF01)


def timeout_error(node: PacsNode, what: str) -> PacsTimeoutError:
    """The error for a PACS that stopped answering."""
    return PacsTimeoutError(node.label, f"stopped answering during {what}: no reply within the DIMSE timeout "
                                        f"of {node.timeouts.dimse:g} s")


def echo(node: PacsNode) -> None:
    """Verify the node with C-ECHO; raise a :class:`PacsError` naming the problem when it fails."""
    ae = new_ae(node)
    ae.add_requested_context(sop_class.Verification)
    assoc = associate(node, ae)
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    if "Status" not in status:
        raise timeout_error(node, "C-ECHO")
    if status.Status != 0:
        raise PacsError(node.label, f"C-ECHO answered status 0x{status.Status:04X}")
    log.info("C-ECHO to %s succeeded", node.label)


def find(node: PacsNode, query: FindQuery, *, cancel: Optional[CancelToken] = None) -> list:
    """Search the node with C-FIND; return :class:`StudyResult` or :class:`SeriesResult` objects.

    Study Root is used when the node accepts it, Patient Root otherwise. No match is an empty list.
    """
    ae = new_ae(node)
    ae.add_requested_context(sop_class.StudyRootQueryRetrieveInformationModelFind)
    ae.add_requested_context(sop_class.PatientRootQueryRetrieveInformationModelFind)
    assoc = associate(node, ae)
    results = []
    try:
        accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
        model = sop_class.StudyRootQueryRetrieveInformationModelFind
        if str(model) not in accepted:
            model = sop_class.PatientRootQueryRetrieveInformationModelFind
            if str(model) not in accepted:
                raise PacsRejectedError(node.label, "accepts neither Study Root nor Patient Root C-FIND")
        for status, identifier in assoc.send_c_find(query.identifier(), model):
            if cancel is not None and cancel.is_set():
                assoc.abort()
                raise OperationCancelled("search cancelled")
            if "Status" not in status:
                raise timeout_error(node, "C-FIND")
            if status.Status in PENDING and identifier is not None:
                results.append(result_from_dataset(query.level, identifier))
            elif status.Status not in (0x0000, 0xFE00):
                raise PacsError(node.label, f"C-FIND failed with status 0x{status.Status:04X}")
    finally:
        if assoc.is_established:
            assoc.release()
    log.info("C-FIND at %s level on %s: %d match(es)", query.level, node.label, len(results))
    return results


@dataclass
class SendReport:
    """The outcome of sending files: how many arrived and a message per file that did not."""

    sent: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file was sent."""
        return not self.failed


def send_files(node: PacsNode, files: Sequence[Path], *, progress: Optional[ProgressCallback] = None,
               cancel: Optional[CancelToken] = None) -> SendReport:
    """C-STORE DICOM files to the node (SR, Encapsulated PDF, images).

    A file that is not DICOM, or that the node refuses, is reported in ``failed``; the others are still sent.
    """
    report = SendReport()
    datasets = []
    for path in map(Path, files):
        try:
            ds = pydicom.dcmread(path)
            datasets.append((path, ds, str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)))
        except (OSError, InvalidDicomError, AttributeError) as exc:
            report.failed.append(f"{path}: not sent, it is not a readable DICOM file ({exc})")
    if not datasets:
        return report
    ae = new_ae(node)
    for class_uid in sorted({item[2] for item in datasets}):
        syntaxes = sorted({item[3] for item in datasets if item[2] == class_uid} | set(NATIVE_SYNTAXES))
        ae.add_requested_context(class_uid, [s for s in syntaxes if s in NATIVE_SYNTAXES + COMPRESSED_SYNTAXES])
    assoc = associate(node, ae)
    try:
        for done, (path, ds, class_uid, _syntax) in enumerate(datasets, start=1):
            if cancel is not None and cancel.is_set():
                raise OperationCancelled("sending cancelled")
            try:
                status = assoc.send_c_store(ds)
            except ValueError as exc:  # no accepted presentation context for this class
                report.failed.append(f"{path.name}: not sent, the PACS does not accept this kind of object ({exc})")
                continue
            if "Status" not in status:
                raise timeout_error(node, "C-STORE")
            if status.Status in (0x0000, 0xB000, 0xB007, 0xB006):
                report.sent.append(path)
            else:
                report.failed.append(f"{path.name}: refused by the PACS (status 0x{status.Status:04X})")
            if progress is not None:
                progress(done, len(datasets))
    finally:
        if assoc.is_established:
            assoc.release()
    log.info("C-STORE to %s: %d sent, %d failed", node.label, len(report.sent), len(report.failed))
    return report
