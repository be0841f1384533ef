"""Staging applies the bundle's temperatures and patient threshold; schema-1 bundles still stage."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from npc_desktop.core.models.inputs import batch_inputs
from npc_desktop.core.models.voting import calibrated_probabilities, calibrated_vote, soft_vote
from npc_desktop.core.staging.engine import StagingEngine, StagingItem
from tests.core.models.test_manifest_schema import as_schema_1


def _items(count: int, seed: int = 0) -> list[StagingItem]:
    rng = np.random.default_rng(seed)
    return [StagingItem(rng.integers(0, 256, (36, 40), dtype=np.uint8), box=(5, 6, 41, 46)) for _ in range(count)]


def _member_logits(bundle: Any, items: list[StagingItem]) -> np.ndarray:
    from npc_desktop.core.research.predict import logits_model

    images = [item.image for item in items]
    return np.stack([np.asarray(logits_model(model)([batch_inputs(images, entry.input_size)]))
                     for entry, model in zip(bundle.manifest.members, bundle.models)])


@pytest.fixture(scope="module")
def calibrated_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from npc_desktop.core.models.bundle_writer import write_bundle
    from tests.core.conftest import build_small_members

    calibration = {
        "temperature": {"method": "nll", "fitted_on": "test"},
        "ensemble_temperature": {"method": "nll", "value": 2.0},
        "vote_weights": {"method": "validation", "requested": "validation", "reason": "test"},
        "patient_threshold": {"method": "validation", "class": "IVa", "value": 0.2},
        "validation": {"patients": ["A", "B"]},
    }
    directory = tmp_path_factory.mktemp("calibrated") / "bundle"
    write_bundle(directory, build_small_members(seed=3), name="calibrated", vote_weights=[0.7, 0.3],
                 temperatures=[0.25, 4.0], calibration=calibration)
    return directory


@pytest.fixture(scope="module")
def calibrated_onnx_bundle(calibrated_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same bundle with its members' ONNX graphs added (what ``npc-desktop bundle export-onnx`` does)."""
    from npc_desktop.core.models.onnx_bundle import add_onnx_graphs

    directory = Path(shutil.copytree(calibrated_bundle, tmp_path_factory.mktemp("calibrated-onnx") / "bundle"))
    add_onnx_graphs(directory)
    return directory


@pytest.mark.parametrize("runtime", ["tf", "onnx"])
def test_engine_stages_calibrated_probabilities(runtime: str, calibrated_bundle: Path, request: Any) -> None:
    from npc_desktop.core.models.bundle import load_bundle

    path = calibrated_bundle if runtime == "tf" else request.getfixturevalue("calibrated_onnx_bundle")
    engine = StagingEngine.load(path, batch_size=3, runtime=runtime)
    assert engine.bundle.manifest.temperatures() == (0.25, 4.0)
    assert engine.bundle.manifest.ensemble_temperature == 2.0
    items = _items(4, seed=1)
    result = engine.stage(items, cams=True)
    expected = calibrated_probabilities(_member_logits(load_bundle(calibrated_bundle), items), [0.25, 4.0])
    member = np.stack([p.member_probabilities for p in result.patches], axis=1)
    np.testing.assert_allclose(member, expected, atol=2e-5)
    vote = calibrated_vote(soft_vote(expected, [0.7, 0.3]), 2.0)
    np.testing.assert_allclose(np.stack([p.probabilities for p in result.patches]), vote, atol=2e-5)
    fused = engine.fused([batch_inputs([i.image for i in items], size) for size in engine.fused.input_sizes], cam=False)
    np.testing.assert_allclose(fused.probabilities, vote, atol=2e-5)
    # the patient decision follows the recorded threshold on IVa, and the headline shows that class's probability
    iva = result.patient.probabilities[1]
    assert result.patient.predicted == ("IVa" if iva >= 0.2 else "III")
    assert f"p = {result.patient.probabilities[result.patient.predicted_index]:.2f}" in result.headline()


def test_schema_1_bundle_loads_and_stages_as_plain_softmax(small_bundle_dir: Path, tmp_path: Path) -> None:
    bundle_dir = Path(shutil.copytree(small_bundle_dir, tmp_path / "old"))
    as_schema_1(bundle_dir)
    engine = StagingEngine.load(bundle_dir, batch_size=2, runtime="tf")
    items = _items(3, seed=2)
    result = engine.stage(items, cams=False)
    expected = calibrated_probabilities(_member_logits(engine.bundle, items))
    np.testing.assert_allclose(np.stack([p.member_probabilities for p in result.patches], axis=1), expected, atol=2e-5)
    assert engine.bundle.manifest.calibration["migrated_from"] == 1
