"""Autosave and lock files the fuzz harness broke: moved aside with a message, never loaded half."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.store_results import LoadSource
from npc_desktop.core.annotation.study_lock import StudyLock, StudyLocked

FUZZ_DIR = Path(__file__).resolve().parents[2] / "data" / "fuzz"
STUDY = "1.2.826.0.1.3680043.8.498.1"


@pytest.mark.parametrize(("name", "reason"), [
    ("autosave_deep_nesting.json", "not valid JSON: nested too deeply"),
    ("autosave_5000_digit_number.json", "not valid JSON: Exceeds the limit (4300 digits)"),
    ("autosave_measurement_type_list.json", "invalid content: measurements[0].type: [None] is not one of"),
    ("autosave_measurement_type_object.json", "invalid content: measurements[0].type: {'': None} is not one of"),
])
def test_a_hostile_autosave_file_is_moved_aside_with_a_message(tmp_path: Path, name: str, reason: str) -> None:
    raw = (FUZZ_DIR / name).read_bytes()
    store = AnnotationStore(tmp_path)
    path = store.path_for(STUDY)
    path.write_bytes(raw)
    result = store.load(STUDY)
    assert result.source is LoadSource.NEW and len(result.annotations) == 0
    (problem,) = result.problems
    assert problem.reason.startswith(reason) and str(path) in result.message
    assert problem.moved_to is not None and problem.moved_to.read_bytes() == raw
    assert not path.exists()


def test_a_hostile_lock_file_counts_as_an_unknown_holder(tmp_path: Path) -> None:
    path = tmp_path / "study.lock"
    path.write_bytes((FUZZ_DIR / "autosave_deep_nesting.json").read_bytes())
    with pytest.raises(StudyLocked, match="an unknown process"):
        StudyLock.acquire(path)
    old = time.time() - 60
    os.utime(path, (old, old))
    StudyLock.acquire(path).release()
