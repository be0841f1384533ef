"""Training: tiny models learn held-out patients, bundles round-trip, cache, resume, strategies."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.progress import OperationCancelled
from npc_desktop.core.research.augment import Augmentation, augment_inputs
from npc_desktop.core.research.features import FeatureCache, input_keys
from npc_desktop.core.research.patchset import PatchSet, load_patch_set
from npc_desktop.core.research.training import TrainingConfig, TrainingError, train_bundle
from tests.core.research.helpers import write_patch_set

pytestmark = [
    pytest.mark.slow,
    # raised inside Keras (TF tensors through numpy 2 in fit), not by this code
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]

TINY = dict(input_sizes={"basic_cnn": 32, "densenet121": 32}, epochs=12, basic_cnn_epochs=12,
            learning_rate=1e-3, basic_cnn_learning_rate=1e-3, augmented_copies=2)


@pytest.fixture(scope="module")
def patch_set(tmp_path_factory: pytest.TempPathFactory) -> PatchSet:
    root = write_patch_set(tmp_path_factory.mktemp("synthetic"), patients_per_class=10, patches_per_patient=6, seed=1)
    return load_patch_set(root)


@pytest.fixture(scope="module")
def trained(patch_set: PatchSet, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("trained")
    split = patch_set.split_by_fraction(seed=0)
    progress: list[tuple[int, int]] = []
    result = train_bundle(
        patch_set, split, out / "bundle", config=TrainingConfig(members=("basic_cnn", "densenet121"), **TINY),
        cache_dir=out / "cache", report_dir=out / "report", progress=lambda d, t: progress.append((d, t)),
    )
    return result, split, out, progress


def test_tiny_models_learn_held_out_patients(trained) -> None:
    result, split, _, progress = trained
    evaluation = result.evaluation
    assert set(evaluation.patient_ids) == set(split.test) and len(split.test) == 4
    for name in ("Basic CNN", "DenseNet121", "Ensemble"):
        assert evaluation.patch[name].accuracy >= 0.9, (name, evaluation.patch[name].accuracy)
    assert progress[-1][0] == progress[-1][1]
    assert (result.report_files[0].name, result.report_files[0].exists()) == ("report.md", True)


def test_bundle_records_recipe_split_and_provenance(trained, patch_set: PatchSet) -> None:
    from npc_desktop.core.models.bundle import load_bundle

    result, split, _, _ = trained
    bundle = load_bundle(result.bundle)
    manifest = bundle.manifest
    assert manifest.class_names == ("III", "IVa")
    assert {m.name: m.vote_weight for m in manifest.members} == {"basic_cnn": 0.0, "densenet121": 1.0}
    provenance = manifest.provenance
    assert provenance["split"]["test_patients"] == len(split.test)
    training = provenance["training"]
    assert training["config"]["learning_rate"] == 1e-3 and training["config"]["batch_size"] == 32
    assert len(training["members"]["densenet121"]["history"]["loss"]) == 12
    assert training["members"]["densenet121"]["initialisation"] == "random"
    assert any("random initialisation" in note for note in training["notes"])
    assert provenance["training_data"]["test"]["III"]["patients"] == 2
    assert not (result.bundle.parent / f".{result.bundle.name}.work").exists()


def test_bundle_records_calibration_and_the_report_its_figures(trained) -> None:
    import json

    from npc_desktop.core.models.bundle import load_bundle

    result, split, out, _ = trained
    manifest = load_bundle(result.bundle).manifest
    calibration = manifest.calibration
    validation = calibration["validation"]["patients"]
    assert validation and not set(validation) & set(split.test)
    assert calibration["temperature"]["method"] == "nll" and all(t > 0 for t in manifest.temperatures())
    assert calibration["vote_weights"]["method"] in ("equal", "validation") and calibration["vote_weights"]["reason"]
    assert sum(manifest.vote_weights) == pytest.approx(1.0)
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    for level in ("patch_level", "patient_level"):
        for name in ("Basic CNN", "DenseNet121", "Ensemble"):
            assert {"accuracy", "ece", "brier"} <= set(metrics[level][name])
    assert (out / "report" / "reliability.png").stat().st_size > 10_000
    report = (out / "report" / "report.md").read_text()
    assert "Vote weights:" in report and "## Calibration" in report


def test_head_on_cached_features_equals_the_saved_member(trained, patch_set: PatchSet) -> None:
    """The head trained on the cache is the member's head: the saved member predicts the same."""
    from npc_desktop.core.models.bundle import load_bundle
    from npc_desktop.core.research.predict import compiled_call, grey_inputs, predict_grey

    result, split, _, _ = trained
    bundle = load_bundle(result.bundle)
    member = bundle.models[[m.name for m in bundle.manifest.members].index("densenet121")]
    images = patch_set.load_images(patch_set.subset(split.test))
    probs = predict_grey(compiled_call(member, (32, 32, 3)), grey_inputs(images, (32, 32)))
    cached = next(m for m in result.members if m.name == "densenet121").test_probabilities
    np.testing.assert_allclose(probs, cached, atol=1e-5)


