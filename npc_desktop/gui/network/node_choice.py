"""The node chooser shared by the PACS dialogs, and the wrapper that turns PACS errors into job messages."""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from PySide6.QtWidgets import QComboBox, QWidget

from npc_desktop.core.network import NodeConfigError, PacsError, PacsNode, load_nodes, parse_node_spec
from npc_desktop.core.progress import ProgressCallback
from npc_desktop.gui.workers import JobError

NODE_HINT = "saved node, AET@HOST:PORT or http(s)://…/dicom-web"


def pacs_job(fn: Callable[[ProgressCallback, threading.Event], Any]) -> Callable[[ProgressCallback, threading.Event],
                                                                                 Any]:
    """Wrap a job so that a PACS or node error reaches the user as its one-line message."""

    def run(progress: ProgressCallback, cancel: threading.Event) -> Any:
        try:
            return fn(progress, cancel)
        except (PacsError, NodeConfigError) as exc:
            raise JobError(str(exc)) from None
        except OSError as exc:
            raise JobError(f"the study store: {exc}") from None

    return run


class NodeCombo(QComboBox):
    """An editable list of the saved nodes; a typed ``AET@HOST:PORT`` or URL works too."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("nodeCombo")
        self.setEditable(True)
        self.setMinimumWidth(280)
        self.lineEdit().setPlaceholderText(NODE_HINT)
        self.saved: dict[str, PacsNode] = {}
        self.reload()

    def reload(self) -> Optional[str]:
        """Re-read the saved nodes; return the problem with the node file, if any."""
        current = self.currentText()
        try:
            self.saved = load_nodes()
            problem = None
        except NodeConfigError as exc:
            self.saved, problem = {}, str(exc)
        self.clear()
        for name, node in self.saved.items():
            self.addItem(name)
            self.setItemData(self.count() - 1, node.address)
        if current:
            self.setEditText(current)
        return problem

    def node(self) -> PacsNode:
        """The chosen node; raises :class:`NodeConfigError` with a message when the text is none."""
        text = self.currentText().strip()
        if not text:
            raise NodeConfigError(f"choose a PACS node or type one ({NODE_HINT}); Settings > PACS Nodes saves them")
        return parse_node_spec(text, self.saved)
