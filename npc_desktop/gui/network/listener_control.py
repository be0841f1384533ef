"""Settings > Receive Pushed Studies: our persistent Storage SCP, off until the user turns it on.

Instances a PACS pushes go into the local study store; the status bar counts them. The port and
AE title are set in Settings > PACS Nodes (remembered in the application settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject, Signal

from npc_desktop.core.network import DEFAULT_OUR_AET, PacsError, StudyStore
from npc_desktop.core.network.errors import NodeConfigError
from npc_desktop.gui.settings import AppSettings

if TYPE_CHECKING:
    from npc_desktop.core.network import StorageListener

PORT_KEY = "pacs/listen_port"
AET_KEY = "pacs/listen_aet"
DEFAULT_LISTEN_PORT = 11112


def listen_settings(settings: AppSettings) -> tuple[int, str]:
    """The saved (port, AE title) of the persistent listener."""
    return int(settings.number(PORT_KEY, DEFAULT_LISTEN_PORT)), settings.text(AET_KEY, DEFAULT_OUR_AET)


class ListenerControl(QObject):
    """Starts and stops the persistent listener; ``received`` carries each new file (queued to the GUI thread)."""

    received = Signal(str)

    def __init__(self, settings: AppSettings, store: Callable[[], StudyStore], show_status: Callable[[str, int], None],
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.store = store
        self.show_status = show_status
        self.listener: Optional[StorageListener] = None
        self.count = 0
        self.received.connect(self._on_received)

    def start(self) -> Optional[str]:
        """Start listening; return a problem sentence when it cannot (the port is taken, a bad AE title)."""
        if self.listener is not None:
            return None
        from npc_desktop.core.network import StorageListener  # pynetdicom: only when receiving is turned on

        port, aet = listen_settings(self.settings)
        try:
            listener = StorageListener(self.store(), aet, port, on_stored=lambda path: self.received.emit(str(path)))
            self.listener = listener.start()
        except (PacsError, NodeConfigError) as exc:
            return str(exc)
        self.count = 0
        self.show_status(f"Receiving pushed studies as {aet} on port {port}", 10000)
        return None

    def stop(self) -> None:
        """Stop listening (what arrived stays in the store)."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
            self.show_status("Stopped receiving pushed studies", 5000)

    def _on_received(self, path: str) -> None:
        self.count += 1
        self.show_status(f"Received {self.count} instance(s) from a PACS (last: study {Path(path).parent.name})",
                         10000)
