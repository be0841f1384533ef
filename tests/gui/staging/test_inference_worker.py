"""The inference worker thread: results, cancel, failures, superseded requests, a live event loop."""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator

import numpy as np
import pytest
from PySide6.QtCore import QThread

from npc_desktop.core.progress import check_cancelled
from npc_desktop.gui.staging.inference_worker import InferenceService

pytestmark = pytest.mark.gui


def _small_engine_factory(progress: Any, cancel: threading.Event) -> Any:
    from npc_desktop.core.models.bundle import demo_bundle
    from npc_desktop.core.staging.engine import StagingEngine

    bundle = demo_bundle(architectures=("vgg16", "basic_cnn"), input_sizes={"vgg16": 32, "basic_cnn": 32},
                         progress=progress, cancel=cancel)
    return StagingEngine(bundle, batch_size=1)


@pytest.fixture(scope="module")
def service(qapp: Any) -> Iterator[InferenceService]:
    svc = InferenceService(_small_engine_factory)
    ready: list[str] = []
    svc.ready.connect(ready.append)
    svc.start()
    deadline = time.monotonic() + 240
    while not ready and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert ready, "the engine did not load"
    yield svc
    assert svc.shutdown()


def _items(count: int) -> list[Any]:
    from npc_desktop.core.staging.engine import StagingItem

    rng = np.random.default_rng(0)
    return [StagingItem(rng.integers(0, 256, (40, 50), dtype=np.uint8), box=(5, 6, 45, 56)) for _ in range(count)]


def test_ready_reports_bundle_and_device(service: InferenceService) -> None:
    assert service.is_ready
    assert "UNTRAINED DEMO - not a prediction" in service.description
    assert " on CPU" in service.description or " on GPU" in service.description


def test_a_staging_result_arrives_with_progress(qtbot: Any, service: InferenceService) -> None:
    progress: list[tuple[int, int]] = []
    service.progress.connect(lambda d, t: progress.append((d, t)))
    with qtbot.waitSignal(service.result, timeout=60000) as blocker:
        request = service.stage(_items(3))
    request_id, result = blocker.args
    assert request_id == request and len(result.patches) == 3
    assert result.untrained_demo and result.patches[0].cams["vgg16"].shape == (40, 50)
    assert progress[-1] == (6, 6) and progress[0] == (0, 6)
    assert not service.busy


def test_work_runs_on_the_worker_thread_and_the_event_loop_keeps_running(qtbot: Any, service: InferenceService) -> None:
    threads: list[Any] = []
    gui_handled_progress = threading.Event()
    seen_by_job: list[bool] = []
    service.progress.connect(lambda done, total: gui_handled_progress.set())

    def slow_job(engine: Any, progress: Any, cancel: threading.Event) -> str:
        threads.append(QThread.currentThread())
        engine.stage(_items(1))
        progress(1, 2)
        # The job waits, mid-request, for the GUI thread to handle its progress signal: that can
        # only happen if the event loop keeps running while TensorFlow works on this thread.
        seen_by_job.append(gui_handled_progress.wait(60))
        engine.stage(_items(1))
        progress(2, 2)
        return "done"

    with qtbot.waitSignal(service.result, timeout=120000) as blocker:
        service.submit(slow_job)
    assert blocker.args[1] == "done"
    assert threads and threads[0] is not QThread.currentThread()
    assert seen_by_job == [True], "the GUI event loop did not run while the job was in progress"


def test_cancel_gives_cancelled_and_no_result(qtbot: Any, service: InferenceService) -> None:
    started = threading.Event()
    results: list[Any] = []
    service.result.connect(lambda *args: results.append(args))

    def endless(engine: Any, progress: Any, cancel: threading.Event) -> None:
        started.set()
        while True:
            check_cancelled(cancel)
            time.sleep(0.01)

    with qtbot.waitSignal(service.cancelled, timeout=30000) as blocker:
        request = service.submit(endless)
        qtbot.waitUntil(started.is_set, timeout=10000)
        service.cancel()
    assert blocker.args == [request]
    qtbot.wait(50)
    assert results == []


def test_failure_becomes_a_failed_signal(qtbot: Any, service: InferenceService) -> None:
    with qtbot.waitSignal(service.failed, timeout=30000) as blocker:
        request = service.stage([])
    assert blocker.args[0] == request
    assert "nothing to stage" in blocker.args[1]

    def broken(engine: Any, progress: Any, cancel: threading.Event) -> None:
        raise KeyError("boom")

    with qtbot.waitSignal(service.failed, timeout=30000) as blocker:
        service.submit(broken)
    assert blocker.args[1].startswith("unexpected error: KeyError")


def test_a_superseded_request_is_dropped(qtbot: Any, service: InferenceService) -> None:
    release = threading.Event()
    results: list[Any] = []
    service.result.connect(lambda rid, value: results.append((rid, value)))

    def first(engine: Any, progress: Any, cancel: threading.Event) -> str:
        release.wait(10)
        return "first"  # ignores its cancel token on purpose: the service must still drop it

    with qtbot.waitSignal(service.result, timeout=30000):
        service.submit(first)
        second = service.submit(lambda engine, progress, cancel: "second")
        release.set()
    qtbot.wait(50)
    assert results == [(second, "second")]


def test_shutdown_stops_the_thread(qapp: Any) -> None:
    svc = InferenceService(_small_engine_factory, warm_up=False)
    svc.start()
    assert svc.shutdown(60000)
    assert not svc._thread.isRunning()
