"""Helpers for the staging GUI tests: a window with tiny models, a slow engine, colour grabs."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from npc_desktop.core.progress import check_cancelled
from npc_desktop.gui.staging.staging_state import ModelPhase

from .annotating import widget_point

MODEL_TIMEOUT_MS = 240_000
"""Generous: the tiny engine is built once per session, on a loaded 2-core machine."""


def wait_models(qtbot: Any, window: Any) -> None:
    """Start the window's models (if not started) and wait until they are ready."""
    window.staging_ui.start_models()
    qtbot.waitUntil(lambda: window.session.staging.status.phase in (ModelPhase.READY, ModelPhase.FAILED),
                    timeout=MODEL_TIMEOUT_MS)
    assert window.session.staging.status.phase is ModelPhase.READY, window.session.staging.status.message


def add_demo_rois(window: Any, demo: Any) -> list[Any]:
    """Give the open demo study the app's example ROIs (tumour and nodes on T1C, tumour on T2)."""
    from npc_desktop.core.demo.example_rois import example_rois

    rois = example_rois(demo)
    window.session.annotations.import_rois(rois, "demo examples")
    window.session.show_roi(rois[0].id)  # the key tumour slice, as the app opens the demo
    QApplication.processEvents()
    return rois


def click_action(qtbot: Any, window: Any, name: str) -> None:
    """Click the toolbar button of an action, as a person would."""
    button = window.toolbar.widgetForAction(window.actions_by_name[name])
    assert button is not None and button.isEnabled(), f"{name} has no enabled toolbar button"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def stage_and_wait(qtbot: Any, window: Any, timeout: int = 120_000) -> Any:
    """Click Stage and wait for the result; return the StagedResult."""
    staging = window.session.staging
    with qtbot.waitSignal(staging.result_changed, timeout=timeout):
        click_action(qtbot, window, "stage")
    assert staging.staged is not None
    return staging.staged


def rgb_grab(viewport: Any) -> np.ndarray:
    """The rendered canvas of a viewport as an (h, w, 3) uint8 RGB array."""
    QApplication.processEvents()
    image = viewport.canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    buffer = np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * image.height())
    rows = buffer.reshape(image.height(), image.bytesPerLine())[:, : 3 * image.width()]
    return rows.reshape(image.height(), image.width(), 3).copy()


def box_region(viewport: Any, box: tuple[int, int, int, int], inset: int = 3) -> tuple[slice, slice]:
    """Canvas (rows, columns) slices covering a pixel box of the image, ``inset`` screen pixels inside."""
    row0, col0, row1, col1 = box
    top_left: QPoint = widget_point(viewport, col0, row0)
    bottom_right: QPoint = widget_point(viewport, col1, row1)
    return (slice(top_left.y() + inset, bottom_right.y() - inset),
            slice(top_left.x() + inset, bottom_right.x() - inset))


def chroma(rgb: np.ndarray) -> np.ndarray:
    """max - min of the channels: 0 for grey (the MR image), large for heatmap colours."""
    as_int = rgb.astype(np.int16)
    return as_int.max(axis=-1) - as_int.min(axis=-1)


class SlowEngine:
    """A staging engine that takes ``seconds`` per request, checking the cancel token as the real one does.

    Every attribute but :meth:`stage_annotations` is the wrapped engine's.
    """

    def __init__(self, engine: Any, seconds: float = 3.0, steps: int = 60) -> None:
        self._engine = engine
        self._seconds = seconds
        self._steps = steps
        self.threads: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def stage_annotations(self, annotations: Any, volumes: Any, *, progress: Any = None,
                          cancel: threading.Event | None = None, **options: Any) -> Any:
        self.threads.append(threading.current_thread())
        for step in range(self._steps):
            check_cancelled(cancel)
            time.sleep(self._seconds / self._steps)
            if progress is not None:
                progress(step + 1, self._steps + 1)
        return self._engine.stage_annotations(annotations, volumes, progress=None, cancel=cancel, **options)
