"""The core must import with Qt and pyqtgraph unavailable, and without TensorFlow."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT

BLOCKER = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"core imported {name}")
            return None

    sys.meta_path.insert(0, Block())
    import npc_desktop.core as core
    names = [m.name for m in pkgutil.walk_packages(core.__path__, "npc_desktop.core.")]
    for name in names:
        importlib.import_module(name)
    print(len(names), "tensorflow" in sys.modules)
    """
)


def test_core_imports_without_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    count, tensorflow_loaded = result.stdout.split()
    assert int(count) >= 8
    assert tensorflow_loaded == "False", "importing the core must not import TensorFlow"


def test_blocker_catches_qt_import() -> None:
    """The check itself fails when a Qt import sneaks in (so it is not a test that cannot fail)."""
    script = BLOCKER.replace("import npc_desktop.core as core", "import pyqtgraph\nimport npc_desktop.core as core")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "core imported pyqtgraph" in result.stderr
