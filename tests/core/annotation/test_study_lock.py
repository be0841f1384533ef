"""The advisory per-study lock: one holder at a time, stale locks of dead processes taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.study_lock import StudyLock, StudyLocked
from tests.conftest import REPO_ROOT

STUDY = "1.2.826.0.1.3680043.8.498.10"

HOLDER = textwrap.dedent(
    """
    import sys, time
    from npc_desktop.core.annotation.store import AnnotationStore

    lock = AnnotationStore(sys.argv[1]).lock(sys.argv[2])
    print("locked", flush=True)
    time.sleep(120)
    """
)


def _write_lock(path: Path, **info: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"app": "npc-desktop", "host": socket.gethostname(), **info}))


def test_one_holder_per_process_and_release(tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path / "annotations")  # the folder is made on demand
    lock = store.lock(STUDY)
    path = store.lock_path_for(STUDY)
    assert lock.path == path and lock.held and path.name == store.path_for(STUDY).stem + ".lock"
    info = json.loads(path.read_text())
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
    assert abs(info["started"] - psutil.Process().create_time()) < 1
    with pytest.raises(StudyLocked) as refused:  # a second window of this process
        AnnotationStore(tmp_path / "annotations").lock(STUDY)
    assert refused.value.pid == os.getpid() and f"PID {os.getpid()}" in str(refused.value)
    assert "open in another NPC Desktop window" in str(refused.value)
    other = store.lock("1.2.3")  # another study is independent
    lock.release()
    lock.release()
    assert not lock.held and not path.exists()
    with store.lock(STUDY):
        assert path.exists()
    assert not path.exists()
    other.release()


def test_a_live_process_holds_it_until_killed(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), STUDY], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked", child.stderr.read() if child.stderr else ""
        store = AnnotationStore(tmp_path)
        with pytest.raises(StudyLocked) as refused:
            store.lock(STUDY)
        assert refused.value.pid == child.pid and f"(PID {child.pid})" in str(refused.value)
        child.kill()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with store.lock(STUDY) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


def test_a_reused_pid_does_not_hold_it(tmp_path: Path) -> None:
    path = tmp_path / "study.lock"
    # The parent process is alive, but it started long before this lock's holder claims to have.
    _write_lock(path, pid=os.getppid(), started=time.time() + 3600)
    with StudyLock.acquire(path) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


def test_a_lock_of_another_computer_is_respected(tmp_path: Path) -> None:
    path = tmp_path / "study.lock"
    _write_lock(path, pid=1, host="radiology-ws-7", started=0.0)
    with pytest.raises(StudyLocked) as refused:
        StudyLock.acquire(path)
    assert "PID 1 on radiology-ws-7" in str(refused.value) and str(path) in str(refused.value)
    assert json.loads(path.read_text())["host"] == "radiology-ws-7"  # untouched


def test_an_unfinished_lock_file_holds_only_briefly(tmp_path: Path) -> None:
    path = tmp_path / "study.lock"
    path.write_text("")  # its creator may be writing it right now
    with pytest.raises(StudyLocked) as refused:
        StudyLock.acquire(path)
    assert "an unknown process" in str(refused.value)
    old = time.time() - 60
    os.utime(path, (old, old))  # its creator died before writing it
    StudyLock.acquire(path).release()
    assert not path.exists()


def test_a_lock_left_by_this_process_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "study.lock"
    _write_lock(path, pid=os.getpid(), started=psutil.Process().create_time())
    StudyLock.acquire(path).release()


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path: Path) -> None:
    path = tmp_path / "study.lock"
    lock = StudyLock.acquire(path)
    _write_lock(path, pid=1, started=0.0)  # someone took it over (e.g. after judging it stale)
    lock.release()
    assert json.loads(path.read_text())["pid"] == 1
