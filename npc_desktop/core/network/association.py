"""Opening DIMSE associations with timeouts and TLS, and turning failures into one-line messages."""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from typing import Iterator, Optional, Sequence

from pynetdicom import AE
from pynetdicom.association import Association

from npc_desktop.core.network.errors import (
    NodeConfigError,
    PacsConnectionError,
    PacsRejectedError,
    PacsTimeoutError,
    PacsTlsError,
)
from npc_desktop.core.network.nodes import PacsNode, TlsSettings

log = logging.getLogger(__name__)

# pynetdicom logs every query and response identifier (patient names and IDs) at INFO: keep it to warnings.
if logging.getLogger("pynetdicom").level in (logging.NOTSET, logging.DEBUG, logging.INFO):
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)

# Diagnostics of an A-ASSOCIATE-RJ from the service user (PS3.8 9.3.4).
_CALLING_AE_UNKNOWN = 3
_CALLED_AE_UNKNOWN = 7


def client_ssl_context(tls: TlsSettings, node_name: str) -> ssl.SSLContext:
    """A TLS client context that verifies the server certificate (against ``tls.ca_file`` when set).

    Raises
    ------
    NodeConfigError
        When a certificate or key file cannot be read; the message names the file.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = tls.verify_hostname
    try:
        if tls.ca_file:
            context.load_verify_locations(cafile=tls.ca_file)
        if tls.client_cert:
            context.load_cert_chain(tls.client_cert, tls.client_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise NodeConfigError(f"node {node_name}: cannot read the TLS certificate or key ({exc})") from exc
    return context


class _ConnectErrors(logging.Handler):
    """Collects pynetdicom's report of why a TCP/TLS connection failed (it logs instead of raising)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock_records = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("TCP Initialisation Error"):
            with self._lock_records:
                self.records.append(record)

    def reason_for(self, thread_id: Optional[int]) -> str:
        with self._lock_records:
            for record in reversed(self.records):
                if thread_id is None or record.thread == thread_id:
                    return record.getMessage().split(":", 1)[1].strip()
        return ""


@contextlib.contextmanager
def _capture_connect_errors() -> Iterator[_ConnectErrors]:
    handler = _ConnectErrors()
    logger = logging.getLogger("pynetdicom")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def new_ae(node: PacsNode) -> AE:
    """An application entity with our AE title and the node's timeouts."""
    ae = AE(ae_title=node.our_aet)
    ae.connection_timeout = node.timeouts.connect
    ae.acse_timeout = node.timeouts.acse
    ae.dimse_timeout = node.timeouts.dimse
    ae.network_timeout = node.timeouts.dimse
    return ae


def _connection_problem(node: PacsNode, reason: str) -> Exception:
    lowered = reason.lower()
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered or "hostname" in lowered:
        return PacsTlsError(node.label, f"the TLS handshake failed ({reason}); check the CA file, the host name "
                                        "and that the PACS port uses TLS")
    if "timed out" in lowered:
        return PacsTimeoutError(node.label, f"no answer from {node.host}:{node.port} within "
                                            f"{node.timeouts.connect:g} s (connect timeout)")
    if "refused" in lowered:
        return PacsConnectionError(node.label, f"connection refused by {node.host}:{node.port}: no DICOM service "
                                               "listens on that port")
    if reason:
        return PacsConnectionError(node.label, f"cannot connect to {node.host}:{node.port} ({reason})")
    return PacsConnectionError(node.label, f"the connection to {node.host}:{node.port} was closed during the "
                                           "association (not a DICOM port, or TLS on one side only)")


def _rejection(node: PacsNode, assoc: Association) -> Exception:
    primitive = assoc.acceptor.primitive
    source = getattr(primitive, "result_source", None)
    diagnostic = getattr(primitive, "diagnostic", None)
    if source == 1 and diagnostic == _CALLED_AE_UNKNOWN:
        return PacsRejectedError(node.label, f"rejected the association: it does not answer to the called AE title "
                                             f"{node.ae_title!r} (set the node's AE title to the PACS's own)")
    if source == 1 and diagnostic == _CALLING_AE_UNKNOWN:
        return PacsRejectedError(node.label, f"rejected the association: it does not know our AE title "
                                             f"{node.our_aet!r} (register {node.our_aet} on the PACS)")
    reason = getattr(primitive, "reason_str", "") or "no reason given"
    return PacsRejectedError(node.label, f"rejected the association ({reason})")


def associate(node: PacsNode, ae: AE, *, ext_neg: Optional[Sequence] = None,
              evt_handlers: Optional[Sequence] = None) -> Association:
    """Open an association with ``node``; raise a :class:`PacsError` subclass with one line when it fails.

    Parameters
    ----------
    node
        A DIMSE node.
    ae
        Our AE with its requested presentation contexts (:func:`new_ae`).
    ext_neg
        Extended negotiation items (SCP/SCU role selection for C-GET).
    evt_handlers
        pynetdicom event handlers bound to the association.

    Returns
    -------
    Association
        An established association; release it when done.
    """
    if node.is_dicomweb:
        raise NodeConfigError(f"node {node.label} is a DICOMweb node, not a DIMSE one")
    tls_args = None
    if node.tls.enabled:
        tls_args = (client_ssl_context(node.tls, node.label), node.host)
    with _capture_connect_errors() as errors:
        assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, ext_neg=list(ext_neg or []) or None,
                             evt_handlers=list(evt_handlers or []) or None, tls_args=tls_args)
        if assoc.is_established:
            return assoc
        if assoc.is_rejected:
            raise _rejection(node, assoc)
        if assoc.is_alive():
            assoc.join(timeout=1.0)
        reason = errors.reason_for(None)
    if assoc.is_aborted and not reason:
        raise PacsConnectionError(node.label, "aborted the association (check our AE title and the TLS settings)")
    raise _connection_problem(node, reason)