def test_evaluate_bundle_reproduces_training_metrics(trained, patch_set: PatchSet, tmp_path: Path) -> None:
    from npc_desktop.core.research.bundle_eval import evaluate_bundle

    result, split, _, _ = trained
    evaluation, files = evaluate_bundle(result.bundle, patch_set, patch_set.subset(split.test), tmp_path)
    for name in ("Basic CNN", "DenseNet121", "Ensemble"):
        np.testing.assert_allclose(evaluation.methods[[m.name for m in evaluation.methods].index(name)].probabilities,
                                   result.evaluation.methods[[m.name for m in result.evaluation.methods].index(name)].probabilities,
                                   atol=1e-5)
    assert (tmp_path / "training_curves.png").is_file()


def test_trained_bundle_stages_through_the_fused_ensemble(trained, patch_set: PatchSet) -> None:
    """The staging engine's fused graph gives the training evaluation's ensemble, with Grad-CAMs."""
    from npc_desktop.core.models.bundle import load_bundle
    from npc_desktop.core.models.fused import FusedEnsemble
    from npc_desktop.core.models.inputs import batch_inputs

    result, split, _, _ = trained
    bundle = load_bundle(result.bundle)
    fused = FusedEnsemble(bundle.models, vote_weights=bundle.manifest.vote_weights,
                          temperatures=bundle.manifest.temperatures())
    assert fused.class_names == ("III", "IVa")
    images = patch_set.load_images(patch_set.subset(split.test))
    output = fused([batch_inputs(images, size) for size in fused.input_sizes], cam=True)
    ensemble = next(m for m in result.evaluation.methods if m.name == "Ensemble").probabilities
    np.testing.assert_allclose(output.probabilities, ensemble, atol=1e-5)
    assert output.cams is not None and all(np.isfinite(c).all() for c in output.cams)


