"""The main window's PACS commands: File > Query PACS…, File > Send to PACS, Settings > PACS Nodes.

The shell hands in what this package cannot know: how to open a folder (the retrieved study) and
how to write the open study's results for sending (:class:`ResultsToSend`, or a reason there is
nothing to send).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional, Union

from PySide6.QtCore import QObject, Qt

from npc_desktop.core.network import StudyStore
from npc_desktop.gui.network.listener_control import ListenerControl
from npc_desktop.gui.network.send_dialog import ResultsToSend
from npc_desktop.gui.window_context import WindowContext

if TYPE_CHECKING:
    from npc_desktop.gui.network.nodes_dialog import NodesDialog
    from npc_desktop.gui.network.query_dialog import QueryDialog
    from npc_desktop.gui.network.send_dialog import SendDialog

ResultsSource = Callable[[], Union[ResultsToSend, str]]
"""Returns what to send, or a sentence saying why there is nothing to send."""


class PacsUi(QObject):
    """Opens the PACS dialogs and opens retrieved studies (see the module docstring)."""

    def __init__(self, context: WindowContext, open_study: Callable[[str], None], results: ResultsSource,
                 error: Callable[[str, str], None], store: Optional[StudyStore] = None) -> None:
        super().__init__(context.parent)
        self.context = context
        self.open_study = open_study
        self.results = results
        self.error = error
        self._store = store
        self.query_dialog: Optional[QueryDialog] = None
        self.send_dialog: Optional[SendDialog] = None
        self.nodes_dialog: Optional[NodesDialog] = None
        context.actions["query_pacs"].triggered.connect(self.query_pacs)
        context.actions["send_to_pacs"].triggered.connect(self.send_to_pacs)
        context.actions["pacs_nodes"].triggered.connect(self.edit_nodes)
        context.actions["open_store"].triggered.connect(self.open_store)
        self.listener = ListenerControl(context.settings, lambda: self.store, context.show_status, self)
        context.actions["pacs_listen"].toggled.connect(self._listen)

    @property
    def store(self) -> StudyStore:
        """The local study store (the user data folder's, unless one was given)."""
        if self._store is None:
            self._store = StudyStore()
        return self._store

    def query_pacs(self) -> None:
        """Show the Query PACS dialog (one at a time); retrieved studies open as they arrive."""
        if self.query_dialog is not None:
            self.query_dialog.raise_()
            self.query_dialog.activateWindow()
            return
        from npc_desktop.gui.network.query_dialog import QueryDialog  # pynetdicom and requests: on first use

        dialog = QueryDialog(self.store, self.context.parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.study_retrieved.connect(self._opened)
        dialog.finished.connect(lambda _result: setattr(self, "query_dialog", None))
        self.query_dialog = dialog
        dialog.show()

    def _opened(self, folder: str) -> None:
        self.context.show_status(f"Retrieved study: opening {folder}", 10000)
        self.open_study(folder)

    def _listen(self, on: bool) -> None:
        if not on:
            self.listener.stop()
            return
        problem = self.listener.start()
        if problem is not None:
            self.context.set_checked("pacs_listen", False)
            self.error("Cannot receive pushed studies", f"{problem}. Settings > PACS Nodes sets the port.")

    def shutdown(self) -> None:
        """Stop the listener (the window is closing)."""
        self.listener.stop()

    def open_store(self) -> None:
        """Open the whole local study store in the study browser (patients > studies > series)."""
        root = self.store.root
        if not any(root.glob("*/*.dcm")):
            self.error("The local study store is empty",
                       f"Nothing has been retrieved into {root} yet: use File > Query PACS… first.")
            return
        self.open_study(str(root))

    def send_to_pacs(self) -> None:
        """Show the Send to PACS dialog for the open study's SR and report."""
        results = self.results()
        if isinstance(results, str):
            self.error("Nothing to send to PACS", results)
            return
        from npc_desktop.gui.network.send_dialog import SendDialog

        dialog = SendDialog(results, self.context.parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: setattr(self, "send_dialog", None))
        self.send_dialog = dialog
        dialog.show()

    def edit_nodes(self) -> None:
        """Show Settings > PACS Nodes."""
        from npc_desktop.gui.network.nodes_dialog import NodesDialog

        dialog = NodesDialog(self.context.parent, settings=self.context.settings)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: setattr(self, "nodes_dialog", None))
        self.nodes_dialog = dialog
        dialog.open()
