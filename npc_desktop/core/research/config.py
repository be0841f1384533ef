"""Settings of a training run: the paper's recipe and its knobs, validated on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from npc_desktop.core.models.specs import ENSEMBLE_ARCHITECTURES, get_spec, normalise_input_size
from npc_desktop.core.research.augment import Augmentation

__all__ = ["TrainingError", "TrainingConfig", "display_name"]


class TrainingError(ValueError):
    """Training cannot start with these data or settings; the message says which."""


def display_name(architecture: str) -> str:
    """``"VGG16"``, ``"Basic CNN"``... for reports."""
    return get_spec(architecture).display_name


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """Settings of a training run (recorded in the bundle's provenance).

    Parameters
    ----------
    members
        Architectures to train; the Basic CNN is a baseline with vote weight 0 in the bundle.
    input_sizes
        Per architecture ``(rows, cols)`` or a side; native sizes otherwise.
    epochs
        Head epochs of the frozen-base members.
    basic_cnn_epochs
        Epochs of the Basic CNN (end to end).
    fine_tune_epochs, fine_tune_layers
        Optional fine-tuning of the top ``fine_tune_layers`` weighted layers of each base.
    batch_size, learning_rate, lr_decay
        Batch size 32, Adam 1e-4 and the scheduler's per-epoch factor.
    basic_cnn_learning_rate, fine_tune_learning_rate
        Adam's initial rate for those phases.
    augmentation, augmented_copies
        Transform ranges, and cached augmented copies per patch besides the original.
    seed
        Seeds initialisation, augmentation, shuffling and the validation split.
    weights
        ``"auto"`` (ImageNet from Keras' cache when present, else random), ``"imagenet"``
        (required) or ``"none"`` (random initialisation).
    dense_units, dropout
        The head's size and dropout rate.
    validation_fraction
        Share of the training patients held out, by patient and stratified by class, as validation
        patients (0: none). They never train a member; they give the validation curves and fit the
        temperatures, the vote weights and the patient threshold.
    balance_classes
        Weight the loss by inverse class frequency.
    validation_patients
        Named validation patients (say, those of validation folds); when given, they replace the
        ``validation_fraction`` hold-out. Each must be a training patient of the split.
    vote_weights
        ``"auto"`` (equal or validation, whichever has the lower cross-validated validation
        log-loss), ``"equal"`` (the paper's eq. 1) or ``"validation"`` (fitted on validation log-loss).
    patient_threshold
        ``"argmax"`` (the paper's eq. 2) or ``"validation"`` (two classes: tuned on validation patients).
    """

    members: tuple[str, ...] = (*ENSEMBLE_ARCHITECTURES, "basic_cnn")
    input_sizes: Mapping[str, Any] = field(default_factory=dict)
    epochs: int = 10
    basic_cnn_epochs: int = 30
    fine_tune_epochs: int = 0
    fine_tune_layers: int = 0
    batch_size: int = 32
    learning_rate: float = 1e-4
    basic_cnn_learning_rate: float = 1e-4
    fine_tune_learning_rate: float = 1e-5
    lr_decay: float = 0.95
    augmentation: Augmentation = Augmentation()
    augmented_copies: int = 4
    seed: int = 0
    weights: str = "auto"
    dense_units: int = 256
    dropout: float = 0.5
    validation_fraction: float = 0.2
    balance_classes: bool = False
    vote_weights: str = "auto"
    patient_threshold: str = "argmax"
    validation_patients: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.members:
            raise TrainingError("choose at least one member to train")
        for arch in self.members:
            get_spec(arch)
        if len(set(self.members)) != len(self.members):
            raise TrainingError(f"members are listed twice: {list(self.members)}")
        for name in ("epochs", "basic_cnn_epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise TrainingError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}")
        for name in ("fine_tune_epochs", "fine_tune_layers", "augmented_copies", "seed"):
            if int(getattr(self, name)) < 0:
                raise TrainingError(f"{name.replace('_', ' ')} must be >= 0, got {getattr(self, name)}")
        for name in ("learning_rate", "basic_cnn_learning_rate", "fine_tune_learning_rate", "lr_decay"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise TrainingError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if bool(self.fine_tune_epochs) != bool(self.fine_tune_layers):
            raise TrainingError("fine-tuning needs both fine_tune_epochs and fine_tune_layers above 0")
        if self.weights not in ("auto", "imagenet", "none"):
            raise TrainingError(f"weights must be 'auto', 'imagenet' or 'none', got {self.weights!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise TrainingError(f"the validation fraction must be in [0, 1), got {self.validation_fraction}")
        if self.vote_weights not in ("auto", "equal", "validation"):
            raise TrainingError(f"vote weights must be 'auto', 'equal' or 'validation', got {self.vote_weights!r}")
        if self.patient_threshold not in ("argmax", "validation"):
            raise TrainingError(f"the patient threshold must be 'argmax' or 'validation', got {self.patient_threshold!r}")
        object.__setattr__(self, "validation_patients", tuple(sorted(set(self.validation_patients))))
        if self.validation_fraction == 0 and not self.validation_patients and "validation" in (self.vote_weights, self.patient_threshold):
            raise TrainingError("validation vote weights or patient threshold need validation patients: "
                                "set a validation fraction above 0")
        for arch in self.input_sizes:
            if arch not in self.members:
                raise TrainingError(f"an input size is given for {arch}, which is not among the members")
        for arch in self.members:
            self.size_for(arch)

    def size_for(self, arch: str) -> tuple[int, int]:
        """The input size of a member (validated against the architecture's minimum)."""
        return normalise_input_size(arch, self.input_sizes.get(arch))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "members": list(self.members),
            "input_sizes": {a: list(self.size_for(a)) for a in self.members},
            "epochs": self.epochs, "basic_cnn_epochs": self.basic_cnn_epochs,
            "fine_tune_epochs": self.fine_tune_epochs, "fine_tune_layers": self.fine_tune_layers,
            "batch_size": self.batch_size, "learning_rate": self.learning_rate,
            "basic_cnn_learning_rate": self.basic_cnn_learning_rate,
            "fine_tune_learning_rate": self.fine_tune_learning_rate, "lr_decay": self.lr_decay,
            "lr_schedule": "LearningRateScheduler: lr * lr_decay ** epoch", "optimizer": "Adam",
            "loss": "categorical cross-entropy on the softmax (= binary cross-entropy for two classes)",
            "augmentation": self.augmentation.to_dict(), "augmented_copies": self.augmented_copies,
            "seed": self.seed, "weights": self.weights, "dense_units": self.dense_units, "dropout": self.dropout,
            "validation_fraction": self.validation_fraction, "balance_classes": self.balance_classes,
            "vote_weights": self.vote_weights, "patient_threshold": self.patient_threshold,
            "validation_patients": list(self.validation_patients),
        }
