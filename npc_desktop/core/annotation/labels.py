"""The patient's stage label: the clinician's stage, reviewer and note, and where the stage came from.

A stage the clinician chose by hand has no ``source``. A stage filled from the study's TNM stage
group records it as ``"tnm:<stage group>"`` (``"tnm:IVA"``), so a dataset built from the labels
can tell the two apart. The source is written only when there is one: annotation files of
schema 3 without it still load, and a label without a source is written as before.
"""

from __future__ import annotations

import re
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

TNM_SOURCE_PREFIX = "tnm:"
"""The source of a stage filled from the TNM stage group: this prefix and the group (``"tnm:IVA"``)."""
_SOURCE_RE = re.compile(r"^tnm:[A-Z0-9]{1,8}$")


def tnm_source(stage_group: str) -> str:
    """The label source of a stage filled from TNM stage group ``stage_group`` (``"IVA"`` -> ``"tnm:IVA"``).

    Raises
    ------
    AnnotationError
        Naming ``source`` when ``stage_group`` is not a stage group's name (1 to 8 letters or digits).
    """
    source = f"{TNM_SOURCE_PREFIX}{stage_group}"
    _check_source(source)
    return source


def _check_source(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or not _SOURCE_RE.match(value):
        raise AnnotationError("source", f"{value!r} is not null or 'tnm:' followed by a stage group such as 'tnm:IVA'")
    return value


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
    source
        Where the stage came from: None for the clinician's own choice, ``"tnm:<stage group>"``
        (see :func:`tnm_source`) when it was filled from the TNM stage group.
    """

    stage: Stage = Stage.UNKNOWN
    reviewer: Optional[str] = None
    note: str = ""
    modified: datetime = field(default_factory=utc_now)
    source: Optional[str] = None

    def __post_init__(self) -> None:
        _set(self, "stage", _check_enum("stage", Stage, self.stage))
        _check_text("reviewer", self.reviewer, _MAX_NAME, optional=True)
        _check_text("note", self.note, _MAX_TEXT, optional=False)
        _set(self, "modified", _check_time("modified", self.modified))
        _check_source(self.source)
        if self.source is not None and self.tnm_stage.casefold() != self.stage.value.casefold():  # type: ignore[union-attr]
            raise AnnotationError("source", f"{self.source!r} does not match the stage {self.stage.value!r}: "
                                            "a stage filled from TNM is that stage group")

    @property
    def tnm_stage(self) -> Optional[str]:
        """The TNM stage group the stage was filled from (``"IVA"``), None for a stage chosen by hand."""
        return None if self.source is None else self.source[len(TNM_SOURCE_PREFIX):]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (``source`` only when there is one)."""
        data: dict[str, Any] = {
            "stage": self.stage.value,
            "reviewer": self.reviewer,
            "note": self.note,
            "modified": _format_time(self.modified),
        }
        if self.source is not None:
            data["source"] = self.source
        return data

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "label") -> "PatientLabel":
        """Rebuild a label from :meth:`to_dict` output, strictly.

        Raises
        ------
        AnnotationError
            Naming the missing, unknown or invalid field.
        """
        fields = _exact_keys(data, frozenset(("stage", "reviewer", "note", "modified")), where,
                             optional=frozenset(("source",)))
        try:
            return cls(
                stage=fields["stage"],
                reviewer=fields["reviewer"],
                note=fields["note"],
                modified=_parse_time("modified", fields["modified"]),
                source=fields.get("source"),
            )
        except AnnotationError as exc:
            raise exc.within(where) from None
