"""The saved PACS nodes: a JSON file in the user's config folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Optional, Union

from npc_desktop.core.fileio import write_bytes_atomically
from npc_desktop.core.network.errors import NodeConfigError
from npc_desktop.core.network.nodes import PacsNode

CONFIG_DIR_ENV = "NPC_DESKTOP_CONFIG_DIR"
"""Environment variable that moves the config folder (tests, portable installs)."""
NODES_FILE = "pacs_nodes.json"


def default_nodes_path() -> Path:
    """``pacs_nodes.json`` in ``$NPC_DESKTOP_CONFIG_DIR`` or platformdirs' user config folder."""
    override = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser() / NODES_FILE
    import platformdirs

    return Path(platformdirs.user_config_dir("npc-desktop", appauthor=False)) / NODES_FILE


def load_nodes(path: Optional[Union[str, Path]] = None) -> dict[str, PacsNode]:
    """Read the saved nodes by name (empty when the file does not exist yet).

    Raises
    ------
    NodeConfigError
        When the file is not valid JSON or a node in it is invalid; the message names the file.
    """
    source = Path(path) if path is not None else default_nodes_path()
    if not source.is_file():
        return {}
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        entries = data["nodes"] if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ValueError("it has no list of \"nodes\"")
        nodes = [PacsNode.from_dict(entry) for entry in entries]
    except (OSError, ValueError, KeyError, NodeConfigError) as exc:
        raise NodeConfigError(f"{source}: cannot read the PACS nodes ({exc})") from exc
    return {node.name: node for node in nodes}


def save_nodes(nodes: Iterable[PacsNode], path: Optional[Union[str, Path]] = None) -> Path:
    """Write the nodes atomically; raise :class:`NodeConfigError` on an invalid or duplicate node."""
    target = Path(path) if path is not None else default_nodes_path()
    checked = [node.validated() for node in nodes]
    names = [node.name for node in checked]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise NodeConfigError(f"two PACS nodes are named {duplicates[0]!r}: names must be unique")
    payload = {"version": 1, "nodes": [node.to_dict() for node in checked]}
    return write_bytes_atomically(target, json.dumps(payload, indent=2).encode("utf-8"))
