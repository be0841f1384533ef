"""PACS connectivity: nodes, DIMSE (pynetdicom) and DICOMweb clients, our Storage SCP, the local study store.

The names below are loaded on first use (PEP 562), so that importing a light piece (nodes, errors, the
study store) does not import pynetdicom, requests and dicomweb-client with it: the workstation's
start-up reaches this package through its menus and dialogs.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE: dict[str, str] = {
    "METHODS": "client",
    "find_studies": "client",
    "retrieve_study": "client",
    "send_files": "client",
    "verify_node": "client",
    "SendReport": "dimse",
    "NodeConfigError": "errors",
    "PacsConnectionError": "errors",
    "PacsError": "errors",
    "PacsRejectedError": "errors",
    "PacsTimeoutError": "errors",
    "PacsTlsError": "errors",
    "default_nodes_path": "node_config",
    "load_nodes": "node_config",
    "save_nodes": "node_config",
    "DEFAULT_OUR_AET": "nodes",
    "PacsNode": "nodes",
    "Timeouts": "nodes",
    "TlsSettings": "nodes",
    "parse_node_spec": "nodes",
    "FindQuery": "query",
    "SeriesResult": "query",
    "StudyResult": "query",
    "DEFAULT_MOVE_PORT": "retrieve",
    "RetrieveReport": "retrieve",
    "StorageListener": "storage_scp",
    "StudyStore": "store",
    "default_store_root": "store",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
