"""Tests of the synthetic demo study generator (npc_desktop.core.demo)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from npc_desktop.core.demo import cache as demo_cache
from npc_desktop.core.demo import study as demo
from npc_desktop.core.demo.cache import ensure_demo_study
from npc_desktop.core.demo.dicom_writer import write_demo_study
from npc_desktop.core.demo.study import DEMO_SEED, GENERATOR_VERSION, MANIFEST_NAME, DemoStudy
from tests.conftest import REPO_ROOT

# key -> (columns, rows, slices, pixel spacing, slice step, origin of the first slice)
EXPECTED_GEOMETRY = {
    "T1C": (256, 256, 28, 0.9, 3.0, (-114.75, -114.75, -62.0)),
    "T2": (224, 224, 22, 1.0, 4.0, (-111.5, -109.5, -64.5)),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoStudy, float]:
    out = tmp_path_factory.mktemp("demo") / "study"
    start = time.perf_counter()
    study = write_demo_study(out)
    return study, time.perf_counter() - start


@pytest.fixture(scope="module")
def study(written: tuple[DemoStudy, float]) -> DemoStudy:
    return written[0]


def _tree_digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _pixels(path: Path) -> np.ndarray:
    return pydicom.dcmread(path).pixel_array


# ---------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_gives_byte_identical_files(study: DemoStudy, tmp_path: Path) -> None:
    again = write_demo_study(tmp_path / "again")
    first = _tree_digests(study.root)
    assert len(first) == 28 + 22 + 1
    assert _tree_digests(again.root) == first
    assert again.lesions == study.lesions
    assert again.series_uids == study.series_uids


def test_different_seed_gives_different_study(study: DemoStudy, tmp_path: Path) -> None:
    other = write_demo_study(tmp_path / "other", seed=DEMO_SEED + 1)
    assert other.study_instance_uid != study.study_instance_uid
    assert other.frame_of_reference_uid != study.frame_of_reference_uid
    assert set(other.series_uids.values()).isdisjoint(study.series_uids.values())
    for key in demo.SERIES_KEYS:
        mine, theirs = study.series_files[key], other.series_files[key]
        assert len(mine) == len(theirs)
        assert not np.array_equal(_pixels(mine[10]), _pixels(theirs[10]))


def test_generation_is_fast(written: tuple[DemoStudy, float]) -> None:
    # Typically ~0.4 s; the bound is loose so that a busy CI machine does not fail it.
    assert written[1] < 10.0


# ---------------------------------------------------------------------------------------------
# DICOM content


def test_series_share_study_and_frame_of_reference(study: DemoStudy) -> None:
    seen_study, seen_frame, sop_uids = set(), set(), set()
    for key, files in study.series_files.items():
        assert [p.name for p in files] == [f"IM{i + 1:04d}.dcm" for i in range(len(files))]
        assert all(p.parent == study.root / key for p in files)
        z_prev = -np.inf
        for i, path in enumerate(files):
            ds = pydicom.dcmread(path)
            assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
            assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"
            assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
            assert ds.SpecificCharacterSet == "ISO_IR 100"
            assert ds.Manufacturer == "NPC Desktop (synthetic)"
            assert str(ds.PatientName) == "DEMO^SYNTHETIC PATIENT" == study.patient_name
            assert ds.PatientID == "NPC-DEMO-0001" == study.patient_id
            assert ds.Modality == "MR"
            assert ds.SeriesInstanceUID == study.series_uids[key]
            assert "SYNTHETIC DEMO" in ds.SeriesDescription
            assert int(ds.InstanceNumber) == i + 1
            z = float(ds.ImagePositionPatient[2])
            assert z > z_prev and float(ds.SliceLocation) == pytest.approx(z)
            z_prev = z
            assert ds.BitsAllocated == 16 and ds.PhotometricInterpretation == "MONOCHROME2"
            assert int(ds.pixel_array.max()) < 2 ** int(ds.BitsStored)
            assert float(ds.WindowWidth) > 0
            seen_study.add(ds.StudyInstanceUID)
            seen_frame.add(ds.FrameOfReferenceUID)
            sop_uids.add(ds.SOPInstanceUID)
    assert seen_study == {study.study_instance_uid}
    assert seen_frame == {study.frame_of_reference_uid}
    assert len(sop_uids) == 28 + 22
    assert all(uid.startswith("2.25.") and len(uid) <= 64
               for uid in sop_uids | seen_study | seen_frame)
    assert len(set(study.series_uids.values())) == 2


@pytest.mark.parametrize("key", ["T1C", "T2"])
def test_geometry_read_by_simpleitk(study: DemoStudy, key: str) -> None:
    cols, rows, n, spacing, step, origin = EXPECTED_GEOMETRY[key]
    series_dir = study.root / key
    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(series_dir))
    assert [Path(n_).name for n_ in names] == [p.name for p in study.series_files[key]]
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(names)
    image = reader.Execute()
    assert image.GetSize() == (cols, rows, n)
    assert image.GetSpacing() == pytest.approx((spacing, spacing, step), abs=1e-4)
    assert image.GetOrigin() == pytest.approx(origin, abs=1e-4)
    assert image.GetDirection() == pytest.approx((1, 0, 0, 0, 1, 0, 0, 0, 1), abs=1e-6)


def test_series_have_different_slice_geometry(study: DemoStudy) -> None:
    z = {key: [float(pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2])
               for p in files] for key, files in study.series_files.items()}
    assert not set(z["T2"]) & set(z["T1C"])
    # Both cover the same region of the head and neck (nasopharynx to upper neck).
    assert abs(min(z["T2"]) - min(z["T1C"])) < 5 and abs(max(z["T2"]) - max(z["T1C"])) < 5


# ---------------------------------------------------------------------------------------------
# Lesion ground truth


def test_lesion_list_is_consistent(study: DemoStudy) -> None:
    for key in demo.SERIES_KEYS:
        lesions = study.lesions_for(key)
        files = study.series_files[key]
        cols, rows, n, spacing, step, origin = EXPECTED_GEOMETRY[key]
        tumour_slices = {les.slice_index for les in lesions if les.kind == "tumour"}
        node_names = {les.name for les in lesions if les.kind == "node"}
        assert len(tumour_slices) >= 3
        assert 2 <= len(node_names) <= 3
        assert any("necrotic" in name for name in node_names)
        assert {les.kind for les in lesions} == {"tumour", "node"}
        for les in lesions:
            ds = pydicom.dcmread(files[les.slice_index], stop_before_pixels=True)
            assert les.sop_instance_uid == ds.SOPInstanceUID
            r0, c0, r1, c1 = les.bbox
            assert 0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols
            x, y, z = les.centre_mm
            assert z == pytest.approx(float(ds.ImagePositionPatient[2]))
            assert origin[0] + c0 * spacing <= x <= origin[0] + (c1 - 1) * spacing
            assert origin[1] + r0 * spacing <= y <= origin[1] + (r1 - 1) * spacing
        # Nodes are 8-20 mm across at their largest.
        for name in node_names:
            widest = max(max(les.bbox[2] - les.bbox[0], les.bbox[3] - les.bbox[1]) * spacing
                         for les in lesions if les.name == name)
            assert 8.0 <= widest <= 21.0, (key, name, widest)


def test_lesions_are_brighter_than_surroundings_on_t1c(study: DemoStudy) -> None:
    files = study.series_files["T1C"]
    margin = 6
    for les in study.lesions_for("T1C"):
        a = _pixels(files[les.slice_index]).astype(np.float64)
        r0, c0, r1, c1 = les.bbox
        box = a[r0:r1, c0:c1]
        outer = a[max(r0 - margin, 0):r1 + margin, max(c0 - margin, 0):c1 + margin]
        ring_mean = (outer.sum() - box.sum()) / (outer.size - box.size)
        assert box.mean() > 1.2 * ring_mean, (les, box.mean(), ring_mean)


# ---------------------------------------------------------------------------------------------
# Output folder and cache


def test_write_refuses_a_folder_with_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt"):
        write_demo_study(out)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]

    nested = tmp_path / "nested"
    (nested / "T2").mkdir(parents=True)
    (nested / "T2" / "scan.dcm").write_bytes(b"x")
    with pytest.raises(ValueError, match="T2/scan.dcm"):
        write_demo_study(nested)
    assert (nested / "T2" / "scan.dcm").read_bytes() == b"x"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError):
        write_demo_study(a_file)


def test_write_replaces_its_own_earlier_output(study: DemoStudy, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_demo_study(out, seed=DEMO_SEED + 5)
    (out / "T1C" / "IM0099.dcm").write_bytes(b"stale output of an older generator")
    again = write_demo_study(out)
    assert not (out / "T1C" / "IM0099.dcm").exists()
    assert _tree_digests(out) == _tree_digests(study.root)
    assert again.lesions == study.lesions


def test_ensure_writes_once_and_reuses_a_complete_copy(study: DemoStudy, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first = ensure_demo_study(tmp_path)
    assert first.root == tmp_path / f"demo-{GENERATOR_VERSION}-{DEMO_SEED}"
    assert _tree_digests(first.root) == _tree_digests(study.root)
    assert first.lesions == study.lesions
    assert first.series_uids == study.series_uids
    assert [p.name for p in first.series_files["T2"]] == [p.name for p in study.series_files["T2"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.root.name]  # no temp leftovers
    mtimes = {p: p.stat().st_mtime_ns for p in first.root.rglob("*")}

    def must_not_write(*args: object, **kwargs: object) -> DemoStudy:
        raise AssertionError("a complete demo study must be reused, not rewritten")

    monkeypatch.setattr(demo_cache, "write_demo_study", must_not_write)
    second = ensure_demo_study(tmp_path)
    assert second == first
    assert {p: p.stat().st_mtime_ns for p in first.root.rglob("*")} == mtimes


@pytest.mark.parametrize("damage", ["missing file", "truncated file", "no manifest"])
def test_ensure_rebuilds_an_incomplete_copy(study: DemoStudy, tmp_path: Path, damage: str) -> None:
    target = ensure_demo_study(tmp_path).root
    victim = target / "T2" / "IM0007.dcm"
    if damage == "missing file":
        victim.unlink()
    elif damage == "truncated file":
        victim.write_bytes(victim.read_bytes()[:1000])
    else:  # as if a writer had crashed before finishing
        (target / MANIFEST_NAME).unlink()
        (target / "T1C" / "IM0003.dcm").unlink()
    rebuilt = ensure_demo_study(tmp_path)
    assert rebuilt.root == target
    assert _tree_digests(target) == _tree_digests(study.root)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_ensure_ignores_an_abandoned_temporary_folder(study: DemoStudy, tmp_path: Path) -> None:
    name = f"demo-{GENERATOR_VERSION}-{DEMO_SEED}"
    abandoned = tmp_path / f".{name}.tmp-crashed"
    (abandoned / "T1C").mkdir(parents=True)
    (abandoned / "T1C" / "IM0001.dcm").write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(abandoned, (old, old))
    result = ensure_demo_study(tmp_path)
    assert result.root == tmp_path / name
    assert not abandoned.exists()
    assert _tree_digests(result.root) == _tree_digests(study.root)


# ---------------------------------------------------------------------------------------------
# Standard conformance and layering


@pytest.mark.parametrize("key", ["T1C", "T2"])
def test_dciodvfy_reports_no_errors(study: DemoStudy, key: str) -> None:
    exe = shutil.which("dciodvfy")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dciodvfy (dicom3tools) is required on CI")
        pytest.skip("dciodvfy (dicom3tools) is not installed")
    files = study.series_files[key]
    path = files[len(files) // 2]
    proc = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
    output = proc.stdout + proc.stderr
    errors = [line for line in output.splitlines() if "Error" in line]
    assert not errors, output


def test_demo_module_does_not_import_qt() -> None:
    code = ("import sys, npc_desktop.core.demo; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6')]; "
            "assert not bad, bad")
    root = REPO_ROOT
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(root)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
