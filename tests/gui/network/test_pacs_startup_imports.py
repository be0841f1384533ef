"""The workstation's start-up does not import the PACS libraries; they load when a PACS dialog opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


def test_the_main_window_module_does_not_import_pynetdicom_or_dicomweb_client() -> None:
    code = ("import sys, npc_desktop.gui.main_window, npc_desktop.core.network as n; n.StudyStore; n.PacsNode; "
            "print(sorted(m for m in ('pynetdicom', 'dicomweb_client') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3], env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_package_still_offers_every_name_it_lists() -> None:
    import npc_desktop.core.network as network

    for name in network.__all__:
        assert getattr(network, name) is not None
