"""The fused graph and the staging engine on the tiny untrained demo ensemble and the demo study."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.models.cam import GradCAM, map_to_box
from npc_desktop.core.models.inputs import batch_inputs
from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.core.models.voting import soft_vote
from npc_desktop.core.progress import OperationCancelled
from npc_desktop.core.staging.engine import StagingInputError, StagingItem
from tests.conftest import roi_from_demo_lesion


def _items(count: int, seed: int = 0) -> list[StagingItem]:
    rng = np.random.default_rng(seed)
    return [
        StagingItem(rng.integers(0, 256, (30 + 5 * i, 44), dtype=np.uint8), box=(10 + i, 20, 40 + 6 * i, 64))
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def staged(tiny_demo_engine: Any) -> tuple[list[StagingItem], Any]:
    items = _items(5)
    return items, tiny_demo_engine.stage(items)


def test_fused_graph_equals_each_members_own_output(tiny_demo_engine: Any, staged: Any) -> None:
    items, result = staged
    for index, model in enumerate(tiny_demo_engine.bundle.models):
        x = batch_inputs([it.image for it in items], model.input_shape[1:3])
        own = np.asarray(model(x, training=False))
        fused = np.stack([p.member_probabilities[index] for p in result.patches])
        np.testing.assert_allclose(fused, own, rtol=0, atol=1e-5)
    x = [batch_inputs([it.image for it in items], s) for s in tiny_demo_engine.fused.input_sizes]
    predicted_only = tiny_demo_engine.fused(x, cam=False)
    np.testing.assert_allclose(predicted_only.member_probabilities, np.stack(
        [p.member_probabilities for p in result.patches], axis=1), atol=1e-5)


def test_soft_vote_agreement_and_patient(staged: Any) -> None:
    _, result = staged
    for patch in result.patches:
        np.testing.assert_allclose(patch.probabilities, patch.member_probabilities.mean(axis=0), atol=1e-12)
        assert patch.predicted == result.class_names[int(np.argmax(patch.probabilities))]
        votes = [result.class_names[int(np.argmax(p))] for p in patch.member_probabilities]
        assert list(patch.member_votes) == votes
        assert patch.agreement == pytest.approx(votes.count(patch.predicted) / len(votes))
    patient = result.patient
    expected = np.mean([p.probabilities for p in result.patches], axis=0)
    np.testing.assert_allclose(patient.probabilities, expected, atol=1e-12)
    members = np.stack([p.member_probabilities for p in result.patches], axis=1)
    np.testing.assert_allclose(patient.member_probabilities, members.mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(patient.probabilities, soft_vote(patient.member_probabilities), atol=1e-12)
    assert patient.patch_count == 5 and patient.aggregation == "mean"


def test_fused_cams_equal_eager_grad_cam_on_the_patch_box(tiny_demo_engine: Any, staged: Any) -> None:
    items, result = staged
    manifest = tiny_demo_engine.bundle.manifest
    for index, (model, entry) in enumerate(zip(tiny_demo_engine.bundle.models, manifest.members)):
        x = batch_inputs([it.image for it in items], entry.input_size)
        classes = [p.predicted_index for p in result.patches]
        maps, _ = GradCAM(model, entry.cam_layer).compute_map(x, classes)
        for item, patch, coarse in zip(items, result.patches, maps):
            box = item.patch_box
            assert patch.box == box
            expected = map_to_box(coarse, (box[2] - box[0], box[3] - box[1]))
            np.testing.assert_allclose(patch.cams[entry.name], expected, atol=1e-4)
            assert patch.cam_class == patch.predicted
    patch = result.patches[0]
    np.testing.assert_allclose(patch.cam_mean, np.mean(list(patch.cams.values()), axis=0), atol=1e-6)
    on_slice = patch.cam_on_slice((80, 80), "vgg16")
    np.testing.assert_array_equal(on_slice[10:40, 20:64], patch.cams["vgg16"])
    assert np.isnan(on_slice[:10]).all()


def test_results_say_untrained_demo_everywhere(staged: Any) -> None:
    _, result = staged
    assert result.untrained_demo and result.label == UNTRAINED_LABEL
    lines = result.summary_lines()
    assert lines[0] == f"*** {UNTRAINED_LABEL} ***" and lines[-1] == lines[0]
    data = result.to_dict()
    assert data["label"] == UNTRAINED_LABEL and data["device"].startswith(("CPU", "GPU"))
    assert data["members"] == ["vgg16", "inception_v3", "resnet50", "inception_resnet_v2", "densenet121"]


def test_progress_counts_patch_member_units_and_cancel_stops(tiny_demo_engine: Any) -> None:
    seen: list[tuple[int, int]] = []
    tiny_demo_engine.stage(_items(6), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 30), (20, 30), (30, 30)]  # batches of 4 patches x 5 members
    cancel = threading.Event()

    def cancel_after_first_batch(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(OperationCancelled):
        tiny_demo_engine.stage(_items(6), progress=cancel_after_first_batch, cancel=cancel)
    with pytest.raises(StagingInputError, match="nothing to stage"):
        tiny_demo_engine.stage([])
    with pytest.raises(StagingInputError, match="patch 1"):
        tiny_demo_engine.stage([StagingItem(np.zeros((5, 5), np.int64))])


def test_stage_annotations_on_the_demo_study(tiny_demo_engine: Any, demo_study: Any, demo_volumes: Any) -> None:
    lesions = demo_study.lesions_for("T2")
    chosen = [lesions[len(lesions) // 2], lesions[-1]]
    annotations = AnnotationSet(demo_study.study_instance_uid, [roi_from_demo_lesion(demo_study, les) for les in chosen])
    result = tiny_demo_engine.stage_annotations(annotations, demo_volumes)
    assert [p.roi_id for p in result.patches] == [r.id for r in annotations.rois]
    volume = demo_volumes[demo_study.series_uids["T2"]]
    for patch, lesion in zip(result.patches, chosen):
        row0, col0, row1, col1 = patch.box
        assert patch.slice_index == lesion.slice_index and patch.sop_instance_uid == lesion.sop_instance_uid
        assert row0 <= lesion.bbox[0] and row1 >= lesion.bbox[2] and col0 <= lesion.bbox[1] and col1 >= lesion.bbox[3]
        assert patch.cam_mean.shape == (row1 - row0, col1 - col0)
        assert patch.cam_on_slice(volume.shape[1:]).shape == volume.shape[1:]
    missing = {demo_study.series_uids["T1C"]: demo_volumes[demo_study.series_uids["T1C"]]}
    with pytest.raises(StagingInputError, match="not loaded"):
        tiny_demo_engine.stage_annotations(annotations, missing)
    with pytest.raises(StagingInputError, match="nothing to stage"):
        tiny_demo_engine.stage_annotations(AnnotationSet(demo_study.study_instance_uid), demo_volumes)


def test_weighted_members_and_loaded_bundle_engine(small_bundle_dir: Any) -> None:
    from dataclasses import replace

    from npc_desktop.core.models.bundle import load_bundle
    from npc_desktop.core.staging.engine import StagingEngine

    bundle = load_bundle(small_bundle_dir)
    members = tuple(replace(m, vote_weight=w) for m, w in zip(bundle.manifest.members, (3.0, 1.0)))
    bundle.manifest = replace(bundle.manifest, members=members)
    engine = StagingEngine(bundle, patient_aggregation="vote", batch_size=2)
    result = engine.stage(_items(3, seed=4))
    for patch in result.patches:
        np.testing.assert_allclose(patch.probabilities, 0.75 * patch.member_probabilities[0]
                                   + 0.25 * patch.member_probabilities[1], atol=1e-12)
    assert not result.untrained_demo and result.label == ""
    assert result.bundle_hash == bundle.sha256 and result.patient.aggregation == "vote"
    assert "UNTRAINED" not in "\n".join(result.summary_lines())
