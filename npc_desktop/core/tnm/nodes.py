"""The N category from plain node evidence: side, retropharyngeal or cervical, size, cricoid level.

The rules (AJCC/UICC 8th edition, chapter 9, Regional Lymph Nodes; see :mod:`.ajcc8`):

- no node: N0; definite only when the clinician recorded that the neck was reviewed and holds no
  involved node, otherwise provisional (a caveat says the nodes may not have been outlined yet);
- a node larger than the edition's size limit (6 cm, greatest dimension, taken here as the
  node's long axis), or any node below the caudal border of the cricoid cartilage: N3, whatever
  else is true; exactly 60 mm is *not* larger than 60 mm;
- otherwise cervical nodes on both sides of the neck: N2;
- otherwise cervical nodes on one side, and/or retropharyngeal nodes on one or both sides: N1.

Sides: midline nodes count as ipsilateral, that is on the side of the primary tumour. With a
left or right primary a midline node is on that side; with a midline primary it adds no side of
its own. When the primary's side is not given, a midline node is counted with the other cervical
nodes and a caveat says that N2 follows if the primary is on the other side.

Missing evidence is never silently assumed away: a node without a long axis, without a level
against the cricoid, or (with other nodes) without a side gives the category its known evidence
supports, plus a caveat naming the node and what would make the category more advanced.
Every node passed in is taken to be an involved (metastatic) node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Sequence

from npc_desktop.core.tnm.derivation import CategoryCall
from npc_desktop.core.tnm.edition_table import Axis, EditionTable
from npc_desktop.core.tnm.errors import TnmError

__all__ = ["Side", "NodeEvidence", "derive_n"]

# Lengths computed from pixel spacing carry float noise; a ruler that reads 60 mm must stay N1.
_SIZE_TOLERANCE_MM = 1e-6


class Side(str, Enum):
    """The side of the neck (or of the primary tumour)."""

    LEFT = "left"
    RIGHT = "right"
    MIDLINE = "midline"


@dataclass(frozen=True, kw_only=True)
class NodeEvidence:
    """What the N category needs to know about one involved lymph node.

    Parameters
    ----------
    label
        How reasons name the node ("node 2").
    side
        :class:`Side` or its value; None when not given.
    retropharyngeal
        True for a retropharyngeal node, False for a cervical node.
    long_axis_mm
        Greatest dimension in mm (> 0); None when not measured.
    below_cricoid
        Whether the node lies below the caudal border of the cricoid cartilage; None when
        unknown (no cricoid level marked).
    roi_id
        The node's ROI, for callers that link reasons back to it; optional.
    cricoid_note
        Why ``below_cricoid`` is unknown when a cricoid level is marked (for example another
        frame of reference); it goes into the caveat.
    """

    label: str
    side: Optional[Side] = None
    retropharyngeal: bool = False
    long_axis_mm: Optional[float] = None
    below_cricoid: Optional[bool] = None
    roi_id: Optional[str] = None
    cricoid_note: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise TnmError("label", f"a node needs a label, got {self.label!r}")
        if self.side is not None:
            try:
                object.__setattr__(self, "side", Side(self.side))
            except ValueError:
                raise TnmError(f"{self.label}.side",
                               f"{self.side!r} is not one of 'left', 'right', 'midline'") from None
        if not isinstance(self.retropharyngeal, bool):
            raise TnmError(f"{self.label}.retropharyngeal", f"must be true or false, got {self.retropharyngeal!r}")
        if self.long_axis_mm is not None:
            value = self.long_axis_mm
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise TnmError(f"{self.label}.long_axis_mm", f"must be a positive length in mm, got {value!r}")
            object.__setattr__(self, "long_axis_mm", float(value))
        if self.below_cricoid is not None and not isinstance(self.below_cricoid, bool):
            raise TnmError(f"{self.label}.below_cricoid", f"must be true, false or unknown, got {self.below_cricoid!r}")


def _mm(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _size_text(value: float, limit: float) -> str:
    # Never print "60 mm > 60 mm": show the digits that make the difference.
    text = _mm(value)
    return text if text != _mm(limit) else f"{value:.6g}"


def derive_n(nodes: Sequence[NodeEvidence], table: EditionTable, *,
             primary_side: Optional[Side] = None, neck_reviewed: bool = False) -> CategoryCall:
    """The N category of ``nodes`` under ``table``'s nodal rules, with reasons and caveats.

    Parameters
    ----------
    nodes
        The involved nodes (an empty sequence means no node: N0).
    table
        The edition; its N categories are read as none / unilateral / bilateral / advanced.
    primary_side
        The side of the primary tumour, which decides where midline nodes count.
    neck_reviewed
        The clinician's "neck reviewed: no involved nodes". Without nodes it makes N0 definite;
        with nodes it contradicts them, and a caveat says so.

    Returns
    -------
    CategoryCall
        ``derived`` is always set; ``caveats`` list the missing evidence that could raise it.
    """
    n0, n1, n2, n3 = table.codes(Axis.N)
    limit = table.nodal_size_limit_mm
    if not nodes and neck_reviewed:
        return CategoryCall(axis=Axis.N, derived=n0, reasons=(f"{n0}: neck reviewed, no involved lymph node",))
    if not nodes:
        return CategoryCall(axis=Axis.N, derived=n0, reasons=(f"{n0}: no involved lymph node recorded",),
                            caveats=(f"no node ROI and the neck not marked as reviewed: {n0} only if the neck holds "
                                     f"no involved node; outline the nodes or check \"neck reviewed\"",))
    contradiction = (f"\"neck reviewed: no involved nodes\" is checked but {len(nodes)} node ROI(s) are "
                     "outlined; uncheck it or remove the node ROIs",) if neck_reviewed else ()
    advanced = []
    for node in nodes:
        if node.long_axis_mm is not None and node.long_axis_mm > limit + _SIZE_TOLERANCE_MM:
            size = _size_text(node.long_axis_mm, limit)
            advanced.append(f"{n3}: {node.label}, axial long axis {size} mm > {_mm(limit)} mm")
        if node.below_cricoid:
            advanced.append(f"{n3}: {node.label} lies below the caudal border of the cricoid cartilage")
    if advanced:
        return CategoryCall(axis=Axis.N, derived=n3, reasons=tuple(advanced), caveats=contradiction)

    caveats = [f"{node.label}: axial long axis not measured; {n3} if it is larger than {_mm(limit)} mm"
               for node in nodes if node.long_axis_mm is None]
    caveats += [f"{node.label}: level against the cricoid unknown"
                + (f" ({node.cricoid_note})" if node.cricoid_note else "")
                + f"; {n3} if it lies below the caudal border of the cricoid cartilage"
                for node in nodes if node.below_cricoid is None and not node.retropharyngeal]
    within = f"each at most {_mm(limit)} mm and above the cricoid" if not caveats else "none known to be N3"

    cervical = [node for node in nodes if not node.retropharyngeal]
    retro = [node for node in nodes if node.retropharyngeal]
    sides, notes, side_caveats = _cervical_sides(cervical, primary_side, n2)
    reasons: list[str] = []
    if sides[Side.LEFT] and sides[Side.RIGHT]:
        category = n2
        reasons.append(f"{n2}: bilateral cervical nodes, {_labels(sides[Side.LEFT])} (left) and "
                       f"{_labels(sides[Side.RIGHT])} (right), {within}")
        side_caveats = []
    else:
        category = n1
        if cervical:
            side = Side.LEFT if sides[Side.LEFT] else Side.RIGHT if sides[Side.RIGHT] else None
            where = f" ({side.value})" if side else ""
            reasons.append(f"{n1}: unilateral cervical nodes{where}, {_labels(cervical)}, {within}")
        if retro:
            spread = {node.side for node in retro if node.side in (Side.LEFT, Side.RIGHT)}
            extent = "bilateral " if len(spread) == 2 else "unilateral " if spread else ""
            reasons.append(f"{n1}: {extent}retropharyngeal nodes, {_labels(retro)}; retropharyngeal nodes "
                           f"on one or both sides are {n1}" + ("" if cervical else f", {within}"))
    return CategoryCall(axis=Axis.N, derived=category, reasons=(*reasons, *notes),
                        caveats=(*contradiction, *side_caveats, *caveats))


def _labels(nodes: Sequence[NodeEvidence]) -> str:
    return ", ".join(node.label for node in nodes)


def _cervical_sides(cervical: Sequence[NodeEvidence], primary: Optional[Side],
                    n2: str) -> tuple[dict[Side, list[NodeEvidence]], list[str], list[str]]:
    """Cervical nodes by the side they count on; notes on midline nodes; caveats on unknown sides."""
    sides: dict[Side, list[NodeEvidence]] = {Side.LEFT: [], Side.RIGHT: []}
    notes: list[str] = []
    unresolved: list[NodeEvidence] = []
    unknown: list[NodeEvidence] = []
    for node in cervical:
        if node.side in (Side.LEFT, Side.RIGHT):
            sides[node.side].append(node)
        elif node.side is Side.MIDLINE and primary in (Side.LEFT, Side.RIGHT):
            sides[primary].append(node)
            notes.append(f"{node.label} is midline: counted as ipsilateral, "
                         f"on the primary tumour's side ({primary.value})")
        elif node.side is Side.MIDLINE:
            unresolved.append(node)
            if primary is Side.MIDLINE:
                notes.append(f"{node.label} is midline, like the primary tumour: counted as ipsilateral")
        else:
            unknown.append(node)
    caveats: list[str] = []
    one_side = [s for s in (Side.LEFT, Side.RIGHT) if sides[s]]
    if unresolved and primary is None and len(one_side) == 1:
        other = Side.RIGHT if one_side[0] is Side.LEFT else Side.LEFT
        for node in unresolved:
            caveats.append(f"{node.label} is midline and the primary tumour's side is not given: midline nodes "
                           f"count as ipsilateral, so {n2} if the primary is on the {other.value}")
    if unknown and len(cervical) == 1:
        notes.append(f"{unknown[0].label} has no side given; a single cervical node is unilateral whatever its side")
    elif unknown:
        for node in unknown:
            caveats.append(f"{node.label}: side not given; {n2} if it lies on the other side from the other "
                           f"cervical nodes")
    return sides, notes, caveats