def test_feature_cache_computes_each_copy_once(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    grey = rng.uniform(0, 255, size=(5, 16, 16)).astype(np.float32)
    keys = input_keys(grey)
    calls: list[int] = []

    def extract(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape[0])
        assert batch.shape[-1] == 3 and np.array_equal(batch[..., 0], batch[..., 2])
        return np.stack([batch.mean(axis=(1, 2, 3)), batch.std(axis=(1, 2, 3))], axis=1)

    cache = FeatureCache(tmp_path, "vgg16", (16, 16), "w" * 64, Augmentation(), seed=5)
    first = cache.features(grey, keys, 2, extract, batch_size=2)
    assert first.shape == (2, 5, 2) and sum(calls) == 10
    np.testing.assert_allclose(first[0, :, 0], grey.mean(axis=(1, 2)), rtol=1e-5)
    calls.clear()
    np.testing.assert_array_equal(cache.features(grey, keys, 2, extract), first)
    assert calls == []
    more = cache.features(grey, keys, 3, extract)
    assert sum(calls) == 5 and cache.missing(keys, 3) == 0
    np.testing.assert_array_equal(more[:2], first)
    expected = augment_inputs(grey, keys, augmentation=Augmentation(), seed=5, copy=2)
    np.testing.assert_allclose(more[2, :, 0], expected.mean(axis=(1, 2)), rtol=1e-5)
    other_seed = FeatureCache(tmp_path, "vgg16", (16, 16), "w" * 64, Augmentation(), seed=6)
    assert other_seed.namespace != cache.namespace and other_seed.missing(keys, 1) == 5


def test_cancelled_training_resumes_from_its_checkpoint(patch_set: PatchSet, tmp_path: Path) -> None:
    split = patch_set.split_by_fraction(seed=0)
    config = TrainingConfig(members=("densenet121",), input_sizes={"densenet121": 32}, epochs=5,
                            learning_rate=1e-3, augmented_copies=1)
    cancel = threading.Event()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if "epoch 2/5" in line:
            cancel.set()

    kwargs = dict(config=config, work_dir=tmp_path / "work", cache_dir=tmp_path / "cache")
    with pytest.raises(OperationCancelled):
        train_bundle(patch_set, split, tmp_path / "bundle", log=log, cancel=cancel, **kwargs)
    assert not (tmp_path / "bundle").exists()
    assert (tmp_path / "work" / "densenet121" / "head" / "state.json").is_file()
    lines.clear()
    result = train_bundle(patch_set, split, tmp_path / "bundle", log=lines.append, **kwargs)
    member = result.members[0]
    assert member.resumed and len(member.history["loss"]) == 5
    assert not any("epoch 1/5" in line or "epoch 2/5" in line for line in lines)
    assert any("(0 to compute" in line for line in lines)  # features came from the cache


def test_same_seed_same_model(patch_set: PatchSet, tmp_path: Path) -> None:
    split = patch_set.split_by_fraction(seed=0)
    config = TrainingConfig(members=("basic_cnn",), input_sizes={"basic_cnn": 16}, basic_cnn_epochs=2, seed=11)
    runs = [train_bundle(patch_set, split, tmp_path / f"b{i}", config=config, cache_dir=tmp_path / "cache")
            for i in range(2)]
    np.testing.assert_allclose(runs[0].members[0].test_probabilities, runs[1].members[0].test_probabilities, atol=1e-6)
    assert runs[0].members[0].history == runs[1].members[0].history


def test_training_under_a_distribution_strategy(patch_set: PatchSet, tmp_path: Path) -> None:
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    split = patch_set.split_by_fraction(seed=0)
    config = TrainingConfig(members=("basic_cnn",), input_sizes={"basic_cnn": 16}, basic_cnn_epochs=2)
    result = train_bundle(patch_set, split, tmp_path / "bundle", config=config, strategy=strategy,
                          cache_dir=tmp_path / "cache")
    assert len(result.members[0].history["loss"]) == 2
    assert (tmp_path / "bundle" / "basic_cnn.keras").is_file()


def test_bad_settings_and_data_are_refused(patch_set: PatchSet, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="epochs must be at least 1"):
        TrainingConfig(epochs=0)
    with pytest.raises(TrainingError, match="fine-tuning needs both"):
        TrainingConfig(fine_tune_epochs=2)
    with pytest.raises(TrainingError, match="not among the members"):
        TrainingConfig(members=("basic_cnn",), input_sizes={"vgg16": 64})
    with pytest.raises(Exception, match="unknown architecture"):
        TrainingConfig(members=("alexnet",))
    with pytest.raises(Exception, match="input"):
        TrainingConfig(members=("inception_v3",), input_sizes={"inception_v3": 32})
    only_one_class = patch_set.split_by_fraction(seed=0)
    iii = [p for p, label in patch_set.patients().items() if label == "III"]
    from npc_desktop.core.research.splits import PatientSplit

    split = PatientSplit(tuple(iii), tuple(p for p in only_one_class.test if p not in iii), "manual")
    with pytest.raises(TrainingError, match="no patches of class 'IVa'"):
        train_bundle(patch_set, split, tmp_path / "b", config=TrainingConfig(members=("basic_cnn",)))
    (tmp_path / "taken").mkdir()
    with pytest.raises(TrainingError, match="exists"):
        train_bundle(patch_set, only_one_class, tmp_path / "taken")


def test_one_patient_per_class_trains_without_a_test_set(tmp_path: Path) -> None:
    """A fraction split of one patient per class tests nobody: train, say so, and do not evaluate."""
    root = write_patch_set(tmp_path / "tiny", patients_per_class=1, patches_per_patient=3, seed=5)
    patch_set = load_patch_set(root)
    split = patch_set.split_by_fraction(seed=0)
    assert split.test == ()
    config = TrainingConfig(members=("basic_cnn", "vgg16"), input_sizes={"basic_cnn": 16, "vgg16": 32}, epochs=1,
                            basic_cnn_epochs=1, augmented_copies=0, validation_fraction=0.5)
    result = train_bundle(patch_set, split, tmp_path / "bundle", config=config, cache_dir=tmp_path / "cache")
    assert result.evaluation is None and (tmp_path / "bundle" / "vgg16.keras").is_file()
    assert any("the test split is empty" in note for note in result.notes)
    assert any("no validation patients" in note for note in result.notes)
    assert result.manifest.provenance["metrics"] == {}


def test_overwrite_is_refused_before_training_for_folders_that_are_not_bundles(
        patch_set: PatchSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    split = patch_set.split_by_fraction(seed=0)
    config = TrainingConfig(members=("basic_cnn",), input_sizes={"basic_cnn": 16}, basic_cnn_epochs=1)
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "IM0001.dcm").write_bytes(b"DICM")
    lines: list[str] = []
    with pytest.raises(TrainingError, match=f"^{scans}: is not empty and is not a model bundle"):
        train_bundle(patch_set, split, scans, config=config, overwrite=True, log=lines.append)
    assert lines == [] and (scans / "IM0001.dcm").read_bytes() == b"DICM"  # refused before reading any patch
    with pytest.raises(TrainingError, match="holds .*synthetic"):
        train_bundle(patch_set, split, patch_set.root.parent, config=config, overwrite=True)
    monkeypatch.chdir(scans)
    with pytest.raises(TrainingError, match="is the current directory"):
        train_bundle(patch_set, split, ".", config=config, overwrite=True)
    assert (scans / "IM0001.dcm").is_file() and len(patch_set.load_images(patch_set.records[:1])) == 1
    # A work folder of the caller's keeps whatever is not a member's checkpoint.
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    train_bundle(patch_set, split, tmp_path / "bundle", config=config, work_dir=work, cache_dir=tmp_path / "cache")
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]
    train_bundle(patch_set, split, tmp_path / "bundle", config=config, cache_dir=tmp_path / "cache", overwrite=True)
    assert (tmp_path / "bundle" / "basic_cnn.keras").is_file()


def test_fine_tuning_changes_only_the_top_of_the_base(patch_set: PatchSet, tmp_path: Path) -> None:
    from npc_desktop.core.models.architectures import build_member
    from npc_desktop.core.models.bundle import load_bundle

    split = patch_set.split_by_fraction(seed=0)
    config = TrainingConfig(members=("vgg16",), input_sizes={"vgg16": 32}, epochs=2,
                            fine_tune_epochs=1, fine_tune_layers=1, fine_tune_learning_rate=1e-3,
                            augmented_copies=0, seed=4)
    result = train_bundle(patch_set, split, tmp_path / "bundle", config=config, cache_dir=tmp_path / "cache")
    assert len(result.members[0].history["loss"]) == 3
    tuned = load_bundle(tmp_path / "bundle").models[0]
    initial = build_member("vgg16", input_size=32, class_names=patch_set.class_names, seed=4)
    for frozen in ("block1_conv1", "block5_conv2"):
        np.testing.assert_array_equal(tuned.get_layer(frozen).get_weights()[0], initial.get_layer(frozen).get_weights()[0])
    assert not np.array_equal(tuned.get_layer("block5_conv3").get_weights()[0],
                              initial.get_layer("block5_conv3").get_weights()[0])
