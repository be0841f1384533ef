"""The patient's stage label: the clinician's stage, reviewer and note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Optional

from npc_desktop.core.annotation.validation import (
    _MAX_NAME,
    _MAX_TEXT,
    AnnotationError,
    _check_enum,
    _check_text,
    _check_time,
    _exact_keys,
    _format_time,
    _parse_time,
    _set,
    utc_now,
)


class Stage(str, Enum):
    """The patient-level stage label (the ensemble's two classes, or not yet decided)."""

    III = "III"
    IVA = "IVa"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class PatientLabel:
    """The stage a reviewer assigned to the patient of a study.

    Parameters
    ----------
    stage
        :class:`Stage` or its value (``"III"``, ``"IVa"``, ``"unknown"``).
    reviewer
        Who assigned it (user name or initials); optional.
    note
        Free text for the reviewer; it must not contain patient identifiers.
    modified
        When the label was last set (timezone-aware).
    """

    stage: Stage = Stage.UNKNOWN
    reviewer: Optional[str] = None
    note: str = ""
    modified: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        _set(self, "stage", _check_enum("stage", Stage, self.stage))
        _check_text("reviewer", self.reviewer, _MAX_NAME, optional=True)
        _check_text("note", self.note, _MAX_TEXT, optional=False)
        _set(self, "modified", _check_time("modified", self.modified))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return {
            "stage": self.stage.value,
            "reviewer": self.reviewer,
            "note": self.note,
            "modified": _format_time(self.modified),
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "label") -> "PatientLabel":
        """Rebuild a label from :meth:`to_dict` output, strictly.

        Raises
        ------
        AnnotationError
            Naming the missing, unknown or invalid field.
        """
        fields = _exact_keys(data, frozenset(("stage", "reviewer", "note", "modified")), where)
        try:
            return cls(
                stage=fields["stage"],
                reviewer=fields["reviewer"],
                note=fields["note"],
                modified=_parse_time("modified", fields["modified"]),
            )
        except AnnotationError as exc:
            raise exc.within(where) from None
