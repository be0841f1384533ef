"""One worklist row: a patient's study with its series roles and where its annotation work stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

__all__ = ["FILTERS", "SeriesEntry", "WorklistRow", "matches", "progress_summary"]

FILTERS: tuple[str, ...] = ("unlabelled", "unstaged", "discordant")
"""Filter names of the worklist and of ``npc-desktop cohort list --filter``."""


@dataclass(frozen=True)
class SeriesEntry:
    """One image series of a row."""

    series_uid: str
    description: str
    role: str
    role_reason: str
    role_by_hand: bool
    images: int
    folder: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"series_uid": self.series_uid, "description": self.description, "role": self.role,
                "role_reason": self.role_reason, "role_by_hand": self.role_by_hand, "images": self.images,
                "folder": self.folder}


@dataclass
class WorklistRow:
    """A patient's study and where its work stands (ROIs, label, TNM, staging).

    ``label`` is the reviewer's stage (``"III"``/``"IVa"``), None when unlabelled. ``staged`` says
    a staging result is stored; ``stale`` that the ROIs changed since. ``discordant`` compares the
    ensemble's class with the label and with the TNM stage group.
    """

    key: str
    patient_id: str
    patient_name: str
    pseudonym: str
    study_uid: str
    study_date: str
    study_description: str
    folder: str
    series: tuple[SeriesEntry, ...] = ()
    tumours: int = 0
    nodes: int = 0
    measurements: int = 0
    label: Optional[str] = None
    tnm_stage: Optional[str] = None
    staged: bool = False
    bundle_name: str = ""
    bundle_hash: str = ""
    ensemble_class: Optional[str] = None
    stale: bool = False
    reviewer: str = ""
    last_edit: Optional[datetime] = None
    discordant: bool = False
    discordance: str = ""
    roi_slices: dict[str, str] = field(default_factory=dict)
    focus_roi: Optional[str] = None
    annotation_file: Optional[Path] = None
    problems: list[str] = field(default_factory=list)

    def series_with_role(self, role: str) -> Optional[SeriesEntry]:
        """The first series of ``role`` (``"T1C"``, ``"T2"``), or None."""
        return next((s for s in self.series if s.role == role), None)

    @property
    def t1c(self) -> Optional[SeriesEntry]:
        """The contrast T1 series, or None."""
        return self.series_with_role("T1C")

    @property
    def t2(self) -> Optional[SeriesEntry]:
        """The T2 series, or None."""
        return self.series_with_role("T2")

    @property
    def labelled(self) -> bool:
        """Whether the reviewer gave a stage."""
        return self.label is not None

    @property
    def needs_staging(self) -> bool:
        """No stored result, or one computed on other ROIs."""
        return not self.staged or self.stale

    def display_name(self, *, real_names: bool) -> str:
        """The patient's name, or the pseudonym."""
        return (self.patient_name or "(no name)") if real_names else self.pseudonym

    def to_dict(self, *, real_names: bool = False) -> dict[str, Any]:
        """A JSON-ready form; the patient's name and ID only when ``real_names``."""
        data: dict[str, Any] = {
            "key": self.key if real_names else self.pseudonym, "patient": self.display_name(real_names=real_names),
            "study_uid": self.study_uid, "study_date": self.study_date, "folder": self.folder,
            "t1c": self.t1c is not None, "t2": self.t2 is not None, "series": [s.to_dict() for s in self.series],
            "tumours": self.tumours, "nodes": self.nodes, "measurements": self.measurements,
            "label": self.label, "tnm_stage": self.tnm_stage, "staged": self.staged,
            "bundle_name": self.bundle_name, "bundle_sha256": self.bundle_hash,
            "ensemble_class": self.ensemble_class, "stale": self.stale, "reviewer": self.reviewer,
            "last_edit": self.last_edit.isoformat(timespec="seconds") if self.last_edit else None,
            "discordant": self.discordant, "discordance": self.discordance, "problems": list(self.problems),
        }
        if real_names:
            data["patient_id"] = self.patient_id
        return data


def matches(row: WorklistRow, name: Optional[str]) -> bool:
    """Whether ``row`` passes the filter ``name`` (one of :data:`FILTERS`, or None for all).

    Raises
    ------
    ValueError
        For an unknown filter name.
    """
    if name is None or name == "all":
        return True
    if name == "unlabelled":
        return not row.labelled
    if name == "unstaged":
        return row.needs_staging
    if name == "discordant":
        return row.discordant
    raise ValueError(f"filter {name!r}: choose one of {', '.join(FILTERS)}")


def progress_summary(rows: list[WorklistRow]) -> str:
    """``"38 of 200 labelled, 12 staged (3 stale), 2 discordant"``."""
    total = len(rows)
    labelled = sum(r.labelled for r in rows)
    staged = sum(r.staged for r in rows)
    stale = sum(r.staged and r.stale for r in rows)
    discordant = sum(r.discordant for r in rows)
    stale_text = f" ({stale} stale)" if stale else ""
    return f"{labelled} of {total} labelled, {staged} staged{stale_text}, {discordant} discordant"
