"""What an edition of the TNM classification is, as data: categories, findings, stage-group table.

An :class:`EditionTable` holds one edition's T, N and M categories, the anatomical findings
that place a tumour in a T category, the nodal size limit, and the stage-group table written
as the staging manual writes it (rows such as "Any T, N3, M0 -> IVA"). A further edition is a
further table (see :mod:`.ajcc8`), not new code. The table checks itself on construction: the
codes it names exist, and no T, N, M combination falls in two rows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from npc_desktop.core.tnm.errors import TnmError, UnstageableError

__all__ = ["Axis", "Category", "Finding", "StageRow", "Exclusion", "StageGrouping", "EditionTable"]


class Axis(str, Enum):
    """The three axes of the TNM classification."""

    T = "T"
    N = "N"
    M = "M"


@dataclass(frozen=True, kw_only=True)
class Category:
    """One category of an axis, with the edition's definition.

    Parameters
    ----------
    code
        The category as written in the staging manual (``"T3"``, ``"N0"``, ``"M1"``).
    definition
        Its definition, in the manual's terms.
    """

    code: str
    definition: str


@dataclass(frozen=True, kw_only=True)
class Finding:
    """An anatomical finding of the T checklist.

    Parameters
    ----------
    id
        Stable identifier, stored in forms (``"t2.parapharyngeal"``); never reused for another meaning.
    category
        The T category the finding places the tumour in (``"T2"``).
    label
        Short wording used in the checklist and in reasons ("parapharyngeal space").
    """

    id: str
    category: str
    label: str


@dataclass(frozen=True, kw_only=True)
class StageRow:
    """One row of an edition's stage-group table; ``None`` in a column means "any".

    Parameters
    ----------
    t, n, m
        The categories the row covers, or None for any category of that axis.
    stage
        The stage group (``"IVA"``).
    """

    t: Optional[tuple[str, ...]]
    n: Optional[tuple[str, ...]]
    m: Optional[tuple[str, ...]]
    stage: str

    def covers(self, t: str, n: str, m: str) -> bool:
        """Whether the row applies to ``t``, ``n``, ``m``."""
        return all(codes is None or code in codes for codes, code in ((self.t, t), (self.n, n), (self.m, m)))

    def text(self) -> str:
        """The row as the manual writes it: ``"T1, T0 / N1 / M0 -> II"``."""
        columns = [", ".join(codes) if codes else f"Any {axis}"
                   for codes, axis in ((self.t, "T"), (self.n, "N"), (self.m, "M"))]
        return " / ".join(columns) + f" -> {self.stage}"


@dataclass(frozen=True, kw_only=True)
class Exclusion:
    """A combination that cannot be staged, with the reason; it applies before the table.

    Parameters
    ----------
    t, n, m
        The categories it covers (None for any).
    reason
        Why such a combination cannot be staged, in one line.
    """

    t: Optional[tuple[str, ...]]
    n: Optional[tuple[str, ...]]
    m: Optional[tuple[str, ...]]
    reason: str

    def covers(self, t: str, n: str, m: str) -> bool:
        """Whether the exclusion applies to ``t``, ``n``, ``m``."""
        return StageRow(t=self.t, n=self.n, m=self.m, stage="").covers(t, n, m)


@dataclass(frozen=True)
class StageGrouping:
    """A stage group read from an edition's table, with the row that gave it.

    Attributes
    ----------
    t, n, m
        The categories staged.
    stage
        The stage group (``"III"``).
    row
        The table row that applies.
    reason
        One line: ``"Stage III: T3 N2 M0 is in the row 'T3 / N2 / M0 -> III' of the AJCC/UICC 8th edition table"``.
    """

    t: str
    n: str
    m: str
    stage: str
    row: StageRow
    reason: str


@dataclass(frozen=True, kw_only=True)
class EditionTable:
    """One edition of the TNM classification for nasopharyngeal carcinoma.

    Parameters
    ----------
    number
        The edition's number (``8``); the key of :data:`npc_desktop.core.tnm.editions.EDITIONS`.
    title
        How reasons and reports name it ("AJCC/UICC 8th edition").
    source
        The published source of the table (citation).
    t, n, m
        The categories of each axis, from the least to the most advanced.
    findings
        The T checklist.
    nodal_size_limit_mm
        Nodes larger than this (greatest dimension, mm) are the most advanced N category.
    stage_groups
        The stage groups, from the least to the most advanced.
    rows
        The stage-group table.
    exclusions
        Combinations that cannot be staged, whatever the rows say.
    """

    number: int
    title: str
    source: str
    t: tuple[Category, ...]
    n: tuple[Category, ...]
    m: tuple[Category, ...]
    findings: tuple[Finding, ...]
    nodal_size_limit_mm: float
    stage_groups: tuple[str, ...]
    rows: tuple[StageRow, ...]
    exclusions: tuple[Exclusion, ...] = ()

    def __post_init__(self) -> None:
        for axis in Axis:
            codes = self.codes(axis)
            if not codes or len(set(codes)) != len(codes):
                raise TnmError(f"edition {self.number}.{axis.value}", "needs distinct categories")
        ids = [f.id for f in self.findings]
        if len(set(ids)) != len(ids):
            raise TnmError(f"edition {self.number}.findings", "finding ids must be distinct")
        for finding in self.findings:
            if finding.category not in self.codes(Axis.T):
                raise TnmError(f"edition {self.number}.findings.{finding.id}", f"unknown category {finding.category}")
        for row in (*self.rows, *self.exclusions):
            for axis, codes in ((Axis.T, row.t), (Axis.N, row.n), (Axis.M, row.m)):
                unknown = sorted(set(codes or ()) - set(self.codes(axis)))
                if unknown:
                    raise TnmError(f"edition {self.number}.rows", f"unknown {axis.value} category {unknown[0]}")
            if isinstance(row, StageRow) and row.stage not in self.stage_groups:
                raise TnmError(f"edition {self.number}.rows", f"unknown stage group {row.stage}")
        for t, n, m in itertools.product(self.codes(Axis.T), self.codes(Axis.N), self.codes(Axis.M)):
            matches = [r for r in self.rows if r.covers(t, n, m)]
            if len(matches) > 1:
                raise TnmError(f"edition {self.number}.rows", f"{t} {n} {m} is in two rows")
            if not matches and not any(e.covers(t, n, m) for e in self.exclusions):
                raise TnmError(f"edition {self.number}.rows", f"{t} {n} {m} has no row and no exclusion")

    def codes(self, axis: Axis) -> tuple[str, ...]:
        """The category codes of ``axis``, from the least to the most advanced."""
        return tuple(c.code for c in {Axis.T: self.t, Axis.N: self.n, Axis.M: self.m}[axis])

    def category(self, axis: Axis, code: object, *, field: Optional[str] = None) -> Category:
        """The category ``code`` of ``axis`` (case-insensitive: ``"t3"`` is ``T3``).

        Raises
        ------
        TnmError
            Naming ``field`` (the axis by default) when ``code`` is not a category of this edition.
        """
        categories = {Axis.T: self.t, Axis.N: self.n, Axis.M: self.m}[axis]
        if isinstance(code, str):
            for category in categories:
                if category.code.casefold() == code.strip().casefold():
                    return category
        allowed = ", ".join(c.code for c in categories)
        article = "a" if axis is Axis.T else "an"
        raise TnmError(field or axis.value,
                       f"{code!r} is not {article} {axis.value} category of the {self.title} ({allowed})")

    def rank(self, axis: Axis, code: str) -> int:
        """How advanced ``code`` is within its axis (0 for the least)."""
        return self.codes(axis).index(self.category(axis, code).code)

    def finding(self, finding_id: object, *, field: str = "findings") -> Finding:
        """The finding with id ``finding_id``.

        Raises
        ------
        TnmError
            Naming ``field`` when the id is not in this edition's checklist.
        """
        for finding in self.findings:
            if finding.id == finding_id:
                return finding
        raise TnmError(field, f"{finding_id!r} is not a finding of the {self.title} T checklist")

    def stage_group(self, t: str, n: str, m: str) -> StageGrouping:
        """The stage group of ``t``, ``n``, ``m`` (case-insensitive codes) with its reason.

        Raises
        ------
        TnmError
            When a code is not a category of this edition (naming the axis).
        UnstageableError
            When the combination cannot be staged, with the edition's reason.
        """
        t, n, m = (self.category(axis, code).code for axis, code in ((Axis.T, t), (Axis.N, n), (Axis.M, m)))
        for exclusion in self.exclusions:
            if exclusion.covers(t, n, m):
                raise UnstageableError("", f"{t} {n} {m} cannot be staged: {exclusion.reason}")
        row = next(r for r in self.rows if r.covers(t, n, m))
        reason = f"Stage {row.stage}: {t} {n} {m} is in the row '{row.text()}' of the {self.title} table"
        return StageGrouping(t=t, n=n, m=m, stage=row.stage, row=row, reason=reason)
