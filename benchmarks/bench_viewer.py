"""Viewer speed and memory on the 120-slice 512x512 TCIA series, against baselines in the same run.

Figures (issue 3):

- slice time: median and 95th percentile of the time to show the next slice (wheel event in,
  overlays updated, canvas repainted) over 200 scroll steps; baseline: a plain pyqtgraph
  ``ImageItem.setImage(raw_slice)`` plus repaint in a view of the same size. Target: p95 <= 16 ms.
- start time: process start to the first image painted, for the demo study (the default start)
  and for the TCIA series, TensorFlow never imported; baseline: a bare
  ``python -c "import PySide6.QtWidgets"`` process. Target: <= 2 s.
- peak memory with the series open and scrolled through: peak RSS minus the RSS of the same
  process with the window shown and nothing open; target <= 2x the voxel array's size.
- models ready (issue 19): process start to the staging models loaded (the default ONNX Runtime,
  untrained demo members from the cached ONNX bundle, built beforehand if missing); target <= 5 s.

The last line printed is one JSON object with the figures.

Usage: python benchmarks/bench_viewer.py [SERIES_FOLDER] [--steps N] [--starts N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SERIES = REPO.parent / "shared" / "data" / "dicom" / "mr-head-t1c-tcia-vs-seg-001"
WINDOW_SIZE = (1440, 900)


def _sandbox_env(root: Path) -> dict[str, str]:
    """Environment of a child process: offscreen, private settings and cache."""
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(root / "config"),
                XDG_CACHE_HOME=str(root / "cache"), PYTHONPATH=str(REPO))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (linear interpolation), q in [0, 100]."""
    import numpy as np

    return float(np.percentile(values, q))


# -- child processes ---------------------------------------------------------------------------

START_CHILD = """
import sys, time
from npc_desktop.gui import app
qapp = app.create_application()
window = app.create_main_window(sys.argv[1] or None)
def shown():
    print(f"FIRST_IMAGE {time.time():.6f} {'tensorflow' in sys.modules}", flush=True)
    window.close()
    qapp.exit(0)
window.first_image_shown.connect(shown)
window.session.error_occurred.connect(lambda *a: (print("ERROR", *a, flush=True), qapp.exit(1)))
sys.exit(qapp.exec())
"""


MODELS_CHILD = """
import sys, time
from npc_desktop.gui import app
from npc_desktop.gui.staging.staging_state import ModelPhase
qapp = app.create_application()
window = app.create_main_window(None)
def status(s):
    if s.phase in (ModelPhase.READY, ModelPhase.FAILED):
        print(f"MODELS {s.phase.value} {time.time():.6f} {'tensorflow' in sys.modules} {s.text}", flush=True)
        window.close()
        qapp.exit(0)
window.session.staging.status_changed.connect(status)
sys.exit(qapp.exec())
"""


def models_ready_time(env: dict[str, str]) -> tuple[float, bool, str]:
    """Seconds from spawning the workstation to its staging models being ready; TF imported; status text."""
    started = time.time()
    result = subprocess.run([sys.executable, "-c", MODELS_CHILD], env=env, capture_output=True, text=True, timeout=600)
    for line in result.stdout.splitlines():
        if line.startswith("MODELS"):
            _, phase, stamp, tensorflow, text = line.split(" ", 4)
            if phase != "ready":
                raise RuntimeError(f"models failed to load: {text}")
            return float(stamp) - started, tensorflow == "True", text
    raise RuntimeError(f"models never loaded: {result.stdout}\n{result.stderr[-2000:]}")


def start_time(path: str, env: dict[str, str]) -> tuple[float, bool]:
    """Seconds from spawning the process to its first painted image; whether TF was imported."""
    started = time.time()
    result = subprocess.run([sys.executable, "-c", START_CHILD, path], env=env, capture_output=True,
                            text=True, timeout=120)
    for line in result.stdout.splitlines():
        if line.startswith("FIRST_IMAGE"):
            _, stamp, tensorflow = line.split()
            return float(stamp) - started, tensorflow == "True"
    raise RuntimeError(f"no image shown: {result.stdout}\n{result.stderr}")


