"""A bundle trained by the research loop opens in the workstation and stages end to end (issue 9, section 4).

A tiny bundle (a VGG16 head and the Basic CNN at 32 px, a few epochs) is trained on a handful of real
MR patches of the brain-tumour proxy set (classes glioma and meningioma), opened through
Models > Open Model Bundle, and used to stage the demo study's ROIs: the results panel must show
the bundle's classes and its members' probabilities, without the untrained mark.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.gui.staging.staging_state import ModelPhase
from npc_desktop.gui.staging.staging_view import percent
from tests.gui.staging_helpers import MODEL_TIMEOUT_MS, add_demo_rois, stage_and_wait

pytestmark = [
    pytest.mark.gui,
    pytest.mark.realdata,
    pytest.mark.slow,
    # raised inside Keras (TF tensors through numpy 2 in fit), not by this code
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]

PATIENTS_PER_CLASS = 3
PATCHES_PER_PATIENT = 3
CLASSES = ("glioma", "meningioma")


@pytest.fixture(scope="module")
def trained_bundle(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained with ``train_bundle`` on 18 real patches of 6 patients (3 per class)."""
    from npc_desktop.core.research.patchset import load_patch_set
    from npc_desktop.core.research.training import TrainingConfig, train_bundle

    full = load_patch_set(real_data_dir / "mr-patches-brain-tumour-proxy")
    chosen = []
    for label in full.class_names:
        patients = sorted({r.patient for r in full.records if r.label == label})[:PATIENTS_PER_CLASS]
        for patient in patients:
            chosen.extend([r for r in full.records if r.patient == patient][:PATCHES_PER_PATIENT])
    patch_set = replace(full, records=tuple(sorted(chosen, key=lambda r: r.file)))
    split = patch_set.split_by_fraction(train_fraction=0.67, seed=0)
    config = TrainingConfig(members=("vgg16", "basic_cnn"), input_sizes={"vgg16": 32, "basic_cnn": 32}, epochs=3,
                            basic_cnn_epochs=3, learning_rate=1e-3, basic_cnn_learning_rate=1e-3, augmented_copies=1,
                            weights="none")
    out = tmp_path_factory.mktemp("trained-gui")
    result = train_bundle(patch_set, split, out / "proxy-bundle", config=config, name="proxy-tiny",
                          cache_dir=out / "cache")
    assert result.manifest.class_names == CLASSES and not result.manifest.untrained_demo
    return result.bundle


def _refuse_demo() -> Any:
    def build(progress: Any, cancel: Any) -> Any:
        raise RuntimeError("this test stages with the trained bundle only")

    return build


def _members_on_the_staged_patches(bundle_dir: Path, staged: Any) -> dict[str, np.ndarray]:
    """Each member's calibrated probabilities for the staged ROIs, computed with Keras alone: roi id -> (m, k).

    softmax(log p / T) is softmax(logits / T): the member's softmax output carries its logits up to a constant.
    """
    from npc_desktop.core.annotation.patches import ContextMargin
    from npc_desktop.core.models.bundle import load_bundle
    from npc_desktop.core.models.inputs import batch_inputs
    from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing, prepare_patches
    from npc_desktop.core.models.voting import calibrated_probabilities

    bundle = load_bundle(bundle_dir)
    recorded = bundle.manifest.patch or {}
    pre = {k: tuple(v) if isinstance(v, list) else v for k, v in recorded["preprocessing"].items()}
    margin, preprocessing = ContextMargin(**recorded["margin"]), PatchPreprocessing(**pre)
    images: dict[str, np.ndarray] = {}
    for uid, volume in staged.volumes.items():
        rois = [r for r in staged.annotations.rois if r.series_instance_uid == uid]
        for prepared in prepare_patches(volume, rois, margin=margin, preprocessing=preprocessing) if rois else []:
            images[prepared.patch.roi.id] = prepared.image
    out = {}
    for roi_id, image in images.items():
        softmax = np.stack([
            np.asarray(model(batch_inputs([image], entry.input_size), training=False))[0]
            for model, entry in zip(bundle.models, bundle.manifest.members)
        ])
        out[roi_id] = calibrated_probabilities(np.log(softmax.astype(np.float64)), bundle.manifest.temperatures())
    return out


def test_a_trained_bundle_opens_from_the_models_menu_and_stages_the_demo(
        qtbot: Any, make_window: Any, open_study: Any, demo_study: Any, trained_bundle: Path, monkeypatch: Any,
        artifacts_dir: Path) -> None:
    from npc_desktop.gui.staging.engine_factories import EngineFactories
    from npc_desktop.gui.staging.inference_worker import bundle_engine_factory

    factories = EngineFactories(demo=_refuse_demo, bundle=lambda path: bundle_engine_factory(path, batch_size=1))
    window = make_window(engine_factories=factories)
    open_study(window, demo_study.root, expected_viewports=2)
    rois = add_demo_rois(window, demo_study)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *args, **kwargs: str(trained_bundle)))
    window.menuBar()  # the Models menu's item triggers this action
    window.actions_by_name["open_bundle"].trigger()
    staging = window.session.staging
    qtbot.waitUntil(lambda: staging.status.phase in (ModelPhase.READY, ModelPhase.FAILED)
                    and staging.status.bundle is not None, timeout=MODEL_TIMEOUT_MS)
    assert staging.status.phase is ModelPhase.READY, staging.status.message
    label = window.staging_ui.models_label.text()
    assert label.startswith("Models: proxy-tiny 1 (") and UNTRAINED_LABEL not in label

    staged = stage_and_wait(qtbot, window)
    result = staged.result
    assert result.class_names == CLASSES and not result.untrained_demo
    assert result.member_names == ("basic_cnn", "vgg16") and len(result.patches) == len(rois)
    panel = window.results
    window.grab().save(str(artifacts_dir / "trained_bundle_results.png"))
    assert not panel.banner.isVisible() and window.grid.viewports[0].canvas.banner == ""
    table = panel.patches
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[2:5] == ["Class", "P(glioma)", "P(meningioma)"]
    members = [panel.members.horizontalHeaderItem(c).text() for c in range(panel.members.columnCount())]
    assert members[1:3] == ["P(glioma)", "P(meningioma)"]
    patient = result.patient
    assert patient.predicted in CLASSES
    assert panel.stage_label.text() == result.headline()
    assert panel.stage_label.text().startswith(f"Stage {patient.predicted} (p = {percent(np.max(patient.probabilities))})")
    assert f"proxy-tiny 1 ({result.bundle_hash[:12]})" in panel.bundle_label.text()
    # The shown numbers are the trained members' calibrated outputs on these patches (computed here with Keras
    # alone); the Basic CNN baseline has vote weight 0, so the ensemble is VGG16's head.
    expected = _members_on_the_staged_patches(trained_bundle, staged)
    assert set(expected) == {p.roi_id for p in result.patches}
    for row, patch in enumerate(result.patches):
        np.testing.assert_allclose(patch.member_probabilities, expected[patch.roi_id], atol=1e-4)
        np.testing.assert_allclose(patch.probabilities, expected[patch.roi_id][1], atol=1e-4)
        assert np.isclose(np.sum(patch.probabilities), 1.0, atol=1e-5)
        assert table.item(row, 2).text() == patch.predicted in CLASSES
        assert [table.item(row, 3 + k).text() for k in range(2)] == [percent(p) for p in patch.probabilities]
    window.close()
