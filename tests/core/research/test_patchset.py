"""Patient-level splits, the class-folder patch set reader and PNG patches without metadata."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.research.patchset import DatasetError, load_patch_set
from npc_desktop.core.research.pngio import CRITICAL_CHUNKS, encode_png, png_chunks, read_png, write_png
from npc_desktop.core.research.splits import SplitError, patient_values, split_by_folds, split_patients
from tests.core.research.helpers import write_patch_set

# -- splits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_fraction_split_is_disjoint_stratified_and_4_to_1(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = {f"P{i:03d}": str(rng.choice(["III", "IVa", "x"])) for i in range(int(rng.integers(2, 60)))}
    split = split_patients(labels, train_fraction=0.8, seed=seed)
    assert set(split.train).isdisjoint(split.test)
    assert set(split.train) | set(split.test) == set(labels)
    for label, count in Counter(labels.values()).items():
        test = sum(1 for p in split.test if labels[p] == label)
        expected = 0 if count < 2 else min(max(int(np.floor(count * 0.2 + 0.5)), 1), count - 1)
        assert test == expected, (label, count)


def test_fraction_split_is_seeded() -> None:
    labels = {f"P{i:02d}": ("III" if i % 2 else "IVa") for i in range(40)}
    first = split_patients(labels, seed=1)
    assert split_patients(labels, seed=1) == first
    assert split_patients(labels, seed=2).test != first.test
    assert first.to_dict()["seed"] == 1 and first.to_dict()["train_fraction"] == 0.8
    with pytest.raises(SplitError, match="train fraction"):
        split_patients(labels, train_fraction=0.0)


def test_fold_split() -> None:
    folds = {"A": "1", "B": "2", "C": "3", "D": "3", "E": "4"}
    split = split_by_folds(folds, test_folds=["3"], train_folds=["1", "2"], column="f")
    assert split.test == ("C", "D") and split.train == ("A", "B")
    assert split_by_folds(folds, test_folds=["3"]).train == ("A", "B", "E")
    with pytest.raises(SplitError, match="does not occur"):
        split_by_folds(folds, test_folds=["9"])
    with pytest.raises(SplitError, match="both as a train and as a test"):
        split_by_folds(folds, test_folds=["1"], train_folds=["1", "2"])
    with pytest.raises(SplitError, match="one value per patient"):
        patient_values([("A", "1"), ("A", "2")], what="fold")


# -- class-folder patch sets ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_patch_set(tmp_path_factory.mktemp("patches"), patients_per_class=5, patches_per_patient=3)


def test_reads_class_folders_with_manifest(folder_set: Path) -> None:
    patch_set = load_patch_set(folder_set)
    assert patch_set.class_names == ("III", "IVa")
    assert len(patch_set) == 30
    assert patch_set.counts() == {"III": {"patches": 15, "patients": 5}, "IVa": {"patches": 15, "patients": 5}}
    split = patch_set.split_by_fold_column("fold", test_folds=["1"])
    train, test = patch_set.subset(split.train), patch_set.subset(split.test)
    assert {r.patient for r in train}.isdisjoint({r.patient for r in test})
    assert all(r.fields["fold"] == "1" for r in test) and all(r.fields["fold"] != "1" for r in train)
    image = patch_set.load_image(patch_set.records[0])
    assert image.dtype == np.uint8 and image.ndim == 2


def test_sixteen_bit_patches_are_normalised(tmp_path: Path) -> None:
    write_patch_set(tmp_path, patients_per_class=2, patches_per_patient=1, sixteen_bit=True)
    patch_set = load_patch_set(tmp_path)
    assert read_png(patch_set.path(patch_set.records[0])).dtype == np.uint16
    image = patch_set.load_image(patch_set.records[0])
    assert image.dtype == np.uint8 and image.max() > 200  # percentile window + CLAHE use the full range


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_more_manifests_join_on_file(folder_set: Path, tmp_path: Path) -> None:
    files = sorted(p.relative_to(folder_set).as_posix() for p in folder_set.rglob("*.png"))
    extra = _write_manifest(tmp_path / "extra.csv", [{"file": f, "cv": str(i % 2)} for i, f in enumerate(files)])
    patch_set = load_patch_set(folder_set, [folder_set / "manifest.csv", extra])
    assert all("cv" in r.fields and "fold" in r.fields for r in patch_set.records)
    with pytest.raises(DatasetError, match="one value per patient"):
        patch_set.split_by_fold_column("cv", test_folds=["1"])
    with pytest.raises(DatasetError, match="fold column 'nope' is not in the manifest"):
        patch_set.split_by_fold_column("nope", test_folds=["1"])
    conflict = _write_manifest(tmp_path / "conflict.csv", [{"file": files[0], "patient": "OTHER"}])
    with pytest.raises(DatasetError, match="column 'patient'"):
        load_patch_set(folder_set, [folder_set / "manifest.csv", conflict])


def test_bad_folders_and_manifests_are_named(folder_set: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such folder"):
        load_patch_set(tmp_path / "missing")
    (tmp_path / "only").mkdir()
    write_png(tmp_path / "only" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DatasetError, match="at least two class subfolders"):
        load_patch_set(tmp_path / "only")
    bare = write_patch_set(tmp_path / "bare", patients_per_class=1, patches_per_patient=1, manifest=False)
    with pytest.raises(DatasetError, match="no manifest.csv"):
        load_patch_set(bare)
    partial = _write_manifest(tmp_path / "partial.csv", [{"file": "III/S001_00.png", "patient": "S001"}])
    with pytest.raises(DatasetError, match="IVa/S002_00.png: not listed in the manifest"):
        load_patch_set(bare, [partial])
    ghost = _write_manifest(tmp_path / "ghost.csv", [{"file": "III/none.png", "patient": "S001"}])
    with pytest.raises(DatasetError, match="none.png is not a PNG in a class folder"):
        load_patch_set(bare, [ghost])
    wrong = _write_manifest(tmp_path / "wrong.csv", [
        {"file": "III/S001_00.png", "patient": "S001", "class": "IVa"},
        {"file": "IVa/S002_00.png", "patient": "S002", "class": "IVa"}])
    with pytest.raises(DatasetError, match="in folder 'III' but its class is 'IVa'"):
        load_patch_set(bare, [wrong])
    no_file = tmp_path / "nofile.csv"
    no_file.write_text("name,patient\nx,y\n")
    with pytest.raises(DatasetError, match="no 'file' column"):
        load_patch_set(bare, [no_file])


@pytest.mark.realdata
def test_reads_the_real_proxy_patch_set(real_data_dir: Path) -> None:
    root = real_data_dir / "mr-patches-brain-tumour-proxy"
    patch_set = load_patch_set(root, [root / "manifest.csv", root / "tumour_boxes.csv"])
    assert patch_set.class_names == ("glioma", "meningioma")
    assert patch_set.counts() == {"glioma": {"patches": 800, "patients": 53}, "meningioma": {"patches": 425, "patients": 49}}
    split = patch_set.split_by_fold_column("cheng_cvind5fold", test_folds=["3"], train_folds=["1", "2"])
    assert set(split.train).isdisjoint(split.test)
    assert (len(patch_set.subset(split.train)), len(patch_set.subset(split.test))) == (868, 357)
    assert read_png(patch_set.path(patch_set.records[0])).dtype == np.uint16


# -- PNG -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip_without_metadata(tmp_path: Path, dtype: type) -> None:
    image = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, size=(37, 23)).astype(dtype)
    data = write_png(tmp_path / "x.png", image)
    np.testing.assert_array_equal(read_png(tmp_path / "x.png"), image)
    assert [kind for kind, _ in png_chunks(data)][0] == b"IHDR"
    assert {kind for kind, _ in png_chunks(data)} <= CRITICAL_CHUNKS


def test_png_filter_drops_text_chunks() -> None:
    """A PNG written with a text chunk (by Pillow) loses it when re-encoded; the check sees it."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Plantedname^Secret")
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(buffer, format="PNG", pnginfo=info)
    assert b"tEXt" in {kind for kind, _ in png_chunks(buffer.getvalue())}
    clean = encode_png(np.asarray(Image.open(io.BytesIO(buffer.getvalue()))))
    assert b"Plantedname" not in clean and {k for k, _ in png_chunks(clean)} <= CRITICAL_CHUNKS
