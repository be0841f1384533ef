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
