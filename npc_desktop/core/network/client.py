"""One entry point per operation that picks DIMSE or DICOMweb from the node."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from npc_desktop.core.network import dicomweb, dimse, retrieve, wado
from npc_desktop.core.network.dimse import SendReport
from npc_desktop.core.network.errors import NodeConfigError, PacsError
from npc_desktop.core.network.nodes import PacsNode
from npc_desktop.core.network.query import FindQuery
from npc_desktop.core.network.retrieve import DEFAULT_MOVE_PORT, RetrieveReport
from npc_desktop.core.network.store import StudyStore
from npc_desktop.core.progress import CancelToken, ProgressCallback

METHODS = ("get", "move", "wado")


def verify_node(node: PacsNode) -> str:
    """C-ECHO a DIMSE node, or run a one-result QIDO-RS search on a DICOMweb node; return a success line."""
    if node.is_dicomweb:
        try:
            dicomweb.web_client(node).search_for_studies(limit=1)
        except Exception as exc:  # requests' errors are translated into a one-line message
            raise dicomweb.web_error(node, exc, "the test search") from exc
        return f"{node.label} answers DICOMweb searches"
    dimse.echo(node)
    return f"{node.label} answered C-ECHO"


def find_studies(node: PacsNode, query: FindQuery, *, cancel: Optional[CancelToken] = None) -> list:
    """C-FIND or QIDO-RS; study or series results by the query's level (an empty list when nothing matches)."""
    if node.is_dicomweb:
        return dicomweb.qido_find(node, query)
    return dimse.find(node, query, cancel=cancel)


def retrieve_study(node: PacsNode, store: StudyStore, study_uid: str, series_uid: str = "", *, method: str = "",
                   port: int = DEFAULT_MOVE_PORT, progress: Optional[ProgressCallback] = None,
                   cancel: Optional[CancelToken] = None) -> RetrieveReport:
    """Retrieve a study (or one series) into the store by C-GET, C-MOVE or WADO-RS.

    Parameters
    ----------
    method
        ``get``, ``move`` or ``wado``; empty picks ``wado`` for a DICOMweb node and ``get`` otherwise.
    port
        Our Storage SCP port for C-MOVE.
    """
    method = method or ("wado" if node.is_dicomweb else "get")
    if method not in METHODS:
        raise NodeConfigError(f"retrieve method {method!r} must be one of {', '.join(METHODS)}")
    if (method == "wado") != node.is_dicomweb:
        kind = "a DICOMweb URL" if method == "wado" else "a DIMSE node (AET@HOST:PORT)"
        raise NodeConfigError(f"--method {method} needs {kind}; {node.label} is not one")
    if not study_uid:
        raise PacsError(node.label, "no study UID to retrieve")
    if method == "wado":
        return wado.wado_retrieve(node, store, study_uid, series_uid, progress=progress, cancel=cancel)
    if method == "move":
        return retrieve.retrieve_move(node, store, study_uid, series_uid, port=port, progress=progress,
                                      cancel=cancel)
    return retrieve.retrieve_get(node, store, study_uid, series_uid, progress=progress, cancel=cancel)


def send_files(node: PacsNode, files: Sequence[Path], *, progress: Optional[ProgressCallback] = None,
               cancel: Optional[CancelToken] = None) -> SendReport:
    """C-STORE or STOW-RS the files; the report lists what was sent and a message per file that was not."""
    if node.is_dicomweb:
        return dicomweb.stow_send(node, files, progress=progress, cancel=cancel)
    return dimse.send_files(node, files, progress=progress, cancel=cancel)
