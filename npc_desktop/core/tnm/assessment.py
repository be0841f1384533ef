"""One source of truth for the TNM stage: :func:`assess` for a study's form and nodes, and
:func:`assess_categories` for categories given directly (the command line).

The GUI, the report, the DICOM SR and the command line all call these, so the categories, the
stage group and the wording of the reasons are the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from npc_desktop.core.tnm.derivation import CategoryCall, Override, derive_m, derive_t
from npc_desktop.core.tnm.edition_table import Axis, EditionTable, StageGrouping
from npc_desktop.core.tnm.editions import DEFAULT_EDITION, get_edition
from npc_desktop.core.tnm.errors import UnstageableError
from npc_desktop.core.tnm.form import TnmForm
from npc_desktop.core.tnm.nodes import NodeEvidence, derive_n

__all__ = ["TnmAssessment", "assess", "assess_categories"]


@dataclass(frozen=True)
class TnmAssessment:
    """T, N, M and the stage group of one study, each with its reasons.

    Attributes
    ----------
    table
        The edition used.
    t, n, m
        Each axis's :class:`CategoryCall` (derived value, reasons, caveats, override).
    grouping
        The stage group with the table row that gave it; None when not staged.
    stage_reason
        One line: the row that gave the stage group, or why there is none.
    """

    table: EditionTable
    t: CategoryCall
    n: CategoryCall
    m: CategoryCall
    grouping: Optional[StageGrouping]
    stage_reason: str

    @property
    def stage(self) -> Optional[str]:
        """The stage group (``"I"``, ``"II"``, ``"III"``, ``"IVA"``, ``"IVB"``), None when not staged."""
        return None if self.grouping is None else self.grouping.stage

    @property
    def edition(self) -> int:
        """The edition's number."""
        return self.table.number

    @property
    def overrides(self) -> dict[Axis, Override]:
        """The clinician's overrides, by axis."""
        return {call.axis: call.override for call in (self.t, self.n, self.m) if call.override is not None}

    @property
    def caveats(self) -> tuple[str, ...]:
        """Missing evidence that could make a derived (not overridden) category more advanced."""
        return tuple(c for call in (self.t, self.n, self.m) if not call.overridden for c in call.caveats)

    @property
    def provisional(self) -> bool:
        """Whether the stage rests on derived categories that missing evidence could still raise."""
        return bool(self.caveats)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The chain of reasons: T, N and M (with caveats and overrides), then the stage group."""
        lines = [*self.t.explanation(), *self.n.explanation(), *self.m.explanation(), self.stage_reason]
        if self.provisional and self.grouping is not None:
            lines.append(f"Provisional: {len(self.caveats)} caveat(s) above could make the stage more advanced")
        return tuple(lines)

    def summary_dict(self) -> dict[str, Any]:
        """The command line's JSON: exactly ``t``, ``n``, ``m``, ``stage``, ``edition``, ``reasons``."""
        return {"t": self.t.value, "n": self.n.value, "m": self.m.value, "stage": self.stage,
                "edition": self.edition, "reasons": list(self.reasons)}


def _group(table: EditionTable, t: CategoryCall, n: CategoryCall,
           m: CategoryCall) -> tuple[Optional[StageGrouping], str]:
    missing = [call for call in (t, n, m) if call.value is None]
    if missing:
        why = "; ".join(call.reasons[0] for call in missing)
        return None, f"Not staged: {', '.join(c.axis.value for c in missing)} undetermined ({why})"
    try:
        grouping = table.stage_group(t.value, n.value, m.value)  # type: ignore[arg-type]
    except UnstageableError as exc:
        return None, f"Not staged: {exc}"
    return grouping, grouping.reason


def assess(form: TnmForm, nodes: Sequence[NodeEvidence]) -> TnmAssessment:
    """Derive T, N and M from ``form`` and ``nodes``, apply the overrides and group the stage.

    Parameters
    ----------
    form
        The study's TNM form (findings, primary side, M, overrides).
    nodes
        The involved nodes, usually built with :meth:`TnmForm.node_evidence`.

    Returns
    -------
    TnmAssessment
        Never raises for an incomplete or contradictory form: what is missing or contradictory
        is in the reasons, and ``stage`` is None.
    """
    table = form.table
    t = derive_t(form.findings, table).with_override(form.overrides.get(Axis.T))
    n = derive_n(nodes, table, primary_side=form.primary_side,
                 neck_reviewed=form.neck_reviewed).with_override(form.overrides.get(Axis.N))
    m = derive_m(form.m, table).with_override(form.overrides.get(Axis.M))
    grouping, reason = _group(table, t, n, m)
    return TnmAssessment(table=table, t=t, n=n, m=m, grouping=grouping, stage_reason=reason)


def assess_categories(t: str, n: str, m: str, *, edition: object = DEFAULT_EDITION,
                      source: str = "given") -> TnmAssessment:
    """Stage categories given directly (``"T3"``, ``"N2"``, ``"M0"``; case-insensitive).

    Parameters
    ----------
    t, n, m
        The categories.
    edition
        The edition number.
    source
        Where the categories came from, for the reasons ("given on the command line").

    Raises
    ------
    TnmError
        When the edition or a category is unknown (naming ``edition``, ``T``, ``N`` or ``M``).
    UnstageableError
        When the combination cannot be staged (T0 N0 M0), with the edition's reason.
    """
    table = get_edition(edition)
    calls = []
    for axis, code in ((Axis.T, t), (Axis.N, n), (Axis.M, m)):
        category = table.category(axis, code)
        calls.append(CategoryCall(axis=axis, derived=category.code, reasons=(f"{category.code}: {source}",)))
    grouping = table.stage_group(calls[0].derived, calls[1].derived, calls[2].derived)  # type: ignore[arg-type]
    return TnmAssessment(table=table, t=calls[0], n=calls[1], m=calls[2], grouping=grouping,
                         stage_reason=grouping.reason)
