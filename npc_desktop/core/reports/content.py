"""What a staging report says, as small typed objects that validate themselves.

The PDF writer (:mod:`.pdf`) only lays these out; building them from a staging result, an
annotation set and the loaded series is :mod:`.assemble`'s job. Keeping the content apart from the
layout lets the tests check the numbers without parsing a PDF, and lets the de-identified variant be
made by one function (:meth:`ReportContent.deidentified`) rather than by the layout code.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

UNTRAINED_BANNER = "UNTRAINED DEMO - not a prediction"
DISCLAIMER = (
    "This result is produced by a machine-learning ensemble and supports the clinician's decision. "
    "It does not replace the clinical TNM assessment (AJCC/UICC) by the treating team, which remains "
    "the basis of staging and treatment."
)


class ReportContentError(ValueError):
    """A report field is missing or inconsistent; the message names the field."""


@dataclass(frozen=True)
class Institution:
    """The report header: who issues it."""

    name: str = "NPC Desktop"
    department: str = ""
    logo_path: Optional[Path] = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ReportContentError("institution name: must not be empty")
        if self.logo_path is not None and not Path(self.logo_path).is_file():
            raise ReportContentError(f"institution logo {self.logo_path}: no such file")


@dataclass(frozen=True)
class PatientDetails:
    """Patient and study identity as the DICOM headers give them."""

    name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_description: str = ""
    accession_number: str = ""
    study_instance_uid: str = ""
    study_time: str = ""
    study_id: str = ""
    referring_physician: str = ""


@dataclass(frozen=True)
class SeriesUsed:
    """One series whose slices were staged."""

    description: str
    modality: str
    series_number: Optional[int]
    slice_count: int
    patch_count: int


@dataclass(frozen=True)
class KeyImage:
    """A rendered slice (RGB uint8) with the ROIs and the Grad-CAM overlay burnt in."""

    rgb: np.ndarray
    caption: str

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ReportContentError(
                f"key image '{self.caption}': expected an RGB uint8 array, got {self.rgb.dtype} {self.rgb.shape}"
            )


def _check_probabilities(where: str, values: Sequence[float], n_classes: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if len(values) != n_classes:
        raise ReportContentError(f"{where}: {len(values)} probabilities for {n_classes} classes")
    if any(not math.isfinite(v) or v < 0.0 or v > 1.0 for v in values):
        raise ReportContentError(f"{where}: probabilities must lie in [0, 1], got {values}")
    if abs(sum(values) - 1.0) > 1e-3:
        raise ReportContentError(f"{where}: probabilities sum to {sum(values):.4f}, not 1")
    return values


@dataclass(frozen=True)
class PatchRow:
    """One patch's line of the probability table."""

    label: str
    """Short name shown in the table, e.g. "T1C s12 tumour"."""
    member_probabilities: dict[str, tuple[float, ...]]
    """Per member display name, the class-probability vector."""
    ensemble_probabilities: tuple[float, ...]


@dataclass(frozen=True)
class ModelDetails:
    """The model bundle that produced the result."""

    name: str
    version: str
    sha256: str
    members: tuple[str, ...]
    validation_metrics: dict[str, float] = field(default_factory=dict)
    untrained_demo: bool = False


@dataclass(frozen=True)
class SignOff:
    """The clinician's part."""

    reviewer: str = ""
    note: str = ""
    clinician_stage: str = ""
    """The stage the clinician recorded in the annotation label, if any."""


@dataclass(frozen=True)
class ReportContent:
    """Everything one staging report shows.

    Raises
    ------
    ReportContentError
        When the probabilities do not match the class names or do not sum to one, or when
        the patient-level class is not one of the class names.
    """

    institution: Institution
    patient: PatientDetails
    series: tuple[SeriesUsed, ...]
    class_names: tuple[str, ...]
    patches: tuple[PatchRow, ...]
    patient_probabilities: tuple[float, ...]
    patient_member_probabilities: dict[str, tuple[float, ...]]
    model: ModelDetails
    sign_off: SignOff
    key_images: tuple[KeyImage, ...] = ()
    created: datetime = field(default_factory=lambda: datetime.now().astimezone())
    aggregation: str = "mean of the patch probabilities"
    deidentified_variant: bool = False

    def __post_init__(self) -> None:
        n = len(self.class_names)
        if n < 2:
            raise ReportContentError(f"class names: need at least two, got {self.class_names}")
        if not self.patches:
            raise ReportContentError("patches: a report needs at least one staged patch")
        for row in self.patches:
            _check_probabilities(f"patch {row.label}: ensemble", row.ensemble_probabilities, n)
            for member, probs in row.member_probabilities.items():
                _check_probabilities(f"patch {row.label}: {member}", probs, n)
        _check_probabilities("patient", self.patient_probabilities, n)
        for member, probs in self.patient_member_probabilities.items():
            _check_probabilities(f"patient: {member}", probs, n)

    @property
    def untrained(self) -> bool:
        """True when the untrained demo bundle produced the result."""
        return self.model.untrained_demo

    @property
    def stage(self) -> str:
        """The patient-level class: argmax of the patient probabilities (paper eq. 2)."""
        return self.class_names[int(np.argmax(self.patient_probabilities))]

    @property
    def stage_probability(self) -> float:
        """The patient-level probability of :attr:`stage`."""
        return float(max(self.patient_probabilities))

    @property
    def agreement(self) -> tuple[int, int]:
        """(members voting for the patient-level class, number of members)."""
        winner = int(np.argmax(self.patient_probabilities))
        votes = [int(np.argmax(p)) for p in self.patient_member_probabilities.values()]
        return sum(v == winner for v in votes), len(votes)

    def deidentified(self, pseudonym: str = "ANONYMOUS") -> "ReportContent":
        """The same report without patient name, ID, birth date, accession number or UIDs.

        Parameters
        ----------
        pseudonym
            Shown in place of the patient's name and ID.
        """
        patient = PatientDetails(
            name=pseudonym,
            patient_id=pseudonym,
            sex=self.patient.sex,
            study_description=self.patient.study_description,
        )
        return dataclasses.replace(self, patient=patient, deidentified_variant=True)
