"""A background job that dies with a native extension's panic (a BaseException) reports a message."""

from __future__ import annotations

import pytest

from npc_desktop.gui.workers import JobRunner

pytestmark = pytest.mark.gui


class NativePanic(BaseException):
    """Stands for ``pyo3_runtime.PanicException``, which derives from BaseException."""


def test_a_panicking_job_fails_with_a_message(qtbot, qapp) -> None:
    runner = JobRunner()
    failures: list[str] = []

    def panics(progress, cancel) -> None:
        raise NativePanic("index out of bounds")

    runner.submit("Decoding", panics, lambda result: None, on_failed=failures.append)
    qtbot.waitUntil(lambda: bool(failures) and not runner.busy, timeout=10000)
    assert failures == ["unexpected error: NativePanic: index out of bounds"]
