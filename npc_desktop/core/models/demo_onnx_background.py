"""Building the full-size demo ONNX bundle in a background process, so a first start is not held up.

Exporting the five native-size demo members to ONNX takes minutes and several GB of memory (tf2onnx,
mostly InceptionResNetV2 and DenseNet121). The first time the workstation or the CLI wants the demo
models at native size and the cache is empty, staging uses TensorFlow for that session and
:func:`start_demo_onnx_build` starts one low-priority child process that fills the cache; the next
start finds it and loads the ONNX graphs in about a second. Small sizes (tests, ``--demo-size``) are
cheap and are still built in the foreground.

A marker file ``demo-onnx-<key>.building`` (the child's PID) keeps a second start from launching a
second build. ``NPC_DESKTOP_DEMO_ONNX_BACKGROUND=0`` turns background builds off.

Run as ``python -m npc_desktop.core.models.demo_onnx_background [SEED]`` (what the child does).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

from npc_desktop.core.models.demo_onnx import _complete, demo_cache_dir, demo_onnx_key, ensure_demo_onnx_bundle

__all__ = ["BACKGROUND_ENV", "demo_onnx_ready", "start_demo_onnx_build", "building_marker"]

log = logging.getLogger(__name__)

BACKGROUND_ENV = "NPC_DESKTOP_DEMO_ONNX_BACKGROUND"
"""Set to ``0`` to never start a background build."""


def _target(input_sizes: Optional[Mapping[str, Any]], seed: int) -> Path:
    return demo_cache_dir() / f"demo-onnx-{demo_onnx_key(input_sizes, seed=seed)}"


def demo_onnx_ready(input_sizes: Optional[Mapping[str, Any]] = None, seed: int = 0) -> bool:
    """Whether the cached demo ONNX bundle for these sizes and seed is complete (no hashing, no TensorFlow)."""
    return _complete(_target(input_sizes, seed))


def building_marker(seed: int = 0) -> Path:
    """The marker file that names the PID of the native-size build in progress."""
    return _target(None, seed).with_suffix(".building")


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive but not ours (PermissionError), or a platform without signal 0
        return True
    return True


def _build_in_progress(marker: Path) -> bool:
    try:
        return _running(int(marker.read_text(encoding="ascii").strip() or "0"))
    except (OSError, ValueError):
        return False


def start_demo_onnx_build(seed: int = 0) -> Optional[subprocess.Popen]:
    """Start the native-size demo ONNX build in a low-priority child process, unless one is running.

    Returns
    -------
    subprocess.Popen or None
        The child, or None when the cache is complete, a build is already running, background builds
        are turned off, or this is a frozen application (which cannot run ``python -m``).
    """
    if os.environ.get(BACKGROUND_ENV, "1").strip() == "0" or getattr(sys, "frozen", False):
        return None
    if demo_onnx_ready(None, seed):
        return None
    marker = building_marker(seed)
    if _build_in_progress(marker):
        return None
    marker.parent.mkdir(parents=True, exist_ok=True)
    log_path = marker.with_suffix(".log")
    options: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    if os.name == "nt":
        options["creationflags"] = subprocess.BELOW_NORMAL_PRIORITY_CLASS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    with open(log_path, "wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "npc_desktop.core.models.demo_onnx_background", str(int(seed))],
            stdout=output, **options,
        )
    marker.write_text(str(child.pid), encoding="ascii")
    log.info("building the demo ONNX models in the background (process %d, log %s)", child.pid, log_path)
    return child


def _main(argv: list[str]) -> int:
    seed = int(argv[0]) if argv else 0
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)
    marker = building_marker(seed)
    try:
        path = ensure_demo_onnx_bundle(seed=seed)
    finally:
        with contextlib.suppress(OSError):
            if marker.read_text(encoding="ascii").strip() == str(os.getpid()):
                marker.unlink()
    print(f"demo ONNX bundle ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
