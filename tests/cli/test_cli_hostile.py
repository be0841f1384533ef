"""``npc-desktop convert`` on files whose decoder panics: a fallback or one line, never a backtrace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import SimpleITK as sitk

FUZZ_DIR = Path(__file__).resolve().parents[1] / "data" / "fuzz"


def _convert(path: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "npc_desktop", "convert", str(path), "-o", str(output)],
                          capture_output=True, text=True, timeout=120)


def test_convert_says_which_decoder_saved_a_panicking_file(tmp_path: Path) -> None:
    output = tmp_path / "fallback.nii.gz"
    done = _convert(FUZZ_DIR / "rle_panic_fallback.dcm", output)
    assert done.returncode == 0, done.stderr
    assert "decoded by pydicom after pylibjpeg: PanicException" in done.stderr
    assert "panicked" not in done.stderr and "Traceback" not in done.stderr
    assert sitk.ReadImage(str(output)).GetSize() == (64, 64, 1)


def test_convert_of_an_undecodable_file_is_one_line(tmp_path: Path) -> None:
    path = FUZZ_DIR / "rle_panic_undecodable.dcm"
    done = _convert(path, tmp_path / "x.nii.gz")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("npc-desktop: error: ") and str(path) in lines[0]
    assert "RLE Lossless (1.2.840.10008.1.2.5)" in lines[0] and not (tmp_path / "x.nii.gz").exists()
