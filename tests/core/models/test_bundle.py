"""Model bundles: round trip, and refusal of tampered, truncated, mismatched or unsafe files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from npc_desktop.core.models.bundle import load_bundle, verify_bundle
from npc_desktop.core.models.bundle_writer import write_bundle
from npc_desktop.core.models.errors import (
    BundleError,
    BundleIntegrityError,
    BundleMismatchError,
    ManifestError,
)
from npc_desktop.core.models.manifest import file_sha256, read_manifest
from npc_desktop.core.progress import OperationCancelled


@pytest.fixture
def bundle_copy(small_bundle_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's small bundle, free to damage."""
    return Path(shutil.copytree(small_bundle_dir, tmp_path / "bundle"))


def _edit_manifest(bundle: Path, edit: Any) -> None:
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_round_trip_keeps_outputs_and_provenance(small_bundle_dir: Path) -> None:
    from tests.core.conftest import build_small_members

    originals = build_small_members(seed=0)  # same seeds as the bundle's members
    bundle = load_bundle(small_bundle_dir)
    manifest = bundle.manifest
    assert manifest.member_names == ("densenet121", "basic_cnn")
    assert manifest.class_names == ("III", "IVa") and not manifest.untrained_demo
    entry = manifest.members[0]
    assert (entry.architecture, entry.input_size, entry.preprocess, entry.cam_layer) == (
        "densenet121", (32, 32), "torch", "relu"
    )
    assert entry.sha256 == file_sha256(small_bundle_dir / "densenet121.keras")
    prov = manifest.provenance
    assert prov["training_data"]["note"] == "random weights" and prov["split"] == {"method": "none"}
    assert {"tensorflow", "keras", "numpy", "python", "npc_desktop"} <= set(prov["software"])
    assert prov["date"] == manifest.created
    assert bundle.sha256 == file_sha256(small_bundle_dir / "manifest.json")
    x = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    for loaded, original in zip(bundle.models, originals):
        np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(original(x)), atol=1e-6)


def test_tampered_weights_file_is_refused(bundle_copy: Path) -> None:
    path = bundle_copy / "basic_cnn.keras"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleIntegrityError, match=r"basic_cnn\.keras: SHA-256 does not match"):
        load_bundle(bundle_copy)


def test_manifest_with_wrong_hash_is_refused(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, lambda d: d["members"][0].update(sha256="ab" * 32))
    with pytest.raises(BundleIntegrityError, match=r"densenet121\.keras: SHA-256 does not match"):
        verify_bundle(bundle_copy, deep=False)


def test_truncated_and_missing_files_are_refused(bundle_copy: Path) -> None:
    path = bundle_copy / "densenet121.keras"
    path.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(BundleIntegrityError, match=r"densenet121\.keras: truncated: 4096 bytes"):
        load_bundle(bundle_copy)
    path.unlink()
    with pytest.raises(BundleIntegrityError, match="missing"):
        load_bundle(bundle_copy)


def test_truncated_file_with_matching_manifest_fails_to_deserialise(bundle_copy: Path) -> None:
    path = bundle_copy / "basic_cnn.keras"
    path.write_bytes(path.read_bytes()[:4096])
    _edit_manifest(bundle_copy, lambda d: d["members"][1].update(sha256=file_sha256(path), size_bytes=4096))
    with pytest.raises(BundleError, match=r"basic_cnn\.keras: cannot be loaded as a Keras model"):
        load_bundle(bundle_copy)


def test_member_that_disagrees_with_its_manifest_is_refused(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, lambda d: d["members"][1].update(input_size=[48, 48]))
    with pytest.raises(BundleMismatchError, match=r"basic_cnn\.keras: .*input size \[32, 32\], manifest \[48, 48\]"):
        load_bundle(bundle_copy)
    _edit_manifest(bundle_copy, lambda d: (d["members"][1].update(input_size=[32, 32]),
                                           d.update(class_names=["meningioma", "glioma"])))
    with pytest.raises(BundleMismatchError, match="classes"):
        load_bundle(bundle_copy)


