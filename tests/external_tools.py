"""Outside tools used as test oracles (poppler-utils, dicom3tools).

A missing tool skips the test on a developer's machine but fails in CI, where .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_tool(name: str, package: str) -> str:
    """The path of the command ``name``; skip (or fail under CI=true) when it is missing."""
    tool = shutil.which(name)
    if tool is None:
        message = f"{name} (Debian package {package}) is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must have it")
        pytest.skip(message)
    return tool


def run_tool(name: str, package: str, *args: object) -> subprocess.CompletedProcess:
    """Run an outside tool and return its completed process (text output)."""
    command = [require_tool(name, package), *(str(a) for a in args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def pdf_text(path: Path) -> str:
    """pdftotext's layout text of a PDF."""
    result = run_tool("pdftotext", "poppler-utils", "-layout", path, "-")
    assert result.returncode == 0, result.stderr
    return result.stdout


def pdf_pages_text(path: Path) -> list[str]:
    """pdftotext's text, one string per page."""
    return pdf_text(path).split("\f")[:-1]


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines dciodvfy reports as errors for a DICOM file."""
    result = run_tool("dciodvfy", "dicom3tools", path)
    report = result.stdout + result.stderr
    return [line for line in report.splitlines() if line.startswith("Error")]
