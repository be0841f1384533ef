"""The report's TNM section as typed content: categories with their reasons, the measurements in
mm, the stage group with its chain of reasons, and its comparison with the ensemble.

Built from a :class:`~npc_desktop.core.tnm.assessment.TnmAssessment` by :mod:`.tnm_assemble` and
laid out by :mod:`.tnm_pdf`. Override notes are kept apart from the reasons so that the
de-identified variant can drop them (free text may identify the patient) and keep the rest.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Optional

NO_FORM_TEXT = "No TNM form is saved for this study: stage it in the TNM dock to add the TNM stage to the report."
NOTE_OMITTED = "note omitted in the de-identified copy"


@dataclass(frozen=True)
class CategoryOverride:
    """The clinician's override of one category.

    Attributes
    ----------
    category
        The category chosen (``"N3"``).
    derived
        What the evidence gave (``"N1"``), None when undetermined.
    note
        Why; None in the de-identified variant.
    """

    category: str
    derived: Optional[str]
    note: Optional[str]

    def text(self, axis: str) -> str:
        """One line: ``"N overridden to N3 by the clinician (derived: N1): note"``."""
        note = self.note.strip() if self.note is not None else NOTE_OMITTED
        return f"{axis} overridden to {self.category} by the clinician (derived: {self.derived or 'undetermined'}): {note}"


@dataclass(frozen=True)
class TnmCategory:
    """One axis of the TNM section.

    Attributes
    ----------
    axis
        ``"T"``, ``"N"`` or ``"M"``.
    value
        The category that counts (the override's if any); None when undetermined.
    reasons
        How it was derived, then its caveats (``"caveat: ..."``), one line each.
    override
        The clinician's override, or None.
    """

    axis: str
    value: Optional[str]
    reasons: tuple[str, ...]
    override: Optional[CategoryOverride] = None

    @property
    def lines(self) -> tuple[str, ...]:
        """The reasons followed by the override line, as the report prints them."""
        return self.reasons + ((self.override.text(self.axis),) if self.override is not None else ())


@dataclass(frozen=True)
class MeasurementRow:
    """One line of the measurement table.

    Attributes
    ----------
    what
        ``"Ruler 1"``, ``"node 2: long x short axis"``, ``"Cricoid level (caudal border)"``.
    series
        The series' name (replaced by a neutral one in the de-identified variant).
    image
        Where on the series: ``"slice 12/40"``.
    value
        The measurement in mm: ``"42.3 mm"``, ``"64.0 x 21.5 mm"``, ``"S -123.4 mm (patient axis)"``.
    """

    what: str
    series: str
    image: str
    value: str


@dataclass(frozen=True)
class TnmSection:
    """What the report's TNM section shows.

    Attributes
    ----------
    edition
        The edition's title (``"AJCC/UICC 8th edition"``).
    categories
        T, N and M in that order.
    stage
        The stage group (``"IVA"``), None when not staged.
    stage_reasons
        The stage group's chain of reasons (its table row or why there is none, and the
        provisional note when missing evidence could still raise it).
    measurements
        The study's rulers, node axes and cricoid level.
    comparison
        One line comparing the TNM stage with the ensemble (:func:`compare_with_ensemble`).
    discordant
        Whether that comparison is a discordance to highlight.
    """

    edition: str
    categories: tuple[TnmCategory, ...]
    stage: Optional[str]
    stage_reasons: tuple[str, ...]
    measurements: tuple[MeasurementRow, ...]
    comparison: str
    discordant: bool

    @property
    def categories_text(self) -> str:
        """``"T3 N3 M0"`` (``?`` for an undetermined axis)."""
        return " ".join(f"{c.value or c.axis + '?'}" for c in self.categories)

    def deidentified(self, series_names: Mapping[str, str]) -> "TnmSection":
        """The same section without override notes, series named as ``series_names`` maps them."""
        categories = tuple(
            dataclasses.replace(c, override=dataclasses.replace(c.override, note=None)) if c.override else c
            for c in self.categories
        )
        rows = tuple(dataclasses.replace(r, series=series_names.get(r.series, "Series")) for r in self.measurements)
        return dataclasses.replace(self, categories=categories, measurements=rows)
