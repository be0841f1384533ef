"""Training one ensemble member: frozen base, new head on cached features, saved weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from npc_desktop.core.models.specs import get_spec
from npc_desktop.core.models.voting import calibrated_probabilities
from npc_desktop.core.progress import CancelToken
from npc_desktop.core.research.augment import augment_inputs
from npc_desktop.core.research.checkpoint import PhaseCheckpoint
from npc_desktop.core.research.config import TrainingConfig, TrainingError, display_name
from npc_desktop.core.research.features import cache_for, input_keys
from npc_desktop.core.research.fitting import Tracker, epoch_maker, fit_epochs, unfreeze_top
from npc_desktop.core.research.patchset import SIXTEEN_BIT_PREPROCESSING, PatchRecord, PatchSet
from npc_desktop.core.research.predict import (
    compiled_call,
    grey_inputs,
    head_logits_model,
    logits_model,
    predict_grey,
    three_channels,
)
from npc_desktop.core.research.splits import PatientSplit, split_patients

Log = Callable[[str], None]


@dataclass
class MemberResult:
    """How one member was trained."""

    name: str
    architecture: str
    input_size: tuple[int, int]
    initialisation: str
    history: dict[str, list[float]]
    seconds: float
    feature_seconds: float = 0.0
    resumed: bool = False
    test_probabilities: Optional[np.ndarray] = None
    test_logits: Optional[np.ndarray] = None
    val_logits: Optional[np.ndarray] = None


# --------------------------------------------------------------------------------------------------
# One member


@dataclass
class _Data:
    class_names: tuple[str, ...]
    train: Sequence[PatchRecord]
    test: Sequence[PatchRecord]
    val: Sequence[PatchRecord]
    images: dict[str, list[np.ndarray]]
    labels: dict[str, np.ndarray]

    def onehot(self, side: str) -> np.ndarray:
        return np.eye(len(self.class_names), dtype=np.float32)[self.labels[side]]


def _initial_weights(arch: str, config: TrainingConfig, notes: list[str]) -> tuple[Optional[str], str]:
    from npc_desktop.core.models.architectures import imagenet_weights_path

    if get_spec(arch).application is None or config.weights == "none":
        return None, "random"
    path = imagenet_weights_path(arch)
    if config.weights == "imagenet" or path.is_file():
        return "imagenet", "imagenet"
    notes.append(f"{display_name(arch)}: random initialisation (ImageNet weights {path.name} not in {path.parent})")
    return None, "random"


def _train_member(
    index: int, arch: str, data: _Data, config: TrainingConfig, *, work: Path, cache_dir: Path,
    strategy: Any, tracker: Tracker, log: Log, notes: list[str], cancel: Optional[CancelToken], data_hash: str,
) -> tuple[Any, MemberResult]:
    import keras

    from npc_desktop.core.models.architectures import build_member, custom_objects, member_parts

    size = config.size_for(arch)
    weights, initialisation = _initial_weights(arch, config, notes)
    member_hash = hashlib.sha256(json.dumps([data_hash, config.to_dict(), arch, index]).encode()).hexdigest()
    folder = work / arch
    done_file = folder / "done.json"
    started = time.perf_counter()
    grey = {side: grey_inputs(data.images[side], size) for side in ("train", "test", "val")}
    if done_file.is_file():
        done = json.loads(done_file.read_text(encoding="utf-8"))
        if done.get("hash") == member_hash and (folder / "member.keras").is_file():
            model = keras.saving.load_model(str(folder / "member.keras"), custom_objects=custom_objects(),
                                            compile=False, safe_mode=True)
            tracker.step(done.get("steps", 0))
            test_logits, val_logits = _full_logits(model, size, grey, data, cancel)
            log(f"{display_name(arch)}: finished earlier, loaded from {folder / 'member.keras'}")
            return model, MemberResult(arch, arch, size, done["initialisation"], done["history"],
                                       done["seconds"], done.get("feature_seconds", 0.0), True,
                                       _softmax(test_logits), test_logits, val_logits)
    with strategy.scope():
        model = build_member(arch, input_size=size, class_names=data.class_names, weights=weights,
                             dense_units=config.dense_units, dropout=config.dropout, seed=config.seed + index)
    class_weight = None
    if config.balance_classes:
        counts = np.bincount(data.labels["train"], minlength=len(data.class_names))
        class_weight = {k: float(len(data.labels["train"]) / (len(counts) * max(c, 1))) for k, c in enumerate(counts)}
    steps = 0

    def on_epoch(phase: str, total: int) -> Callable[[int, dict[str, float]], None]:
        def report(epoch: int, logs: dict[str, float]) -> None:
            nonlocal steps
            steps += 1
            tracker.step()
            shown = ", ".join(f"{k} {v:.4f}" for k, v in logs.items() if k != "learning_rate")
            log(f"{display_name(arch)} {phase}: epoch {epoch + 1}/{total}: {shown}")
        return report

    keys = input_keys(grey["train"])
    validation_images = three_channels(grey["val"]) if len(data.val) else None
    history: dict[str, list[float]] = {}
    feature_seconds = 0.0
    resumed = False
    logits: Optional[tuple[np.ndarray, np.ndarray]] = None
    if get_spec(arch).application is None:
        augment = lambda epoch: three_channels(augment_inputs(  # noqa: E731
            grey["train"], keys, augmentation=config.augmentation, seed=config.seed, copy=epoch + 1))
        history, resumed = fit_epochs(
            model, epoch_maker(grey["train"], data.onehot("train"), config.seed, augment=augment),
            epochs=config.basic_cnn_epochs, learning_rate=config.basic_cnn_learning_rate, config=config,
            checkpoint=PhaseCheckpoint(folder / "train", member_hash), strategy=strategy,
            validation=(validation_images, data.onehot("val")) if validation_images is not None else None,
            class_weight=class_weight, on_epoch=on_epoch("end to end", config.basic_cnn_epochs), cancel=cancel,
        )
    else:
        parts = member_parts(model)
        cache = cache_for(cache_dir, arch, size, parts.features, config.augmentation, config.seed)
        extract = compiled_call(parts.features, (*size, 3))
        copies = 1 + config.augmented_copies
        feature_started = time.perf_counter()
        log(f"{display_name(arch)}: base features of {len(keys)} patches x {copies} copies "
            f"({cache.missing(keys, copies)} to compute, the rest cached)")

        train_features = cache.features(grey["train"], keys, copies, extract, batch_size=config.batch_size,
                                        cancel=cancel)
        tracker.step(1)
        test_features = (cache.features(grey["test"], input_keys(grey["test"]), 1, extract, cancel=cancel)[0]
                         if len(data.test) else np.zeros((0, parts.feature_dim), np.float32))
        val_features = (cache.features(grey["val"], input_keys(grey["val"]), 1, extract, cancel=cancel)[0]
                        if len(data.val) else None)
        feature_seconds = time.perf_counter() - feature_started
        x = train_features.reshape(-1, parts.feature_dim)
        y = np.tile(data.onehot("train"), (copies, 1))
        history, resumed = fit_epochs(
            parts.head, epoch_maker(x, y, config.seed), epochs=config.epochs,
            learning_rate=config.learning_rate, config=config,
            checkpoint=PhaseCheckpoint(folder / "head", member_hash), strategy=strategy,
            validation=(val_features, data.onehot("val")) if val_features is not None else None,
            class_weight=class_weight, on_epoch=on_epoch("head", config.epochs), cancel=cancel,
        )
        if config.fine_tune_epochs and config.fine_tune_layers:
            unfreeze_top(model, config.fine_tune_layers)
            augment = lambda epoch: three_channels(augment_inputs(  # noqa: E731
                grey["train"], keys, augmentation=config.augmentation, seed=config.seed, copy=epoch + 1))
            tuned, _ = fit_epochs(
                model, epoch_maker(grey["train"], data.onehot("train"), config.seed, augment=augment),
                epochs=config.fine_tune_epochs, learning_rate=config.fine_tune_learning_rate, config=config,
                checkpoint=PhaseCheckpoint(folder / "fine_tune", member_hash), strategy=strategy,
                validation=(validation_images, data.onehot("val")) if validation_images is not None else None,
                class_weight=class_weight, on_epoch=on_epoch("fine-tuning", config.fine_tune_epochs), cancel=cancel,
            )
            history = {k: history.get(k, []) + tuned.get(k, []) for k in set(history) | set(tuned)}
        else:
            head_call = compiled_call(head_logits_model(parts.head, parts.feature_dim), (parts.feature_dim,))
            empty = np.zeros((0, len(data.class_names)), np.float32)
            logits = (head_call(test_features) if len(test_features) else empty,
                      head_call(val_features) if val_features is not None else empty)
    if logits is None:
        logits = _full_logits(model, size, grey, data, cancel)
    seconds = time.perf_counter() - started
    _save_member(model, folder, {
        "hash": member_hash, "initialisation": initialisation, "history": history, "seconds": seconds,
        "feature_seconds": feature_seconds, "steps": steps + (0 if get_spec(arch).application is None else 1),
    })
    return model, MemberResult(arch, arch, size, initialisation, history, seconds, feature_seconds, resumed,
                               _softmax(logits[0]), logits[0], logits[1])


def _softmax(logits: np.ndarray) -> np.ndarray:
    return calibrated_probabilities(np.asarray(logits)[None])[0] if len(logits) else np.asarray(logits, np.float64)


def _full_logits(
    model: Any, size: tuple[int, int], grey: dict[str, np.ndarray], data: _Data, cancel: Optional[CancelToken]
) -> tuple[np.ndarray, np.ndarray]:
    """Test and validation logits through the whole member."""
    call = compiled_call(logits_model(model), (*size, 3))
    empty = np.zeros((0, len(data.class_names)), np.float32)
    return tuple(  # type: ignore[return-value]
        predict_grey(call, grey[side], cancel=cancel) if len(grey[side]) else empty for side in ("test", "val"))


def _save_member(model: Any, folder: Path, done: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "member.tmp.keras"
    model.save(str(temporary))
    os.replace(temporary, folder / "member.keras")
    (folder / "done.tmp.json").write_text(json.dumps(done), encoding="utf-8")
    os.replace(folder / "done.tmp.json", folder / "done.json")
    for phase in ("head", "train", "fine_tune"):
        PhaseCheckpoint(folder / phase, "").clear()


# --------------------------------------------------------------------------------------------------
# The run


def _prepare_data(
    patch_set: PatchSet, split: PatientSplit, config: TrainingConfig, log: Log, cancel: Optional[CancelToken],
    notes: list[str],
) -> _Data:
    train = patch_set.subset(split.train)
    test = patch_set.subset(split.test)
    val: tuple[PatchRecord, ...] = ()
    if config.validation_patients:
        outside = sorted(set(config.validation_patients) - set(split.train))
        if outside:
            raise TrainingError(f"validation patient {outside[0]} is not a training patient of the split")
        val = patch_set.subset(config.validation_patients)
        train = patch_set.subset(sorted(set(split.train) - set(config.validation_patients)))
    elif config.validation_fraction > 0:
        train_patients = set(split.train)
        labels = {p: label for p, label in patch_set.patients().items() if p in train_patients}
        if labels:
            held = split_patients(labels, train_fraction=1.0 - config.validation_fraction, seed=config.seed + 1)
            val = patch_set.subset(held.test)
            train = patch_set.subset(held.train)
    missing = [name for name, c in patch_set.counts(train).items() if c["patches"] == 0]
    if missing:
        counts, tested = patch_set.counts()[missing[0]], patch_set.counts(test)[missing[0]]
        held_out = " after holding out validation patients" if config.validation_fraction > 0 else ""
        raise TrainingError(
            f"{patch_set.root}: the training split has no patches of class {missing[0]!r}{held_out} "
            f"({counts['patients']} patients of that class, {tested['patients']} of them in the test split); "
            "every class needs at least one training patient"
        )
    if not test:
        notes.append("the test split is empty: the bundle is trained but not evaluated "
                     "(a split by fraction tests only classes with at least 2 patients)")
    if config.validation_fraction > 0 and not val:
        notes.append(f"no validation patients (validation fraction {config.validation_fraction:g}): each class "
                     "needs at least 2 training patients to hold one out; trained without validation curves")
    images = {}
    for side, records in (("train", train), ("test", test), ("val", val)):
        log(f"reading {len(records)} {side} patches")
        images[side] = patch_set.load_images(records, cancel=cancel)
    labels = {side: patch_set.label_indices(records) for side, records in (("train", train), ("test", test), ("val", val))}
    return _Data(patch_set.class_names, train, test, val, images, labels)


def _patch_pipeline(patch_set: PatchSet) -> dict[str, Any]:
    export = patch_set.description.get("export")
    if export and "preprocessing" in export:
        return {"margin": export.get("margin"), "preprocessing": export["preprocessing"]}
    margins = {r.fields.get("margin", "") for r in patch_set.records}
    try:
        fraction = float(margins.pop()) if len(margins) == 1 else 0.2
    except ValueError:
        fraction = 0.2
    return {"margin": {"fraction": fraction, "mm": 0.0}, "preprocessing": SIXTEEN_BIT_PREPROCESSING.to_dict()}
