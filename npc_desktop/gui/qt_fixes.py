"""Work around a reference-counting bug of PySide6 6.12.0 in ``SignalInstance``.

``SignalInstance.emit()`` and ``SignalInstance.disconnect()`` return ``True`` / ``False``
without taking a reference to them. Every call from Python therefore takes one reference away
from the ``True`` or ``False`` singleton; on Python 3.11, where they are not immortal, the
interpreter aborts with "bool_dealloc: deallocating True or False" once a few thousand signals
have been emitted (minutes of scrolling, or the end of a test run). pyqtgraph emits signals on
every mouse move, so the application cannot avoid the calls.

:func:`install` measures the leak with a probe and, only if it is there, wraps the two methods
so that the missing reference is added back. With a fixed PySide6 the probe finds nothing and
nothing is patched.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBE_CALLS = 64
_installed: dict[str, bool] = {}


class _Probe(QObject):
    signal = Signal(int)


def _leaks(call: Callable[[], Any]) -> bool:
    true_before, false_before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(_PROBE_CALLS):
        call()
    lost = {True: true_before - sys.getrefcount(True), False: false_before - sys.getrefcount(False)}
    for flag, count in lost.items():
        # Repay the probe's own damage so that measuring leaves the interpreter as it was.
        for _ in range(max(0, count)):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(flag))
    # A leak loses one reference per call; allow for unrelated references coming and going.
    return sum(max(0, c) for c in lost.values()) >= _PROBE_CALLS // 2


def _repaying(method: Callable[..., Any]) -> Callable[..., Any]:
    incref = ctypes.pythonapi.Py_IncRef
    py_object = ctypes.py_object

    def wrapper(self: SignalInstance, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        if result is True or result is False:
            incref(py_object(result))
        return result

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def install() -> dict[str, bool]:
    """Patch the leaking ``SignalInstance`` methods once per process; return what was patched."""
    if _installed:
        return dict(_installed)
    probe = _Probe()

    def slot(_: int) -> None:
        pass

    def connect_disconnect() -> None:
        probe.signal.connect(slot)
        probe.signal.disconnect(slot)

    checks = {"emit": lambda: probe.signal.emit(1), "disconnect": connect_disconnect}
    for name, call in checks.items():
        # True only when the leak is real: a refcount drop of one per call.
        _installed[name] = False
        if _leaks(call):
            setattr(SignalInstance, name, _repaying(getattr(SignalInstance, name)))
            _installed[name] = True
    return dict(_installed)