def bare_qt_start(env: dict[str, str]) -> float:
    """Seconds for a process that only imports PySide6.QtWidgets."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], env=env, check=True, timeout=60)
    return time.perf_counter() - started


def _rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def memory_child(folder: str) -> None:
    """Run in a child: print baseline RSS, peak RSS and voxel bytes as JSON."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from npc_desktop.gui.app import create_application
    from npc_desktop.gui.main_window import MainWindow

    qapp = create_application()
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(*WINDOW_SIZE)
    window.show()
    for _ in range(5):
        qapp.processEvents()
    baseline = _rss_bytes()
    loop = QEventLoop()
    window.first_image_shown.connect(lambda: QTimer.singleShot(300, loop.quit))
    window.open_path(folder)
    loop.exec()
    viewport = window.grid.viewports[0]
    count = viewport.state.volume.shape[0]
    for k in range(count):
        window.session.set_slice(0, k)
        viewport.canvas.viewport().repaint()
    window.session.set_clahe(window.session.clahe.__class__(True, 2.0, 8))
    viewport.canvas.viewport().repaint()
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, _rss_bytes())
    print(json.dumps({"baseline": baseline, "peak": peak, "voxel_bytes": int(viewport.state.volume.voxels.nbytes),
                      "shape": list(viewport.state.volume.shape)}))
    window.close()


# -- in-process slice timing -------------------------------------------------------------------

def _timed_steps(step: Callable[[int], None], steps: int, count: int) -> list[float]:
    """Time ``step(direction)`` ``steps`` times, bouncing between the first and last slice."""
    times = []
    position, direction = 0, 1
    for _ in range(steps):
        if not 0 <= position + direction < count:
            direction = -direction
        position += direction
        started = time.perf_counter()
        step(direction)
        times.append(time.perf_counter() - started)
    return times


