"""The workaround for PySide6 6.12.0's lost references to True/False in SignalInstance."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.gui

SCRIPT = textwrap.dedent(
    """
    import sys
    import npc_desktop.gui  # installs the workaround
    from PySide6.QtCore import QObject, Signal

    class Source(QObject):
        changed = Signal(int)

    source = Source()
    def slot(value):
        pass
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(20000):  # enough to abort the interpreter without the workaround
        source.changed.emit(i)
        source.changed.connect(slot)
        source.changed.disconnect(slot)
    after = sys.getrefcount(True), sys.getrefcount(False)
    print(after[0] - before[0], after[1] - before[1])
    """
)


def test_signals_do_not_drain_true_and_false() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    true_delta, false_delta = (int(v) for v in result.stdout.split())
    assert abs(true_delta) < 10 and abs(false_delta) < 10
