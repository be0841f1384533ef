"""Building the full-size demo ONNX bundle in a background process, so a first start is not held up.

Exporting the five native-size demo members to ONNX takes minutes and several GB of memory (tf2onnx,
mostly InceptionResNetV2 and DenseNet121). The first time the workstation or the CLI wants the demo
models at native size and the cache is empty, staging uses TensorFlow for that session and
:func:`start_demo_onnx_build` starts one low-priority child process that fills the cache; the next
start finds it and loads the ONNX graphs in about a second. Small sizes (tests, ``--demo-size``) are
cheap and are still built in the foreground.

A marker file ``demo-onnx-<key>.building``, created exclusively and then holding the child's PID,
keeps a second start from launching a second build; after :data:`MAX_ATTEMPTS` builds that did not
finish (an error, or the process killed for memory) no more are started and the demo is built in the
foreground instead. ``NPC_DESKTOP_DEMO_ONNX_BACKGROUND=0`` turns background builds off (then, as in a
frozen application, the demo is built in the foreground on first use).

Run as ``python -m npc_desktop.core.models.demo_onnx_background [SEED]`` (what the child does).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
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


MAX_ATTEMPTS = 2
"""Background builds started per cache key before giving up (a build that fails or is killed, e.g.
for lack of memory, is not started again at every launch)."""


def _alive(pid: int) -> bool:
    import psutil

    return pid > 0 and psutil.pid_exists(pid)


def _claim(marker: Path) -> bool:
    """Create ``marker`` exclusively; a marker naming a dead process is stale and is replaced."""
    for _ in range(2):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(marker.read_text(encoding="ascii").strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid == 0 and time.time() - _mtime(marker) < 60:
                return False  # just created by another start that has not written its child's PID yet
            if _alive(pid):
                return False
            with contextlib.suppress(OSError):
                marker.unlink()
            continue
        os.close(fd)
        return True
    return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _attempts(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or "0")
    except (OSError, ValueError):
        return 0


def start_demo_onnx_build(seed: int = 0) -> bool:
    """Make sure the native-size demo ONNX bundle is being built in a low-priority child process.

    Returns
    -------
    bool
        True when a build is running now (started here or by another start), so staging can use
        TensorFlow meanwhile. False when the cache is complete, background builds are turned off,
        this is a frozen application (which cannot run ``python -m``), or earlier background builds
        failed :data:`MAX_ATTEMPTS` times (see the ``.log`` next to the cache folder): the caller then
        builds in the foreground or reports the problem.
    """
    if os.environ.get(BACKGROUND_ENV, "1").strip() == "0" or getattr(sys, "frozen", False):
        return False
    if demo_onnx_ready(None, seed):
        return False
    marker = building_marker(seed)
    marker.parent.mkdir(parents=True, exist_ok=True)
    if not _claim(marker):
        return True  # another process is building it
    attempts_file = marker.with_suffix(".attempts")
    attempts = _attempts(attempts_file)
    if attempts >= MAX_ATTEMPTS:
        marker.unlink(missing_ok=True)
        log.warning("the demo ONNX models failed to build %d times in the background (log: %s)", attempts,
                    marker.with_suffix(".log"))
        return False
    attempts_file.write_text(str(attempts + 1), encoding="ascii")
    log_path = marker.with_suffix(".log")
    options: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    if os.name == "nt":
        options["creationflags"] = subprocess.BELOW_NORMAL_PRIORITY_CLASS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        options["start_new_session"] = True
    try:
        with open(log_path, "wb") as output:
            child = subprocess.Popen(
                [sys.executable, "-m", "npc_desktop.core.models.demo_onnx_background", str(int(seed))],
                stdout=output, **options,
            )
    except OSError:
        marker.unlink(missing_ok=True)
        raise
    marker.write_text(str(child.pid), encoding="ascii")
    log.info("building the demo ONNX models in the background (process %d, log %s)", child.pid, log_path)
    return True


def _main(argv: list[str]) -> int:
    seed = int(argv[0]) if argv else 0
    with contextlib.suppress(AttributeError, OSError):
        os.nice(10)
    marker = building_marker(seed)
    try:
        path = ensure_demo_onnx_bundle(seed=seed)
        marker.with_suffix(".attempts").unlink(missing_ok=True)
    finally:
        with contextlib.suppress(OSError):
            if marker.read_text(encoding="ascii").strip() == str(os.getpid()):
                marker.unlink()
    print(f"demo ONNX bundle ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
