"""The native-size demo ONNX cache is filled in a background process; staging meanwhile uses TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from npc_desktop.core.models import demo_onnx_background as background
from npc_desktop.core.staging import engine as engine_module


class _Spawned:
    def __init__(self, argv, **options):
        self.argv, self.options, self.pid = argv, options, os.getpid()


@pytest.fixture()
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NPC_DESKTOP_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(background.BACKGROUND_ENV, raising=False)
    return tmp_path


def test_an_empty_cache_starts_one_low_priority_build(empty_cache, monkeypatch):
    spawned = []
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **options: spawned.append(_Spawned(argv, **options))
                        or spawned[-1])
    assert not background.demo_onnx_ready()
    assert background.start_demo_onnx_build(seed=3) is True
    assert spawned[0].argv == [sys.executable, "-m", "npc_desktop.core.models.demo_onnx_background", "3"]
    assert background.building_marker(3).read_text() == str(os.getpid())
    # The marker names a live process (ours): a second start reports the running build and starts none.
    assert background.start_demo_onnx_build(seed=3) is True
    assert len(spawned) == 1


def test_a_stale_marker_does_not_block_a_build(empty_cache, monkeypatch):
    spawned = []
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **options: spawned.append(_Spawned(argv, **options))
                        or spawned[-1])
    marker = background.building_marker(0)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("999999999")  # no such process
    assert background.start_demo_onnx_build() is True
    assert len(spawned) == 1
    assert marker.read_text() == str(os.getpid())


def test_builds_that_keep_failing_are_not_started_again(empty_cache, monkeypatch):
    spawned = []
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **options: spawned.append(_Spawned(argv, **options))
                        or spawned[-1])
    marker = background.building_marker(0)
    for attempt in range(background.MAX_ATTEMPTS):
        assert background.start_demo_onnx_build() is True
        marker.write_text("999999999")  # the child died without finishing (an error, or killed for memory)
    assert background.start_demo_onnx_build() is False
    assert len(spawned) == background.MAX_ATTEMPTS
    assert not marker.exists()


def test_background_builds_can_be_turned_off(empty_cache, monkeypatch):
    monkeypatch.setenv(background.BACKGROUND_ENV, "0")
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("no process may be started"))
    assert background.start_demo_onnx_build() is False


def test_the_child_builds_the_cache_and_removes_its_marker(empty_cache, monkeypatch, capsys):
    built = []
    monkeypatch.setattr(background, "ensure_demo_onnx_bundle", lambda seed: built.append(seed) or empty_cache / "x")
    marker = background.building_marker(5)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(os.getpid()))
    marker.with_suffix(".attempts").write_text("1")
    assert background._main(["5"]) == 0
    assert built == [5]
    assert not marker.exists()
    assert not marker.with_suffix(".attempts").exists()
    assert "demo ONNX bundle ready" in capsys.readouterr().out


def test_staging_falls_back_to_tensorflow_only_while_the_native_cache_is_empty(empty_cache, monkeypatch):
    started = []
    monkeypatch.setattr(background, "start_demo_onnx_build", lambda seed: started.append(seed) or True)
    monkeypatch.setattr(background, "demo_onnx_ready", lambda sizes, seed: False)
    assert engine_module._fall_back_to_tf(0) is True
    assert started == [0]
    monkeypatch.setattr(background, "demo_onnx_ready", lambda sizes, seed: True)
    assert engine_module._fall_back_to_tf(0) is False
    assert started == [0]


def test_without_a_background_build_the_demo_is_built_in_the_foreground(empty_cache, monkeypatch):
    monkeypatch.setattr(background, "demo_onnx_ready", lambda sizes, seed: False)
    monkeypatch.setattr(background, "start_demo_onnx_build", lambda seed: False)  # frozen app, or turned off
    assert engine_module._fall_back_to_tf(0) is False
