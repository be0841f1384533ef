"""Progress reporting and cooperative cancellation shared by long-running core operations."""

from __future__ import annotations

import threading
from typing import Callable, Optional, Protocol

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)``; ``total`` may be 0 when unknown."""


class CancelToken(Protocol):
    """Anything with ``is_set()``, such as :class:`threading.Event`."""

    def is_set(self) -> bool:  # pragma: no cover - protocol
        ...


class OperationCancelled(Exception):
    """Raised inside a core operation when its cancel token was set."""


def check_cancelled(cancel: Optional[CancelToken]) -> None:
    """Raise :class:`OperationCancelled` if ``cancel`` is set.

    Parameters
    ----------
    cancel
        A cancel token (for example a :class:`threading.Event`), or None.
    """
    if cancel is not None and cancel.is_set():
        raise OperationCancelled("operation cancelled")


def new_cancel_token() -> threading.Event:
    """Return a fresh cancel token."""
    return threading.Event()
