"""Train/test splits by patient, never by patch.

Patches of one patient are strongly correlated (neighbouring slices, T1C and T2 of the same
lesion), so a patch-level split lets a model recognise the patient instead of the stage. Both
splitters here assign whole patients: :func:`split_patients` by a stratified fraction with a
recorded seed, :func:`split_by_folds` by a fold column such as a dataset author's own
cross-validation folds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

__all__ = [
    "SplitError",
    "TRAIN",
    "TEST",
    "PatientSplit",
    "split_patients",
    "split_by_folds",
    "patient_values",
]

TRAIN = "train"
TEST = "test"


class SplitError(ValueError):
    """A split cannot be made or would put one patient on both sides; the message says why."""


@dataclass(frozen=True)
class PatientSplit:
    """Which patients train and which test.

    Attributes
    ----------
    train, test
        Sorted patient identifiers; disjoint (checked on construction).
    method
        ``"fraction"`` or ``"folds"``.
    details
        How it was made: seed and fraction, or fold column and folds; JSON-ready.
    """

    train: tuple[str, ...]
    test: tuple[str, ...]
    method: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        both = sorted(set(self.train) & set(self.test))
        if both:
            raise SplitError(f"patient {both[0]} would be in both the training and the test set")
        object.__setattr__(self, "train", tuple(sorted(self.train)))
        object.__setattr__(self, "test", tuple(sorted(self.test)))

    def side(self, patient: str) -> Optional[str]:
        """``"train"``, ``"test"`` or None when the patient is in neither."""
        if patient in self._train_set:
            return TRAIN
        if patient in self._test_set:
            return TEST
        return None

    @property
    def _train_set(self) -> frozenset[str]:
        return frozenset(self.train)

    @property
    def _test_set(self) -> frozenset[str]:
        return frozenset(self.test)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for dataset and bundle provenance)."""
        return {
            "method": self.method,
            **self.details,
            "train_patients": len(self.train),
            "test_patients": len(self.test),
        }


def _test_count(n: int, train_fraction: float) -> int:
    if n < 2:
        return 0
    wanted = math.floor(n * (1.0 - train_fraction) + 0.5)
    return min(max(wanted, 1 if train_fraction < 1.0 else 0), n - 1 if train_fraction > 0.0 else n)


def split_patients(
    labels: Mapping[str, str], *, train_fraction: float = 0.8, seed: int = 0
) -> PatientSplit:
    """Split patients into train and test, stratified by label.

    Within each label the patients are shuffled with ``numpy.random.default_rng(seed)`` and
    ``round(n * (1 - train_fraction))`` of them go to the test set (at least one and at most
    ``n - 1`` when a label has two or more patients; a label with one patient trains).

    Parameters
    ----------
    labels
        Patient -> label (a stage or class name).
    train_fraction
        Share of each label's patients that train, in (0, 1]; 0.8 is the paper's 4:1.
    seed
        Seed of the shuffle, a whole number >= 0; the same labels and seed give the same split.

    Returns
    -------
    PatientSplit

    Raises
    ------
    SplitError
        If the fraction or the seed is out of range or there are no patients.
    """
    if not (isinstance(train_fraction, (int, float)) and 0.0 < train_fraction <= 1.0):
        raise SplitError(f"the train fraction must be in (0, 1], got {train_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SplitError(f"the seed must be a whole number >= 0, got {seed!r}")
    if not labels:
        raise SplitError("there are no patients to split")
    by_label: dict[str, list[str]] = defaultdict(list)
    for patient, label in labels.items():
        by_label[str(label)].append(str(patient))
    rng = np.random.default_rng(seed)
    train: list[str] = []
    test: list[str] = []
    for label in sorted(by_label):
        patients = sorted(by_label[label])
        order = rng.permutation(len(patients))
        count = _test_count(len(patients), float(train_fraction))
        test.extend(patients[i] for i in order[:count])
        train.extend(patients[i] for i in order[count:])
    return PatientSplit(
        tuple(train), tuple(test), "fraction",
        {"train_fraction": float(train_fraction), "seed": int(seed), "stratified_by": "label"},
    )


def patient_values(pairs: Iterable[tuple[str, str]], *, what: str) -> dict[str, str]:
    """Patient -> value from ``(patient, value)`` pairs, requiring one value per patient.

    Parameters
    ----------
    pairs
        One pair per patch, e.g. ``(patient, fold)``.
    what
        Name of the value in error messages (``"fold column 'cheng_cvind5fold'"``).

    Raises
    ------
    SplitError
        If a patient has two different values or a value is empty.
    """
    values: dict[str, str] = {}
    for patient, value in pairs:
        value = str(value).strip()
        if not value:
            raise SplitError(f"patient {patient} has an empty {what}")
        previous = values.setdefault(patient, value)
        if previous != value:
            raise SplitError(
                f"patient {patient} has patches with {what} {previous!r} and {value!r}; "
                "a patient-level split needs one value per patient"
            )
    return values


def split_by_folds(
    folds: Mapping[str, str],
    *,
    test_folds: Sequence[str],
    train_folds: Optional[Sequence[str]] = None,
    column: str = "fold",
) -> PatientSplit:
    """Split patients by a fold value: the test folds test, the train folds (default: all others) train.

    Parameters
    ----------
    folds
        Patient -> fold value (see :func:`patient_values`).
    test_folds
        Fold values that form the test set.
    train_folds
        Fold values that form the training set; every other fold by default. Patients in
        neither are left out.
    column
        Name of the fold column, recorded in the split's details.

    Raises
    ------
    SplitError
        If a named fold does not occur, the two lists overlap, or a side would be empty.
    """
    present = sorted(set(folds.values()))
    test_set = {str(f) for f in test_folds}
    if not test_set:
        raise SplitError("name at least one test fold")
    train_set = {str(f) for f in train_folds} if train_folds else set(present) - test_set
    for name, chosen in (("test", test_set), ("train", train_set)):
        missing = sorted(chosen - set(present))
        if missing:
            raise SplitError(
                f"{name} fold {missing[0]!r} does not occur in column {column!r} (it holds {', '.join(present)})"
            )
    overlap = sorted(test_set & train_set)
    if overlap:
        raise SplitError(f"fold {overlap[0]!r} is named both as a train and as a test fold")
    train = tuple(p for p, f in folds.items() if f in train_set)
    test = tuple(p for p, f in folds.items() if f in test_set)
    if not train or not test:
        raise SplitError(f"the folds of column {column!r} leave the {'training' if not train else 'test'} set empty")
    return PatientSplit(
        train, test, "folds",
        {"fold_column": column, "train_folds": sorted(train_set), "test_folds": sorted(test_set)},
    )