def slice_times(folder: str, steps: int) -> tuple[list[float], list[float], tuple[int, int]]:
    """Per-step seconds for the viewer (wheel event) and for the plain pyqtgraph baseline."""
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QPoint, QPointF, QSettings, Qt, QTimer
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    from npc_desktop.gui.app import create_application
    from npc_desktop.gui.main_window import MainWindow

    qapp = create_application()
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(*WINDOW_SIZE)
    window.show()
    loop = QEventLoop()
    window.first_image_shown.connect(lambda: QTimer.singleShot(300, loop.quit))
    window.open_path(folder)
    loop.exec()
    viewport = window.grid.viewports[0]
    canvas = viewport.canvas
    target = canvas.viewport()
    volume = viewport.state.volume
    window.session.set_slice(0, 0)
    # The pointer rests on the image, so the cursor readout is part of every frame too.
    centre = target.rect().center()
    viewport._on_hover(volume.shape[2] / 2, volume.shape[1] / 2)

    def wheel(direction: int) -> None:
        delta = -120 if direction > 0 else 120
        event = QWheelEvent(QPointF(centre), QPointF(target.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, delta),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(target, event)
        target.repaint()

    _timed_steps(wheel, 20, volume.shape[0])  # warm-up
    ours = _timed_steps(wheel, steps, volume.shape[0])
    assert window.session.viewports[0].slice_index == viewport.slider.value()
    size = (target.width(), target.height())
    window.close()

    view = pg.GraphicsView()
    box = pg.ViewBox(lockAspect=True, invertY=True)
    view.setCentralItem(box)
    item = pg.ImageItem(axisOrder="row-major")
    box.addItem(item)
    view.resize(*size)
    view.show()
    item.setImage(volume.voxels[0])
    box.autoRange(padding=0)
    qapp.processEvents()
    index = [0]

    def plain(direction: int) -> None:
        index[0] += direction
        item.setImage(volume.voxels[index[0]])
        view.viewport().repaint()

    _timed_steps(plain, 20, volume.shape[0])
    index[0] = 0
    baseline = _timed_steps(plain, steps, volume.shape[0])
    view.close()
    del np
    return ours, baseline, size


def models_ready_figures(starts: int) -> dict[str, object]:
    """Models ready after launch (median of ``starts``) with the bare PySide6 start as the baseline."""
    from npc_desktop.core.models.demo_onnx import CACHE_ENV, demo_cache_dir, ensure_demo_onnx_bundle

    ensure_demo_onnx_bundle()  # the one-time build (with TensorFlow) is not what is timed
    sandbox = Path(tempfile.mkdtemp(prefix="bench-viewer-models-"))
    env = dict(_sandbox_env(sandbox), **{CACHE_ENV: str(demo_cache_dir())})
    start_time("", env)  # writes the demo study into the sandbox cache, warms imports
    ready = [models_ready_time(env) for _ in range(starts)]
    bare = statistics.median(bare_qt_start(env) for _ in range(starts))
    return {"models_ready_s": round(statistics.median(t for t, _, _ in ready), 3), "models_ready_target_s": 5.0,
            "models_ready_tensorflow_imported": any(tf for _, tf, _ in ready), "models_status": ready[0][2],
            "baseline_start_s_bare_pyside6": round(bare, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_SERIES)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--starts", type=int, default=3, help="start-up runs per figure (median)")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--models-only", action="store_true", help="only the models-ready figure (and its baseline)")
    args = parser.parse_args()
    folder = str(args.folder)
    if args.memory_child:
        memory_child(folder)
        return 0
    if args.models_only:
        figures = models_ready_figures(args.starts)
        print(f"models ready after launch: {figures['models_ready_s']} s (median of {args.starts}) | bare PySide6 "
              f"start {figures['baseline_start_s_bare_pyside6']} s | target <= 5 s")
        print(json.dumps(figures))
        return 0
    if not args.folder.is_dir():
        print(f"bench_viewer: error: {folder}: no such folder", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for path in args.folder.iterdir():  # warm the page cache: we time the viewer, not the disk
        path.read_bytes()

    sandbox = Path(tempfile.mkdtemp(prefix="bench-viewer-"))
    env = _sandbox_env(sandbox)
    start_time("", env)  # writes the demo study into the sandbox cache, warms imports
    demo_starts = [start_time("", env) for _ in range(args.starts)]
    tcia_starts = [start_time(folder, env) for _ in range(args.starts)]
    bare_starts = [bare_qt_start(env) for _ in range(args.starts)]
    tensorflow_imported = any(tf for _, tf in demo_starts + tcia_starts)
    start_demo = statistics.median(t for t, _ in demo_starts)
    start_tcia = statistics.median(t for t, _ in tcia_starts)
    start_bare = statistics.median(bare_starts)

    memory = subprocess.run([sys.executable, __file__, folder, "--memory-child"], env=env, capture_output=True,
                            text=True, timeout=300)
    if memory.returncode != 0:
        print(memory.stderr, file=sys.stderr)
        return 1
    mem = json.loads(memory.stdout.strip().splitlines()[-1])
    models = models_ready_figures(args.starts)

    ours, plain, size = slice_times(folder, args.steps)
    ms = 1000.0
    figures = {
        "slice_ms_median": round(statistics.median(ours) * ms, 2),
        "slice_ms_p95": round(percentile(ours, 95) * ms, 2),
        "slice_ms_max": round(max(ours) * ms, 2),
        "baseline_setimage_ms_median": round(statistics.median(plain) * ms, 2),
        "baseline_setimage_ms_p95": round(percentile(plain, 95) * ms, 2),
        "slice_p95_ratio_to_baseline": round(percentile(ours, 95) / percentile(plain, 95), 2),
        "slice_target_p95_ms": 16.0,
        "canvas_size": list(size),
        "steps": args.steps,
        "start_s_demo": round(start_demo, 3),
        "start_s_tcia": round(start_tcia, 3),
        "baseline_start_s_bare_pyside6": round(start_bare, 3),
        "start_ratio_demo_to_baseline": round(start_demo / start_bare, 2),
        "start_ratio_tcia_to_baseline": round(start_tcia / start_bare, 2),
        "start_target_s": 2.0,
        "tensorflow_imported_at_start": tensorflow_imported,
        "memory_baseline_mb": round(mem["baseline"] / 2**20, 1),
        "memory_peak_mb": round(mem["peak"] / 2**20, 1),
        "memory_growth_mb": round((mem["peak"] - mem["baseline"]) / 2**20, 1),
        "voxel_array_mb": round(mem["voxel_bytes"] / 2**20, 1),
        "memory_growth_ratio_to_voxels": round((mem["peak"] - mem["baseline"]) / mem["voxel_bytes"], 2),
        "memory_target_ratio": 2.0,
        **{k: v for k, v in models.items() if k != "baseline_start_s_bare_pyside6"},
    }
    print(f"series: {folder} {mem['shape']} ({figures['voxel_array_mb']} MB of voxels)")
    print(f"next slice: median {figures['slice_ms_median']} ms, p95 {figures['slice_ms_p95']} ms over {args.steps} "
          f"wheel steps on a {size[0]}x{size[1]} canvas | plain ImageItem.setImage median "
          f"{figures['baseline_setimage_ms_median']} ms, p95 {figures['baseline_setimage_ms_p95']} ms "
          f"(ratio p95 {figures['slice_p95_ratio_to_baseline']}) | target p95 <= 16 ms")
    print(f"start to first image: demo {figures['start_s_demo']} s, TCIA {figures['start_s_tcia']} s | bare "
          f"'import PySide6.QtWidgets' process {figures['baseline_start_s_bare_pyside6']} s | target <= 2 s | "
          f"TensorFlow imported: {tensorflow_imported}")
    print(f"memory: baseline {figures['memory_baseline_mb']} MB, peak {figures['memory_peak_mb']} MB, growth "
          f"{figures['memory_growth_mb']} MB = {figures['memory_growth_ratio_to_voxels']}x the voxel array "
          f"| target <= 2x")
    print(f"models ready after launch: {figures['models_ready_s']} s (median of {args.starts}; "
          f"{figures['models_status']}) | target <= 5 s | TensorFlow imported: "
          f"{figures['models_ready_tensorflow_imported']}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
