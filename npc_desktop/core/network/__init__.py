"""PACS connectivity: nodes, DIMSE (pynetdicom) and DICOMweb clients, our Storage SCP, the local study store."""

from npc_desktop.core.network.client import METHODS, find_studies, retrieve_study, send_files, verify_node
from npc_desktop.core.network.dimse import SendReport
from npc_desktop.core.network.errors import (
    NodeConfigError,
    PacsConnectionError,
    PacsError,
    PacsRejectedError,
    PacsTimeoutError,
    PacsTlsError,
)
from npc_desktop.core.network.node_config import default_nodes_path, load_nodes, save_nodes
from npc_desktop.core.network.nodes import DEFAULT_OUR_AET, PacsNode, Timeouts, TlsSettings, parse_node_spec
from npc_desktop.core.network.query import FindQuery, SeriesResult, StudyResult
from npc_desktop.core.network.retrieve import DEFAULT_MOVE_PORT, RetrieveReport
from npc_desktop.core.network.storage_scp import StorageListener
from npc_desktop.core.network.store import StudyStore, default_store_root

__all__ = [
    "METHODS", "find_studies", "retrieve_study", "send_files", "verify_node", "SendReport", "NodeConfigError",
    "PacsConnectionError", "PacsError", "PacsRejectedError", "PacsTimeoutError", "PacsTlsError",
    "default_nodes_path", "load_nodes", "save_nodes", "DEFAULT_OUR_AET", "PacsNode", "Timeouts", "TlsSettings",
    "parse_node_spec", "FindQuery", "SeriesResult", "StudyResult", "DEFAULT_MOVE_PORT", "RetrieveReport",
    "StorageListener", "StudyStore", "default_store_root",
]
