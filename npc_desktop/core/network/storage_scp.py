"""Our Storage SCP: started for one C-MOVE, or as a persistent listener that accepts pushed studies."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Optional

from pynetdicom import AE, evt
from pynetdicom.presentation import AllStoragePresentationContexts
from pynetdicom.sop_class import Verification

from npc_desktop.core.network.errors import PacsConnectionError
from npc_desktop.core.network.nodes import Timeouts, check_ae_title
from npc_desktop.core.network.storage import (
    COMPRESSED_SYNTAXES,
    NATIVE_SYNTAXES,
    ReceiveLog,
    make_store_handler,
)
from npc_desktop.core.network.store import StoreTransaction, StudyStore

log = logging.getLogger(__name__)


class StorageServer:
    """A Storage SCP (and Verification SCP) on ``port`` while the ``with`` block runs.

    Parameters
    ----------
    ae_title
        The AE title we answer to.
    port
        The TCP port to listen on.
    store_handler
        The EVT_C_STORE handler (:func:`make_store_handler`).
    bind_host
        The interface to listen on; all interfaces when empty.
    timeouts
        ACSE and DIMSE timeouts for incoming associations.
    """

    def __init__(self, ae_title: str, port: int, store_handler: Callable, *, bind_host: str = "",
                 timeouts: Optional[Timeouts] = None) -> None:
        self.ae_title = check_ae_title(ae_title, "our AE title")
        self.port = int(port)
        self.bind_host = bind_host
        self.store_handler = store_handler
        self.timeouts = timeouts or Timeouts()
        self._ae: Optional[AE] = None
        self._server = None

    def start(self) -> "StorageServer":
        """Start listening; raise :class:`PacsConnectionError` naming the port when it is taken."""
        ae = AE(ae_title=self.ae_title)
        ae.acse_timeout = self.timeouts.acse
        ae.dimse_timeout = self.timeouts.dimse
        ae.network_timeout = self.timeouts.dimse
        ae.maximum_associations = 4
        syntaxes = list(NATIVE_SYNTAXES + COMPRESSED_SYNTAXES)
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, syntaxes)
        ae.add_supported_context(Verification)
        try:
            self._server = ae.start_server((self.bind_host, self.port), block=False,
                                           evt_handlers=[(evt.EVT_C_STORE, self.store_handler)])
        except OSError as exc:
            raise PacsConnectionError(f"our Storage SCP {self.ae_title}",
                                      f"cannot listen on port {self.port} ({exc.strerror}); choose another port")
        self._ae = ae
        log.info("Storage SCP %s listening on port %d", self.ae_title, self.port)
        return self

    def stop(self) -> None:
        """Stop listening and end open associations."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._ae is not None:
            self._ae.shutdown()
            self._ae = None

    def __enter__(self) -> "StorageServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class StorageListener:
    """The optional persistent listener (off by default): studies pushed to us go into the store.

    Parameters
    ----------
    store
        The study store.
    ae_title, port, bind_host
        Where we listen.
    on_stored
        Called with each new file's path (from a network thread).
    """

    def __init__(self, store: StudyStore, ae_title: str, port: int, *, bind_host: str = "",
                 on_stored: Optional[Callable[[Path], None]] = None) -> None:
        self.store = store
        self.receive_log = ReceiveLog(StoreTransaction(store))
        self._on_stored = on_stored
        self._lock = threading.Lock()
        self._seen = 0
        handler = make_store_handler(store, self.receive_log, on_instance=self._announce)
        self.server = StorageServer(ae_title, port, handler, bind_host=bind_host)

    def _announce(self, _count: int) -> None:
        with self._lock:
            new = self.receive_log.transaction.written[self._seen:]
            self._seen += len(new)
        if self._on_stored is not None:
            for path in new:
                self._on_stored(path)

    def start(self) -> "StorageListener":
        """Start listening."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop listening; files already received stay in the store."""
        self.server.stop()