def test_lambda_layer_is_refused_in_safe_mode(bundle_copy: Path) -> None:
    import keras

    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs))
    target = bundle_copy / "basic_cnn.keras"
    model.save(target)
    _edit_manifest(bundle_copy, lambda d: d["members"][1].update(
        sha256=file_sha256(target), size_bytes=target.stat().st_size))
    with pytest.raises(BundleError, match=r"basic_cnn\.keras: cannot be loaded .* safe mode"):
        load_bundle(bundle_copy)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(schema_version=9), "schema_version: 9 is not supported"),
        (lambda d: d.update(format="other"), "not an NPC Desktop model bundle"),
        (lambda d: d["members"][0].update(weights_file="../evil.keras"), r"members\[0\]\.weights_file"),
        (lambda d: d["members"][0].update(architecture="alexnet"), "unknown architecture"),
        (lambda d: d["members"][0].update(preprocess="tf"), r"members\[0\]\.preprocess"),
        (lambda d: d["provenance"].pop("split"), "provenance.split: missing"),
        (lambda d: d.update(class_names=["III"]), "class_names"),
        (lambda d: d["voting"].update(method="hard"), "soft"),
    ],
)
def test_invalid_manifest_fields_are_named(bundle_copy: Path, edit: Any, message: str) -> None:
    _edit_manifest(bundle_copy, edit)
    with pytest.raises(ManifestError, match=message):
        read_manifest(bundle_copy)


def test_missing_or_broken_manifest(tmp_path: Path, bundle_copy: Path) -> None:
    with pytest.raises(ManifestError, match="no such bundle folder"):
        load_bundle(tmp_path / "nowhere")
    with pytest.raises(ManifestError, match="manifest.json: missing"):
        load_bundle(tmp_path)
    (bundle_copy / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_bundle(bundle_copy)


def test_write_refuses_existing_folder_and_load_can_be_cancelled(small_bundle_dir: Path) -> None:
    import threading

    with pytest.raises(FileExistsError):
        write_bundle(small_bundle_dir, [object()], name="x")
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.set()

    with pytest.raises(OperationCancelled):
        load_bundle(small_bundle_dir, progress=progress, cancel=cancel)
    assert seen == [(1, 4)]


@pytest.fixture(scope="module")
def one_member() -> Any:
    """A single Basic CNN member at 32 px: quick to write."""
    from npc_desktop.core.models.architectures import build_member

    return build_member("basic_cnn", input_size=32, seed=3)


def _folder_with(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_overwrite_replaces_only_empty_folders_and_earlier_bundles(one_member: Any, tmp_path: Path) -> None:
    dicom = _folder_with(tmp_path / "scans", {"IM0001.dcm": b"DICM" * 40, "sub/IM0002.dcm": b"x"})
    with pytest.raises(BundleError, match=rf"^{dicom}: is not empty and is not a model bundle"):
        write_bundle(dicom, [one_member], name="b", overwrite=True)
    assert (dicom / "IM0001.dcm").read_bytes() == b"DICM" * 40 and (dicom / "sub" / "IM0002.dcm").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    write_bundle(empty, [one_member], name="first", overwrite=True)
    assert read_manifest(empty).name == "first"
    write_bundle(empty, [one_member], name="second", overwrite=True)  # an earlier bundle is replaced
    assert read_manifest(empty).name == "second" and sorted(p.name for p in empty.iterdir()) == [
        "basic_cnn.keras", "manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "scans"]  # nothing left beside it
    (empty / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match="holds notes.txt, which is not part of the bundle"):
        write_bundle(empty, [one_member], name="third", overwrite=True)
    assert (empty / "notes.txt").read_text() == "mine" and read_manifest(empty).name == "second"
    other_json = _folder_with(tmp_path / "app", {"manifest.json": b'{"name": "my-app", "version": "1"}'})
    with pytest.raises(BundleError, match="not a model bundle"):
        write_bundle(other_json, [one_member], name="b", overwrite=True)
    assert (other_json / "manifest.json").is_file()
    a_file = tmp_path / "file.keras"
    a_file.write_bytes(b"keep")
    with pytest.raises(BundleError, match="not a folder"):
        write_bundle(a_file, [one_member], name="b", overwrite=True)
    assert a_file.read_bytes() == b"keep"


def test_overwrite_never_replaces_the_working_or_home_directory(
        one_member: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_desktop.core.models.bundle_writer import check_replaceable

    work = tmp_path / "project" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for target, what in ((Path("."), "is the current directory"), (tmp_path / "project", "holds the current directory"),
                         (Path(".."), "holds the current directory")):
        with pytest.raises(BundleError, match=what):
            write_bundle(target, [one_member], name="b", overwrite=True)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(BundleError, match=f"^{home}: is the home directory"):
        check_replaceable(home)
    data = _folder_with(tmp_path / "elsewhere" / "dataset", {})
    with pytest.raises(BundleError, match=f"holds {data}"):
        check_replaceable(tmp_path / "elsewhere", protected=[data])
    with pytest.raises(BundleError, match=f"is {data}"):
        check_replaceable(data, protected=[data])
    check_replaceable(data)  # empty, and nothing protected in it
    assert work.is_dir() and data.is_dir()
