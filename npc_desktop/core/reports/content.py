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

from npc_desktop.core.reports.tnm_content import TnmSection

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
        if self.logo_path is not None:
            if not Path(self.logo_path).is_file():
                raise ReportContentError(f"institution logo {self.logo_path}: no such file")
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(self.logo_path) as logo:
                    logo.verify()
            except (OSError, UnidentifiedImageError, SyntaxError) as exc:
                raise ReportContentError(
                    f"institution logo {self.logo_path}: not a PNG or JPEG image ({exc.__class__.__name__})"
                ) from None


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
    series: str
    """The series' name, replaced by a neutral one in the de-identified variant."""
    detail: str
    """The rest of the caption: slice, kinds, probability (no identifiers)."""

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3 or self.rgb.dtype != np.uint8:
            raise ReportContentError(
                f"key image '{self.caption}': expected an RGB uint8 array, got {self.rgb.dtype} {self.rgb.shape}"
            )

    @property
    def caption(self) -> str:
        """The caption under the image."""
        return f"{self.series}, {self.detail}" if self.series else self.detail


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

    series: str
    """The series' name (neutral in the de-identified variant)."""
    detail: str
    """Slice and kind, e.g. "s12 tumour"."""
    member_probabilities: dict[str, tuple[float, ...]]
    """Per member display name, the class-probability vector."""
    ensemble_probabilities: tuple[float, ...]

    @property
    def label(self) -> str:
        """Short name shown in the table, e.g. "T1C s12 tumour"."""
        return f"{self.series} {self.detail}".strip()


@dataclass(frozen=True)
class ModelDetails:
    """The model bundle that produced the result."""

    name: str
    version: str
    sha256: str
    members: tuple[str, ...]
    validation_metrics: dict[str, float] = field(default_factory=dict)
    untrained_demo: bool = False
    calibration: tuple[str, ...] = ()
    """How the bundle calibrates and weights its members (:func:`.calibration.describe_calibration`)."""
    device: str = ""
    """Runtime and device that ran the models (``"CPU: ONNX Runtime 1.20.1, CPUExecutionProvider, 2 threads"``)."""


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
    non_voting: tuple[str, ...] = ()
    """Members shown for comparison that do not vote (vote weight 0, e.g. the Basic CNN baseline)."""
    tnm: Optional[TnmSection] = None
    """The TNM section; None when the study has no saved TNM form (the report says so)."""

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
        """(voting members whose patient-level class is the ensemble's, number of voting members)."""
        winner = int(np.argmax(self.patient_probabilities))
        votes = [int(np.argmax(p)) for name, p in self.patient_member_probabilities.items()
                 if name not in self.non_voting]
        return sum(v == winner for v in votes), len(votes)

    def deidentified(self, pseudonym: str = "ANONYMOUS") -> "ReportContent":
        """The same report without identifiers or free text that may hold them.

        Patient name, ID, birth date, accession number, dates and UIDs go; so do the free-text
        fields a person typed (study and series descriptions, the clinician's note and name, the
        notes of TNM overrides), which often carry names or dates. Series are named by their
        order ("Series 1"). The TNM categories, stage, reasons and measurements stay.

        Parameters
        ----------
        pseudonym
            Shown in place of the patient's name and ID.
        """
        patient = PatientDetails(name=pseudonym, patient_id=pseudonym, sex=self.patient.sex)
        neutral = {s.description: f"Series {k}" for k, s in enumerate(self.series, start=1)}
        series = tuple(dataclasses.replace(s, description=neutral[s.description]) for s in self.series)
        patches = tuple(dataclasses.replace(r, series=neutral.get(r.series, "Series")) for r in self.patches)
        images = tuple(dataclasses.replace(k, series=neutral.get(k.series, "Series")) for k in self.key_images)
        sign_off = SignOff(clinician_stage=self.sign_off.clinician_stage)
        tnm = self.tnm.deidentified(neutral) if self.tnm is not None else None
        return dataclasses.replace(self, patient=patient, series=series, patches=patches, key_images=images,
                                   sign_off=sign_off, tnm=tnm, deidentified_variant=True)
