"""ONNX graphs in bundles: export checked against Keras, manifest entries, integrity, ONNX Runtime = TensorFlow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from npc_desktop.core.models.errors import BundleError, BundleIntegrityError, ManifestError
from npc_desktop.core.models.manifest import file_sha256, read_manifest


def test_every_member_has_a_hashed_graph_with_the_documented_outputs(small_bundle_dir: Path) -> None:
    import onnxruntime

    from npc_desktop.core.models.onnx_export import ONNX_OUTPUTS, decode_array

    manifest = read_manifest(small_bundle_dir)
    for member in manifest.members:
        path = small_bundle_dir / member.onnx["file"]
        assert member.onnx == {"file": f"{member.name}.onnx", "sha256": file_sha256(path),
                               "size_bytes": path.stat().st_size}
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [o.name for o in session.get_outputs()] == list(ONNX_OUTPUTS)
        assert [i.name for i in session.get_inputs()] == ["patch"]
        meta = session.get_modelmeta().custom_metadata_map
        assert meta["npc_desktop.architecture"] == member.architecture
        assert meta["npc_desktop.cam_layer"] == member.cam_layer
        kernel = decode_array(meta["npc_desktop.logits_kernel"])
        assert kernel.dtype == np.float32 and kernel.shape[1] == len(manifest.class_names)
    assert (small_bundle_dir / "densenet121.keras").is_file()  # the Keras files stay


def test_onnx_runtime_equals_the_tensorflow_fused_graph(small_bundle_dir: Path) -> None:
    from npc_desktop.core.models.bundle import load_bundle
    from npc_desktop.core.models.fused import FusedEnsemble
    from npc_desktop.core.models.onnx_ensemble import OnnxEnsemble

    bundle = load_bundle(small_bundle_dir)
    fused = FusedEnsemble(bundle.models)
    onnx = OnnxEnsemble(small_bundle_dir, bundle.manifest)
    assert onnx.input_sizes == fused.input_sizes and onnx.provider == "CPUExecutionProvider"
    x = [np.random.default_rng(3).uniform(0, 255, (4, r, c, 3)).astype(np.float32) for r, c in fused.input_sizes]
    for cam_class in (None, [1, 0, 1, 0]):
        expected, got = fused(x, cam_class=cam_class), onnx(x, cam_class=cam_class)
        np.testing.assert_allclose(got.member_probabilities, expected.member_probabilities, atol=1e-5)
        np.testing.assert_allclose(got.probabilities, expected.probabilities, atol=1e-5)
        np.testing.assert_array_equal(got.cam_classes, expected.cam_classes)
        for mine, theirs in zip(got.cams, expected.cams):
            assert np.abs(mine - theirs).max() <= 1e-4 * max(1.0, float(np.abs(theirs).max()))
    plain = onnx(x, cam=False)
    assert plain.cams is None and plain.member_probabilities.shape == (2, 4, 2)


def test_an_export_that_does_not_reproduce_keras_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_desktop.core.models import onnx_export
    from npc_desktop.core.models.architectures import build_member

    model = build_member("basic_cnn", input_size=16, seed=0)
    check = onnx_export.export_member_onnx(model, tmp_path / "ok.onnx", cam_layer="conv3")
    assert max(check.max_abs_diff.values()) <= 1e-4 and (tmp_path / "ok.onnx").is_file()
    monkeypatch.setattr(onnx_export, "EXPORT_TOLERANCE", -1.0)
    with pytest.raises(onnx_export.OnnxExportError, match="differs from Keras"):
        onnx_export.export_member_onnx(model, tmp_path / "refused.onnx", cam_layer="conv3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.onnx"]


def test_tampered_or_missing_graphs_are_named(small_bundle_dir: Path, tmp_path: Path) -> None:
    from npc_desktop.core.models.onnx_bundle import verify_onnx_files
    from npc_desktop.core.staging.engine import StagingEngine

    copy = Path(shutil.copytree(small_bundle_dir, tmp_path / "copy"))
    graph = copy / "basic_cnn.onnx"
    data = bytearray(graph.read_bytes())
    data[-10] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(BundleIntegrityError, match="basic_cnn.onnx: size or SHA-256"):
        StagingEngine.load(copy)
    graph.unlink()
    with pytest.raises(BundleIntegrityError, match="basic_cnn.onnx: ONNX graph of member 'basic_cnn' is missing"):
        verify_onnx_files(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for member in manifest["members"]:
        member.pop("onnx")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="has no ONNX graph.*bundle export-onnx"):
        StagingEngine.load(copy, runtime="onnx")


def test_manifest_onnx_entry_is_optional_and_validated(small_bundle_dir: Path, tmp_path: Path) -> None:
    from npc_desktop.core.models.manifest import BundleManifest

    data = json.loads((small_bundle_dir / "manifest.json").read_text())
    assert BundleManifest.from_dict(data).members[0].onnx is not None
    data["members"][0].pop("onnx")
    assert BundleManifest.from_dict(data).members[0].onnx is None
    assert "onnx" not in BundleManifest.from_dict(data).members[0].to_dict()
    for bad, field in (({"file": "../x.onnx", "sha256": "a" * 64, "size_bytes": 1}, "onnx.file"),
                       ({"file": "x.keras", "sha256": "a" * 64, "size_bytes": 1}, "onnx.file"),
                       ({"file": "x.onnx", "sha256": "nope", "size_bytes": 1}, "onnx.sha256"),
                       ({"file": "x.onnx", "sha256": "a" * 64}, "onnx.size_bytes"),
                       ("x.onnx", "onnx")):
        data["members"][0]["onnx"] = bad
        with pytest.raises(ManifestError, match=f"members\\[0\\]\\.{field}"):
            BundleManifest.from_dict(data)


def test_demo_onnx_bundle_is_built_once_and_rebuilt_when_damaged(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_desktop.core.models import demo_onnx

    options: dict[str, Any] = {"architectures": ("basic_cnn",), "input_sizes": {"basic_cnn": 16}, "cache_dir": tmp_path}
    first = demo_onnx.ensure_demo_onnx_bundle(**options)
    key = demo_onnx.demo_onnx_key({"basic_cnn": 16}, architectures=("basic_cnn",))
    assert first.parent == tmp_path and first.name == f"demo-onnx-{key}"
    assert read_manifest(first).untrained_demo
    builds: list[Path] = []
    real_build = demo_onnx._build
    monkeypatch.setattr(demo_onnx, "_build", lambda folder, *a: (builds.append(folder), real_build(folder, *a)))
    assert demo_onnx.ensure_demo_onnx_bundle(**options) == first and builds == []
    (first / "basic_cnn.onnx").write_bytes(b"damaged")
    assert demo_onnx.ensure_demo_onnx_bundle(**options) == first and len(builds) == 1
    assert demo_onnx.demo_onnx_key({"basic_cnn": 16}, architectures=("basic_cnn",), seed=1) not in first.name
    monkeypatch.setenv(demo_onnx.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert demo_onnx.demo_cache_dir() == tmp_path / "elsewhere"
