"""The ingestion fuzz harness: a 60-second fixed-seed run finds no untyped error, crash or hang."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

HARNESS = REPO_ROOT / "benchmarks" / "fuzz_ingest.py"


def test_mutants_are_reproducible_from_seed_and_number() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    try:
        from fuzz_mutate import Source, mutant_rng, mutate
    finally:
        sys.path.remove(str(HARNESS.parent))
    source = Source("x", bytes(range(256)) * 40 + b"\xe0\x7f\x10\x00OB\x00\x00" + bytes(500), "dicom")
    first = [mutate(source, mutant_rng(20, n)) for n in range(50)]
    again = [mutate(source, mutant_rng(20, n)) for n in range(50)]
    assert first == again
    assert len({data for data, _ in first}) > 40  # and they differ from one another


@pytest.mark.slow
@pytest.mark.realdata
def test_a_one_minute_run_finds_nothing_untyped(tmp_path: Path, dicom_dir: Path) -> None:
    out = tmp_path / "failures"
    done = subprocess.run(
        [sys.executable, str(HARNESS), "--seed", "20", "--seconds", "60", "--data", str(dicom_dir), "--out", str(out)],
        capture_output=True, text=True, timeout=200, cwd=REPO_ROOT,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    summary = json.loads(lines[-1])
    kept = sorted(p.name for p in out.glob("*.txt")) if out.exists() else []
    report = "\n".join(lines[-30:]) + "\n" + "\n".join((out / name).read_text() for name in kept[:3])
    assert (summary["untyped"], summary["crashes"], summary["hangs"]) == (0, 0, 0), report
    assert done.returncode == 0, report
    assert summary["files"] >= 200, report
    assert {"dicom", "autosave", "manifest", "weights"} <= set(summary["by_kind"]), report
    assert summary["by_kind"]["dicom"].get("loaded", 0) > 0 and summary["by_kind"]["dicom"].get("typed", 0) > 0
