"""The clinician's TNM form for one study, and its PHI-free JSON form.

A :class:`TnmForm` holds what the clinician enters: the edition, the checked T findings, the
primary tumour's side, M, overrides with their notes, and per-node flags (side, retropharyngeal)
keyed by the node ROI's id. Measurements (long axis, cricoid level) are not part of it: they
are annotations of their own, and :meth:`TnmForm.node_evidence` joins them with the flags.

:meth:`TnmForm.to_dict` gives a plain JSON-able dict with a ``format_version``; the annotation
file stores it as is, like the last staging record. :meth:`TnmForm.from_dict` reads it back
strictly and names the first bad field. Notes are free text and must not hold patient
identifiers; nothing else in the form can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Optional

from npc_desktop.core.tnm.derivation import Override
from npc_desktop.core.tnm.edition_table import Axis, EditionTable
from npc_desktop.core.tnm.editions import DEFAULT_EDITION, get_edition
from npc_desktop.core.tnm.errors import TnmError
from npc_desktop.core.tnm.nodes import NodeEvidence, Side

__all__ = ["FORM_VERSION", "NodeFlags", "TnmForm"]

FORM_VERSION: int = 2
"""Version of the serialised form written by :meth:`TnmForm.to_dict` (2 added ``neck_reviewed``;
version 1 forms, without it, still load as not reviewed)."""

_MAX_ID = 64
_FORM_KEYS_V1 = frozenset(("format_version", "edition", "findings", "primary_side", "m", "overrides", "nodes"))
_FORM_KEYS = _FORM_KEYS_V1 | {"neck_reviewed"}


def _side(value: Any, where: str) -> Optional[Side]:
    if value is None:
        return None
    try:
        return Side(value)
    except ValueError:
        raise TnmError(where, f"{value!r} is not one of 'left', 'right', 'midline' or null") from None


@dataclass(frozen=True, kw_only=True)
class NodeFlags:
    """What the clinician says about one node ROI.

    Parameters
    ----------
    side
        :class:`Side` or its value; None until set.
    retropharyngeal
        True for a retropharyngeal node, False for a cervical node.
    """

    side: Optional[Side] = None
    retropharyngeal: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", _side(self.side, "side"))
        if not isinstance(self.retropharyngeal, bool):
            raise TnmError("retropharyngeal", f"must be true or false, got {self.retropharyngeal!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return {"side": None if self.side is None else self.side.value, "retropharyngeal": self.retropharyngeal}


@dataclass(frozen=True, kw_only=True)
class TnmForm:
    """The TNM form of one study, validated on construction.

    Parameters
    ----------
    edition
        The edition number (:data:`~npc_desktop.core.tnm.editions.EDITIONS`), 8 by default.
    findings
        Ids of the checked findings of the edition's T checklist.
    primary_side
        The primary tumour's side (decides where midline nodes count); None if not set.
    m
        ``"M0"`` or ``"M1"`` as entered (case-insensitive); None until entered.
    overrides
        The clinician's overrides by axis (:class:`Axis` or ``"T"``, ``"N"``, ``"M"``).
    nodes
        Flags of the node ROIs, keyed by ROI id.
    neck_reviewed
        The clinician's "neck reviewed: no involved nodes": with no node ROIs, N0 is definite.

    Raises
    ------
    TnmError
        Naming the field: an unknown edition, finding, category, side, or an empty note.
    """

    edition: int = DEFAULT_EDITION
    findings: frozenset[str] = frozenset()
    primary_side: Optional[Side] = None
    m: Optional[str] = None
    overrides: Mapping[Axis, Override] = field(default_factory=dict)
    nodes: Mapping[str, NodeFlags] = field(default_factory=dict)
    neck_reviewed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.neck_reviewed, bool):
            raise TnmError("neck_reviewed", f"must be true or false, got {self.neck_reviewed!r}")
        table = get_edition(self.edition)
        object.__setattr__(self, "edition", table.number)
        if isinstance(self.findings, str) or not isinstance(self.findings, Iterable):
            raise TnmError("findings", f"must be a set of finding ids, got {type(self.findings).__name__}")
        findings = frozenset(self.findings)
        for finding in sorted(findings, key=str):
            table.finding(finding)
        object.__setattr__(self, "findings", findings)
        object.__setattr__(self, "primary_side", _side(self.primary_side, "primary_side"))
        if self.m is not None:
            object.__setattr__(self, "m", table.category(Axis.M, self.m, field="m").code)
        object.__setattr__(self, "overrides", MappingProxyType(self._checked_overrides(table)))
        object.__setattr__(self, "nodes", MappingProxyType(self._checked_nodes()))

    def _checked_overrides(self, table: EditionTable) -> dict[Axis, Override]:
        if not isinstance(self.overrides, Mapping):
            raise TnmError("overrides", f"must be a mapping of axis to override, got {type(self.overrides).__name__}")
        checked: dict[Axis, Override] = {}
        for key, override in self.overrides.items():
            try:
                axis = Axis(key)
            except ValueError:
                raise TnmError("overrides", f"{key!r} is not one of 'T', 'N', 'M'") from None
            where = f"overrides.{axis.value}"
            if not isinstance(override, Override):
                raise TnmError(where, f"must be an Override, got {type(override).__name__}")
            code = table.category(axis, override.category, field=f"{where}.category").code
            checked[axis] = Override(category=code, note=override.note)
        return {axis: checked[axis] for axis in Axis if axis in checked}

    def _checked_nodes(self) -> dict[str, NodeFlags]:
        if not isinstance(self.nodes, Mapping):
            raise TnmError("nodes", f"must be a mapping of ROI id to node flags, got {type(self.nodes).__name__}")
        for roi_id, flags in self.nodes.items():
            if not isinstance(roi_id, str) or not roi_id or len(roi_id) > _MAX_ID or not roi_id.isprintable():
                raise TnmError("nodes", f"{roi_id!r} is not a ROI id (1 to {_MAX_ID} printable characters)")
            if not isinstance(flags, NodeFlags):
                raise TnmError(f"nodes.{roi_id}", f"must be NodeFlags, got {type(flags).__name__}")
        return {roi_id: self.nodes[roi_id] for roi_id in sorted(self.nodes)}

    @property
    def table(self) -> EditionTable:
        """The edition's table."""
        return get_edition(self.edition)

    def node_evidence(self, roi_id: str, *, label: str, long_axis_mm: Optional[float] = None,
                      below_cricoid: Optional[bool] = None) -> NodeEvidence:
        """The evidence for the node ROI ``roi_id``: its flags here joined with its measurements.

        Parameters
        ----------
        roi_id
            The node ROI; a ROI without flags yet has no side and is cervical.
        label
            How reasons name it ("node 2").
        long_axis_mm
            Its long axis from the measurement tools, None when not measured.
        below_cricoid
            Whether it lies below the cricoid level marker, None when no marker is set.
        """
        flags = self.nodes.get(roi_id, NodeFlags())
        return NodeEvidence(label=label, side=flags.side, retropharyngeal=flags.retropharyngeal,
                            long_axis_mm=long_axis_mm, below_cricoid=below_cricoid, roi_id=roi_id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (PHI-free apart from what a clinician types into a note)."""
        return {
            "format_version": FORM_VERSION,
            "edition": self.edition,
            "findings": sorted(self.findings),
            "primary_side": None if self.primary_side is None else self.primary_side.value,
            "m": self.m,
            "overrides": {axis.value: {"category": o.category, "note": o.note} for axis, o in self.overrides.items()},
            "nodes": {roi_id: flags.to_dict() for roi_id, flags in self.nodes.items()},
            "neck_reviewed": self.neck_reviewed,
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "tnm") -> "TnmForm":
        """Rebuild a form from :meth:`to_dict` output, strictly.

        Parameters
        ----------
        data
            The dict as read from JSON.
        where
            The form's place in the file, prefixed to field names in errors.

        Raises
        ------
        TnmError
            Naming the first missing, unknown or invalid field (``"tnm.overrides.N.note"``).
        """
        try:
            return cls._from_dict(data)
        except TnmError as exc:
            raise exc.within(where) from None

    @classmethod
    def _from_dict(cls, data: Any) -> "TnmForm":
        version = _mapping(data, "").get("format_version")
        if type(version) is not int or version not in (1, FORM_VERSION):
            raise TnmError("format_version", f"version {version!r} is not supported "
                                             f"(this version of NPC Desktop reads 1 to {FORM_VERSION})")
        d = _exact_keys(data, _FORM_KEYS_V1 if version == 1 else _FORM_KEYS, "")
        reviewed = d.get("neck_reviewed", False)
        if type(reviewed) is not bool:
            raise TnmError("neck_reviewed", f"must be true or false, got {reviewed!r}")
        if type(d["edition"]) is not int:
            raise TnmError("edition", f"must be an edition number, got {d['edition']!r}")
        if not isinstance(d["findings"], list) or not all(isinstance(f, str) for f in d["findings"]):
            raise TnmError("findings", "must be a list of finding ids")
        if d["m"] is not None and not isinstance(d["m"], str):
            raise TnmError("m", f"must be 'M0', 'M1' or null, got {d['m']!r}")
        overrides: dict[str, Override] = {}
        for axis, entry in _mapping(d["overrides"], "overrides").items():
            o = _exact_keys(entry, frozenset(("category", "note")), f"overrides.{axis}")
            try:
                overrides[axis] = Override(category=o["category"], note=o["note"])
            except TnmError as exc:
                raise exc.within(f"overrides.{axis}") from None
        nodes: dict[str, NodeFlags] = {}
        for roi_id, entry in _mapping(d["nodes"], "nodes").items():
            flags = _exact_keys(entry, frozenset(("side", "retropharyngeal")), f"nodes.{roi_id}")
            try:
                nodes[roi_id] = NodeFlags(side=flags["side"], retropharyngeal=flags["retropharyngeal"])
            except TnmError as exc:
                raise exc.within(f"nodes.{roi_id}") from None
        return cls(edition=d["edition"], findings=frozenset(d["findings"]), primary_side=d["primary_side"],
                   m=d["m"], overrides=overrides, nodes=nodes, neck_reviewed=reviewed)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TnmError(where, f"must be an object, got {type(value).__name__}")
    return value


def _exact_keys(data: Any, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    data = _mapping(data, where)
    prefix = f"{where}." if where else ""
    missing = sorted(keys - data.keys())
    if missing:
        raise TnmError(prefix + missing[0], "is missing")
    unknown = sorted(str(k) for k in data.keys() - keys)
    if unknown:
        raise TnmError(prefix + unknown[0], "is not a known field")
    return data
