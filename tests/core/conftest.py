"""Tiny random-weight models for the staging tests, built once per test session.

``tiny_demo_engine`` itself lives in tests/conftest.py, so the GUI tests share the same engine.

The five keras.applications members are built at their smallest practical inputs (32 px, 75 px for
the Inception family); building InceptionResNetV2 is the slow part, so each architecture is built
at most once per session (``tiny_demo_engine``). Bundle tests use a small two-member bundle
(DenseNet121 + Basic CNN) so that writing and hashing it stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TINY_SIZES: dict[str, int] = {
    "vgg16": 32, "resnet50": 32, "densenet121": 32, "inception_v3": 75, "inception_resnet_v2": 75,
}
"""Small input sizes (each architecture's minimum is 32 or 75)."""


def build_small_members(seed: int = 0) -> list[Any]:
    """Two quick members: DenseNet121 at 32 px and the Basic CNN at 32 px."""
    from npc_desktop.core.models.architectures import build_member

    return [
        build_member("densenet121", input_size=32, seed=seed),
        build_member("basic_cnn", input_size=32, seed=seed + 1),
    ]


def write_small_bundle(directory: Path, seed: int = 0, *, onnx: bool = True) -> Path:
    """Write the two-member bundle to ``directory`` (with its ONNX graphs unless ``onnx`` is False)."""
    from npc_desktop.core.models.bundle_writer import write_bundle
    from npc_desktop.core.models.onnx_bundle import export_models_onnx

    models = build_small_members(seed)
    manifest = write_bundle(
        directory, models, name="tiny-test", version="0.1",
        provenance={"training_data": {"patches": 0, "note": "random weights"}, "split": {"method": "none"}},
    )
    if onnx:
        export_models_onnx(directory, manifest, models)
    return directory


@pytest.fixture(scope="session")
def small_bundle_dir(small_onnx_bundle: Path) -> Path:
    """A valid two-member bundle on disk, with ONNX graphs (do not modify it; copy it first)."""
    return small_onnx_bundle


@pytest.fixture(scope="session")
def demo_volumes(demo_study: Any) -> dict[str, Any]:
    """The demo study's two series loaded, by SeriesInstanceUID."""
    from npc_desktop.core.dicom import index_path, load_series

    index = index_path(demo_study.root)
    return {uid: load_series(index.find_series(uid)) for uid in demo_study.series_uids.values()}
