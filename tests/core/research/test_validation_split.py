"""Validation patients are held out by patient, stratified, recorded, and never reach a training batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_desktop.core.research import member_training
from npc_desktop.core.research.patchset import load_patch_set
from npc_desktop.core.research.predict import grey_inputs
from npc_desktop.core.research.training import TrainingConfig, TrainingError, train_bundle
from tests.core.research.helpers import write_patch_set

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]


def test_validation_patients_never_appear_in_training_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_desktop.core.models.bundle import load_bundle

    patch_set = load_patch_set(write_patch_set(tmp_path / "data", patients_per_class=6, patches_per_patient=3, seed=4))
    split = patch_set.split_by_fraction(seed=0)
    patient_of = {grey.tobytes(): record.patient for record, grey in
                  zip(patch_set.records, grey_inputs(patch_set.load_images(patch_set.records), (32, 32)))}
    batches: list[set[str]] = []
    original = member_training.epoch_maker

    def recording(x, y, seed, *, augment=None):  # the Basic CNN's batch generator, unaugmented inputs
        batches.append({patient_of[row.tobytes()] for row in x})
        return original(x, y, seed, augment=augment)

    monkeypatch.setattr(member_training, "epoch_maker", recording)
    config = TrainingConfig(members=("basic_cnn",), input_sizes={"basic_cnn": 32}, basic_cnn_epochs=2,
                            augmented_copies=0, validation_fraction=0.4)
    result = train_bundle(patch_set, split, tmp_path / "bundle", config=config, cache_dir=tmp_path / "cache")
    calibration = load_bundle(result.bundle).manifest.calibration
    validation = set(calibration["validation"]["patients"])
    labels = patch_set.patients()
    assert {labels[p] for p in validation} == {"III", "IVa"}  # stratified: both classes held out
    assert validation <= set(split.train) and not validation & set(split.test)
    assert batches and all(not trained & validation for trained in batches), (batches, validation)
    assert set().union(*batches) == set(split.train) - validation
    assert calibration["validation"]["fraction"] == 0.4 and calibration["temperature"]["method"] == "nll"


def test_validation_options_need_validation_patients() -> None:
    with pytest.raises(TrainingError, match="validation patients"):
        TrainingConfig(validation_fraction=0.0, vote_weights="validation")
    with pytest.raises(TrainingError, match="patient threshold"):
        TrainingConfig(patient_threshold="median")
    assert TrainingConfig().validation_fraction == 0.2 and TrainingConfig().vote_weights == "auto"


def test_named_validation_patients_replace_the_fraction(tmp_path: Path) -> None:
    from npc_desktop.core.models.bundle import load_bundle

    patch_set = load_patch_set(write_patch_set(tmp_path / "data", patients_per_class=4, patches_per_patient=2, seed=5))
    split = patch_set.split_by_fraction(seed=0)
    chosen = (split.train[0], split.train[-1])
    config = TrainingConfig(members=("basic_cnn",), input_sizes={"basic_cnn": 32}, basic_cnn_epochs=1,
                            augmented_copies=0, validation_patients=chosen)
    result = train_bundle(patch_set, split, tmp_path / "bundle", config=config, cache_dir=tmp_path / "cache")
    validation = load_bundle(result.bundle).manifest.calibration["validation"]
    assert validation["method"] == "patients" and validation["patients"] == sorted(chosen)
    outside = TrainingConfig(members=("basic_cnn",), input_sizes={"basic_cnn": 32}, validation_patients=(split.test[0],))
    with pytest.raises(TrainingError, match=f"validation patient {split.test[0]} is not a training patient"):
        train_bundle(patch_set, split, tmp_path / "other", config=outside, cache_dir=tmp_path / "cache")


def test_validation_folds_on_the_command_line_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from npc_desktop.cli.main import main

    data = write_patch_set(tmp_path / "data", patients_per_class=3, patches_per_patient=1)
    base = ["train", str(data), "-o", str(tmp_path / "b"), "--members", "basic_cnn", "--input-size", "32"]
    assert main([*base, "--validation-folds", "2"]) == 2
    assert "--validation-folds needs --fold-column" in capsys.readouterr().err
    assert main([*base, "--fold-column", "fold", "--test-folds", "1", "--validation-folds", "1"]) == 2
    assert "fold '1' is also a test fold" in capsys.readouterr().err
    assert main([*base, "--fold-column", "fold", "--test-folds", "1", "--validation-folds", "7"]) == 2
    assert "no training patient is in fold(s) 7" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
