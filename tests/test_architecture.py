"""The package layout's rules: import contracts (pyproject.toml) and the module size limit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

MAX_MODULE_LINES = 450
"""No module of the package is longer than this (DESIGN.md section 2)."""


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the package found under ``root`` with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    script = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run(
        [sys.executable, "-c", script, "--config", str(REPO_ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )


def test_import_contracts_are_kept() -> None:
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/preprocessing.py", "import PySide6.QtCore", "The core is Qt-free"),
        ("core/annotation/rois.py", "import npc_desktop.core.staging.engine", "Core capabilities are layered"),
        ("core/dicom/errors.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import npc_desktop.core.dicom.index",
         "No import cycles"),
        ("gui/staging/staging_ui.py", "import npc_desktop.gui.annotation.annotation_session", "GUI: the shell composes"),
        ("gui/viewer/viewer_grid.py", "import npc_desktop.gui.staging.cam_layer", "GUI: the shell composes"),
        ("gui/viewer/overlay.py", "import npc_desktop.cli.main", "Front ends over the core"),
    ],
)
def test_contracts_catch_a_planted_violation(tmp_path: Path, module: str, line: str, contract: str) -> None:
    """Each contract fails on a copy of the package with one forbidden import added."""
    copy = tmp_path / "npc_desktop"
    shutil.copytree(REPO_ROOT / "npc_desktop", copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + "\n" + line + "\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in broken.replace("\n", " "), result.stdout


def test_no_module_is_over_the_size_limit() -> None:
    too_long = {
        str(path.relative_to(REPO_ROOT)): n
        for path in sorted((REPO_ROOT / "npc_desktop").rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them by responsibility): {too_long}"
