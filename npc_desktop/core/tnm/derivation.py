"""Categories with their reasons: the T category from the checked findings, M as entered, overrides.

A :class:`CategoryCall` keeps what the evidence gives (``derived``) and why (``reasons``),
what is missing that could make it more advanced (``caveats``), and the clinician's
:class:`Override` if any. The override decides ``value``; the derived value and its reasons
stay visible, so a report can show both. The N category is derived in :mod:`.nodes`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Optional

from npc_desktop.core.tnm.edition_table import Axis, EditionTable
from npc_desktop.core.tnm.errors import TnmError

__all__ = ["MAX_NOTE_LENGTH", "Override", "CategoryCall", "derive_t", "derive_m"]

MAX_NOTE_LENGTH = 1000
"""The longest override note, in characters."""


@dataclass(frozen=True, kw_only=True)
class Override:
    """The clinician's category for an axis, replacing the derived one, with the reason why.

    Parameters
    ----------
    category
        The category chosen (``"T4"``); checked against the edition by the form that holds it.
    note
        Why (required, at most :data:`MAX_NOTE_LENGTH` characters, no patient identifiers).
    """

    category: str
    note: str

    def __post_init__(self) -> None:
        if not isinstance(self.category, str) or not self.category.strip():
            raise TnmError("category", f"must be a category such as 'T4', got {self.category!r}")
        if not isinstance(self.note, str):
            raise TnmError("note", f"must be a string, got {type(self.note).__name__}")
        if not self.note.strip():
            raise TnmError("note", "an override needs a note saying why")
        if len(self.note) > MAX_NOTE_LENGTH:
            raise TnmError("note", f"is longer than {MAX_NOTE_LENGTH} characters")
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in self.note):
            raise TnmError("note", "contains control characters")


@dataclass(frozen=True, kw_only=True)
class CategoryCall:
    """One axis's category, with its reasons, caveats and override.

    Attributes
    ----------
    axis
        T, N or M.
    derived
        The category the evidence gives; None when it cannot be determined (reasons say why).
    reasons
        How it was derived, one line each (``"N3: node 2, long axis 64 mm > 60 mm"``).
    caveats
        Missing evidence that could make the derived category more advanced, one line each.
    override
        The clinician's override, or None.
    """

    axis: Axis
    derived: Optional[str]
    reasons: tuple[str, ...]
    caveats: tuple[str, ...] = ()
    override: Optional[Override] = None

    @property
    def value(self) -> Optional[str]:
        """The category that counts: the override's if there is one, else the derived one."""
        return self.override.category if self.override is not None else self.derived

    @property
    def overridden(self) -> bool:
        """Whether the clinician overrode the derived category."""
        return self.override is not None

    def with_override(self, override: Optional[Override]) -> "CategoryCall":
        """The same call with ``override`` applied (None removes it)."""
        return replace(self, override=override)

    def explanation(self) -> tuple[str, ...]:
        """Reasons, caveats and the override, in the order a reader needs them."""
        lines = [*self.reasons, *(f"caveat: {c}" for c in self.caveats)]
        if self.override is not None:
            was = self.derived or "undetermined"
            lines.append(f"{self.axis.value} overridden to {self.override.category} by the clinician "
                         f"(derived: {was}): {self.override.note.strip()}")
        return tuple(lines)


def derive_t(findings: Iterable[str], table: EditionTable) -> CategoryCall:
    """The T category from the checked findings: the most advanced category checked wins.

    Parameters
    ----------
    findings
        Ids of the checked findings of ``table``'s checklist.
    table
        The edition.

    Returns
    -------
    CategoryCall
        ``derived`` is None when nothing is checked, or when T0 ("no tumour identified") is
        checked together with a tumour finding; the reason says which.

    Raises
    ------
    TnmError
        When an id is not in the edition's checklist.
    """
    checked = sorted((table.finding(f) for f in set(findings)),
                     key=lambda f: (-table.rank(Axis.T, f.category), f.id))
    if not checked:
        return CategoryCall(axis=Axis.T, derived=None, reasons=("T: no finding checked",))
    # T0 says no primary tumour was found; it cannot stand with a finding about the tumour.
    t0 = [f for f in checked if f.category == "T0"]
    tumour = [f for f in checked if f.category != "T0"]
    if t0 and tumour:
        others = ", ".join(f"{f.label} ({f.category})" for f in tumour)
        return CategoryCall(axis=Axis.T, derived=None, reasons=(
            f"T: '{t0[0].label}' (T0) contradicts {others}; uncheck one",))
    top = checked[0].category
    decisive = ", ".join(f"{f.label} ({f.category})" for f in checked if f.category == top)
    reasons = [f"{top}: {decisive}"]
    lower = [f for f in checked if f.category != top]
    if lower:
        reasons.append("also checked: " + ", ".join(f"{f.label} ({f.category})" for f in lower))
    return CategoryCall(axis=Axis.T, derived=top, reasons=tuple(reasons))


def derive_m(m: Optional[str], table: EditionTable) -> CategoryCall:
    """The M category as the clinician entered it (None: not entered yet).

    Raises
    ------
    TnmError
        When ``m`` is not an M category of the edition.
    """
    if m is None:
        return CategoryCall(axis=Axis.M, derived=None, reasons=("M: not entered",))
    category = table.category(Axis.M, m)
    return CategoryCall(axis=Axis.M, derived=category.code,
                        reasons=(f"{category.code}: entered by the clinician ({category.definition.lower()})",))
