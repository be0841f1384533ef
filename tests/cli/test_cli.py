"""The console entry point as a user calls it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from npc_desktop.cli.main import main


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("npc-desktop")
    return [str(script)] if script.exists() else [sys.executable, "-m", "npc_desktop"]


def test_index_prints_tree(tcia_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(tcia_dir)]) == 0
    out = capsys.readouterr().out
    assert "Patient VS-SEG-001" in out
    assert '"t1_mpr_tra_gk_v4"  120 images  512x512  1.5 mm' in out
    assert "1 non-DICOM file(s) skipped" in out


def test_index_json_of_all_real_data(dicom_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--json", str(dicom_dir)]) == 0
    tree = json.loads(capsys.readouterr().out)
    series = [s for p in tree["patients"] for st in p["studies"] for s in st["series"]]
    images = [s for s in series if s["is_image"]]
    assert any(s["description"] == "t1_mpr_tra_gk_v4" and s["image_count"] == 120 for s in images)
    assert any(s["modality"] == "SR" and not s["is_image"] for s in series)
    assert any("badVR.dcm" in s["file"] for s in tree["skipped"])


def test_index_of_folder_without_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert main(["index", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and "no image series" in err[0]


def test_convert_matches_simpleitk(tmp_path: Path, tcia_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "t1c.nii.gz"
    assert main(["convert", str(tcia_dir), "-o", str(output)]) == 0
    assert "512x512x120" in capsys.readouterr().out
    ours = sitk.ReadImage(str(output))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(tcia_dir)))
    oracle = reader.Execute()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(ours), sitk.GetArrayViewFromImage(oracle))
    np.testing.assert_allclose(ours.GetSpacing(), oracle.GetSpacing(), atol=1e-5)
    np.testing.assert_allclose(ours.GetOrigin(), oracle.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(ours.GetDirection(), oracle.GetDirection(), atol=1e-5)


def test_convert_picks_series_by_uid(tmp_path: Path, pydicom_test_files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = pydicom_test_files / "dicomdirtests"
    assert main(["convert", str(folder), "-o", str(tmp_path / "x.nii")]) == 2
    err = capsys.readouterr().err
    assert "choose one with --series" in err
    uid = "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.6"  # CT SmartScore, 5 slices
    assert main(["convert", str(folder), "-o", str(tmp_path / "x.nii"), "--series", uid]) == 0
    assert sitk.ReadImage(str(tmp_path / "x.nii")).GetSize()[2] == 5
    assert main(["convert", str(folder), "-o", str(tmp_path / "y.nii"), "--series", "1.2.3"]) == 2
    assert "no series with UID 1.2.3" in capsys.readouterr().err


def test_convert_refuses_bad_output(tmp_path: Path, tcia_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(tcia_dir), "-o", str(tmp_path / "x.png")]) == 2
    assert ".nii" in capsys.readouterr().err
    assert main(["convert", str(tcia_dir), "-o", str(tmp_path / "missing" / "x.nii")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_demo_writes_study_and_refuses_foreign_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "demo")]) == 0
    assert "T1C" in capsys.readouterr().out
    assert main(["index", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "DEMO^SYNTHETIC PATIENT" in out and "2 image series" in out
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    assert main(["demo", str(foreign)]) == 2
    assert (foreign / "thesis.docx").read_text() == "precious"


@pytest.mark.parametrize(
    "args, text",
    [
        (["index", "/no/such/folder"], "/no/such/folder: no such file or folder"),
        (["convert", "{bad}", "-o", "{tmp}/x.nii.gz"], "badVR.dcm: invalid value '1A' in NumberOfFrames"),
        (["/no/such/study"], "/no/such/study: no such file or folder"),
    ],
)
def test_bad_input_exit_2_one_line_no_traceback(tmp_path: Path, pydicom_test_files: Path, args: list[str], text: str) -> None:
    args = [a.format(bad=pydicom_test_files / "badVR.dcm", tmp=tmp_path) for a in args]
    result = subprocess.run(_entry_point() + args, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0]


def test_version_from_console_script() -> None:
    result = subprocess.run(_entry_point() + ["--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("npc-desktop ")


def test_gui_without_display_says_so() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(_entry_point(), capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0]


def test_missing_xcb_libraries_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    from npc_desktop.gui import platform_check

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "xcb-cursor" else real(name))
    problem = platform_check.display_problem()
    assert problem is not None and "libxcb-cursor0" in problem
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert platform_check.display_problem() is None
