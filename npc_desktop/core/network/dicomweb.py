"""DICOMweb: QIDO-RS search, WADO-RS retrieve and STOW-RS send, with the DIMSE side's result objects."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from npc_desktop.core.network.dimse import SendReport
from npc_desktop.core.network.errors import PacsConnectionError, PacsError, PacsTimeoutError, PacsTlsError
from npc_desktop.core.network.nodes import PacsNode
from npc_desktop.core.network.query import SERIES_RETURN_KEYS, STUDY_RETURN_KEYS, FindQuery, result_from_dataset
from npc_desktop.core.progress import CancelToken, OperationCancelled, ProgressCallback

log = logging.getLogger(__name__)


class _WildcardSession(requests.Session):
    """Sends QIDO wildcards ``*`` and ``?`` literally: some servers (Orthanc 1.10) do not decode ``%2A``."""

    def request(self, method, url, *args, **kwargs):  # noqa: D102 - requests' own signature
        if "?" in url:
            path, query = url.split("?", 1)
            url = path + "?" + query.replace("%2A", "*").replace("%3F", "?")
        return super().request(method, url, *args, **kwargs)


def web_session(node: PacsNode) -> requests.Session:
    """An HTTP session with the node's CA file and client certificate."""
    session = _WildcardSession()
    if node.tls.ca_file:
        session.verify = node.tls.ca_file
    if node.tls.client_cert:
        session.cert = (node.tls.client_cert, node.tls.client_key) if node.tls.client_key else node.tls.client_cert
    return session


def web_client(node: PacsNode) -> DICOMwebClient:
    """A DICOMweb client for the node: its session, its timeouts, no retries."""
    session = web_session(node)
    client = DICOMwebClient(node.url, session=session, timeout=(node.timeouts.connect, node.timeouts.dimse))
    client.set_http_retry_params(retry=False)
    return client


def web_error(node: PacsNode, exc: Exception, what: str) -> PacsError:
    if isinstance(exc, requests.exceptions.SSLError):
        return PacsTlsError(node.label, f"the TLS certificate was refused during {what} ({exc.__class__.__name__}); "
                                        "check the CA file and the host name")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return PacsTimeoutError(node.label, f"no answer within {node.timeouts.connect:g} s (connect timeout)")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return PacsTimeoutError(node.label, f"stopped answering during {what}: no reply within "
                                            f"{node.timeouts.dimse:g} s")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return PacsConnectionError(node.label, f"cannot connect to {node.url} (no web service answers there)")
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        hint = {401: "the server wants credentials", 403: "access denied", 404: "not found: check the base URL"}
        return PacsError(node.label, f"{what} failed with HTTP {code} ({hint.get(code, exc.response.reason)})")
    return PacsError(node.label, f"{what} failed ({exc})")


def qido_find(node: PacsNode, query: FindQuery) -> list:
    """QIDO-RS search; returns the same result objects as :func:`dimse.find` (empty list when nothing matches)."""
    client = web_client(node)
    filters = query.matching_keys()
    try:
        if query.level == "study":
            answers = client.search_for_studies(search_filters=filters, fields=list(STUDY_RETURN_KEYS),
                                                get_remaining=True)
        else:
            filters.pop("StudyInstanceUID", None)
            answers = client.search_for_series(query.study_uid, search_filters=filters,
                                               fields=list(SERIES_RETURN_KEYS), get_remaining=True)
    except requests.exceptions.RequestException as exc:
        raise web_error(node, exc, "QIDO-RS search") from exc
    results = [result_from_dataset(query.level, Dataset.from_json(answer)) for answer in answers or []]
    log.info("QIDO-RS at %s level on %s: %d match(es)", query.level, node.label, len(results))
    return results


def stow_send(node: PacsNode, files: Sequence[Path], *, progress: Optional[ProgressCallback] = None,
              cancel: Optional[CancelToken] = None) -> SendReport:
    """STOW-RS the files to the node, one request per file so that each gets its own outcome."""
    client = web_client(node)
    report = SendReport()
    files = [Path(f) for f in files]
    for done, path in enumerate(files, start=1):
        if cancel is not None and cancel.is_set():
            raise OperationCancelled("sending cancelled")
        try:
            dataset = pydicom.dcmread(path)
        except (OSError, InvalidDicomError) as exc:
            report.failed.append(f"{path}: not sent, it is not a readable DICOM file ({exc})")
            continue
        try:
            answer = client.store_instances([dataset])
        except requests.exceptions.HTTPError as exc:
            report.failed.append(f"{path.name}: refused by the PACS ({web_error(node, exc, 'STOW-RS').problem})")
            continue
        except requests.exceptions.RequestException as exc:
            raise web_error(node, exc, "STOW-RS send") from exc
        if answer is not None and "FailedSOPSequence" in answer and len(answer.FailedSOPSequence):
            report.failed.append(f"{path.name}: refused by the PACS")
        else:
            report.sent.append(path)
        if progress is not None:
            progress(done, len(files))
    log.info("STOW-RS to %s: %d sent, %d failed", node.label, len(report.sent), len(report.failed))
    return report
