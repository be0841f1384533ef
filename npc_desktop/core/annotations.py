"""Rectangular ROIs, the patient's stage label and the per-study annotation set.

Pure Python, no Qt: the GUI's SessionModel subscribes to :attr:`AnnotationSet.events` and a
QUndoStack wraps the operations. Every operation returns the event it emitted, and
:meth:`AnnotationSet.revert` / :meth:`AnnotationSet.apply` undo and redo such an event exactly,
so an undo command only has to keep the event.

Pixel coordinates follow DICOM's sub-pixel convention (PS3.3 C.18.6.1.1), which is also
pyqtgraph's for a row-major image item: the top-left corner of the top-left pixel is (0, 0) and
pixel ``(r, c)`` covers ``[r, r + 1) x [c, c + 1)``. A box with integer edges therefore covers
exactly ``pixels[row0:row1, col0:col1]``.

The serialised form holds UIDs, geometry and labels only: no patient name, ID or birth date.
"""

from __future__ import annotations

import math
import numbers
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Callable, Generic, Iterable, Iterator, Mapping, Optional, TypeVar, Union

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT_NAME",
    "AnnotationError",
    "RoiKind",
    "Stage",
    "RectRoi",
    "PatientLabel",
    "RoiAdded",
    "RoiRemoved",
    "RoiUpdated",
    "LabelChanged",
    "AnnotationEvent",
    "EventEmitter",
    "AnnotationSet",
    "new_roi_id",
    "utc_now",
]

SCHEMA_VERSION: int = 2
"""Version of the serialised form written by :meth:`AnnotationSet.to_dict`. Version 2 added
``last_staging``; version 1 files (without it) still load."""

FORMAT_NAME: str = "npc-desktop.annotations"
"""Value of the ``format`` field that identifies an annotation file."""

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_MAX_TEXT = 1000
_MAX_NAME = 64


class AnnotationError(ValueError):
    """An annotation value or serialised field is invalid.

    Parameters
    ----------
    field
        The offending field, as a path into the serialised form (``"rois[2].row1"``).
    problem
        What is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def within(self, prefix: str) -> "AnnotationError":
        """The same error with ``prefix`` prepended to the field path."""
        return AnnotationError(_join(prefix, self.field), self.problem)


class RoiKind(str, Enum):
    """What a rectangular ROI outlines."""

    TUMOUR = "tumour"
    LYMPH_NODE = "lymph_node"


class Stage(str, Enum):
    """The patient-level stage label (the ensemble's two classes, or not yet decided)."""

    III = "III"
    IVA = "IVa"
    UNKNOWN = "unknown"


def new_roi_id() -> str:
    """A new random ROI identifier (a version-4 UUID string)."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------------------------------
# Field validation shared by the constructors and from_dict


def _check_uid(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise AnnotationError(name, f"must be a UID string, got {type(value).__name__}")
    if not value or len(value) > 64 or not _UID_RE.match(value):
        raise AnnotationError(name, f"{value!r} is not a DICOM UID (digits and dots, at most 64)")
    return value


def _check_coordinate(name: str, value: Any) -> float:
    # numbers.Real admits numpy scalars; bool is an int subclass but never a coordinate
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AnnotationError(name, f"must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise AnnotationError(name, f"must be finite, got {value!r}")
    return number


def _check_text(name: str, value: Any, limit: int, *, optional: bool) -> Optional[str]:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise AnnotationError(name, f"must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise AnnotationError(name, f"is longer than {limit} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise AnnotationError(name, "contains control characters")
    return value


def _check_time(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise AnnotationError(name, f"must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise AnnotationError(name, "must be timezone-aware (UTC)")
    return value.astimezone(timezone.utc)


def _check_enum(name: str, enum: type[Enum], value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)  # type: ignore[attr-defined]
        raise AnnotationError(name, f"{value!r} is not one of {allowed}") from None


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


# --------------------------------------------------------------------------------------------------
# Value objects


@dataclass(frozen=True, kw_only=True)
class RectRoi:
    """An axis-aligned rectangle on one stored image, validated on construction.

    Parameters
    ----------
    study_instance_uid, series_instance_uid, sop_instance_uid
        The image the rectangle is drawn on.
    row0, col0, row1, col1
        Edges in (sub-)pixel coordinates of that image, ``row1 > row0`` and ``col1 > col0``.
        They may lie partly outside the image; cropping clips and reports it.
    kind
        :class:`RoiKind` or its value (``"tumour"``, ``"lymph_node"``).
    frame_number
        1-based frame of a multi-frame instance, None for single-frame images.
    id
        A UUID string; a new version-4 UUID by default.
    created, modified
        Timezone-aware timestamps; ``modified`` defaults to ``created``.
    author
        Who drew it (a user name or initials, never patient data); optional.

    Raises
    ------
    AnnotationError
        Naming the first invalid field.
    """

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    row0: float
    col0: float
    row1: float
    col1: float
    kind: RoiKind = RoiKind.TUMOUR
    frame_number: Optional[int] = None
    id: str = field(default_factory=new_roi_id)
    created: datetime = field(default_factory=utc_now)
    modified: Optional[datetime] = None
    author: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("study_instance_uid", "series_instance_uid", "sop_instance_uid"):
            _check_uid(name, getattr(self, name))
        for name in ("row0", "col0", "row1", "col1"):
            _set(self, name, _check_coordinate(name, getattr(self, name)))
        if not self.row1 > self.row0:
            raise AnnotationError("row1", f"must be greater than row0 ({self.row1} <= {self.row0})")
        if not self.col1 > self.col0:
            raise AnnotationError("col1", f"must be greater than col0 ({self.col1} <= {self.col0})")
        _set(self, "kind", _check_enum("kind", RoiKind, self.kind))
        frame = self.frame_number
        if frame is not None:
            if isinstance(frame, bool) or not isinstance(frame, numbers.Integral) or frame < 1:
                raise AnnotationError("frame_number", f"must be None or an integer >= 1, got {frame!r}")
            _set(self, "frame_number", int(frame))
        _set(self, "id", _check_id(self.id))
        _set(self, "created", _check_time("created", self.created))
        _set(self, "modified", _check_time("modified", self.modified or self.created))
        _check_text("author", self.author, _MAX_NAME, optional=True)

    # -- geometry ---------------------------------------------------------------------------------

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``(row0, col0, row1, col1)`` in pixels."""
        return (self.row0, self.col0, self.row1, self.col1)

    @property
    def height(self) -> float:
        """Height in pixels (``row1 - row0``)."""
        return self.row1 - self.row0

    @property
    def width(self) -> float:
        """Width in pixels (``col1 - col0``)."""
        return self.col1 - self.col0

    @property
    def centre(self) -> tuple[float, float]:
        """``(row, column)`` of the centre in pixels."""
        return ((self.row0 + self.row1) / 2.0, (self.col0 + self.col1) / 2.0)

    def size_mm(self, *, row_spacing: float, col_spacing: float) -> tuple[float, float]:
        """Height and width in millimetres.

        Parameters
        ----------
        row_spacing, col_spacing
            Distance between row centres and between column centres in mm: DICOM
            PixelSpacing ``[0]`` and ``[1]``, or ``Volume.spacing[1]`` and ``[0]``.

        Returns
        -------
        tuple of float
            ``(height_mm, width_mm)``.
        """
        if not (row_spacing > 0 and col_spacing > 0):
            raise ValueError(f"pixel spacing must be positive, got {row_spacing}, {col_spacing}")
        return (self.height * row_spacing, self.width * col_spacing)

    def is_on(self, sop_instance_uid: str, frame_number: Optional[int] = None) -> bool:
        """Whether the ROI is drawn on that image (and frame)."""
        return self.sop_instance_uid == sop_instance_uid and self.frame_number == frame_number

    # -- derived copies (each stamps ``modified``) -------------------------------------------------

    def with_box(
        self, row0: float, col0: float, row1: float, col1: float, *, when: Optional[datetime] = None
    ) -> "RectRoi":
        """A copy with new edges and ``modified`` set to ``when`` (default now)."""
        return replace(self, row0=row0, col0=col0, row1=row1, col1=col1, modified=when or utc_now())

    def moved(self, d_row: float, d_col: float, *, when: Optional[datetime] = None) -> "RectRoi":
        """A copy shifted by ``d_row`` rows and ``d_col`` columns."""
        return self.with_box(
            self.row0 + d_row, self.col0 + d_col, self.row1 + d_row, self.col1 + d_col, when=when
        )

    def with_kind(self, kind: Union[RoiKind, str], *, when: Optional[datetime] = None) -> "RectRoi":
        """A copy with another kind."""
        return replace(self, kind=kind, modified=when or utc_now())

    # -- serialisation ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (UIDs, geometry, kind, timestamps, author)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "study_instance_uid": self.study_instance_uid,
            "series_instance_uid": self.series_instance_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "frame_number": self.frame_number,
            "row0": self.row0,
            "col0": self.col0,
            "row1": self.row1,
            "col1": self.col1,
            "created": _format_time(self.created),
            "modified": _format_time(self.modified),  # type: ignore[arg-type]
            "author": self.author,
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "roi") -> "RectRoi":
        """Rebuild a ROI from :meth:`to_dict` output, strictly.

        Parameters
        ----------
        data
            A mapping with exactly the keys :meth:`to_dict` writes.
        where
            Path of ``data`` in the enclosing document, used in error messages.

        Raises
        ------
        AnnotationError
            Naming the missing, unknown or invalid field.
        """
        fields = _exact_keys(data, _ROI_KEYS, where)
        try:
            return cls(
                id=fields["id"],
                kind=fields["kind"],
                study_instance_uid=fields["study_instance_uid"],
                series_instance_uid=fields["series_instance_uid"],
                sop_instance_uid=fields["sop_instance_uid"],
                frame_number=fields["frame_number"],
                row0=fields["row0"],
                col0=fields["col0"],
                row1=fields["row1"],
                col1=fields["col1"],
                created=_parse_time("created", fields["created"]),
                modified=_parse_time("modified", fields["modified"]),
                author=fields["author"],
            )
        except AnnotationError as exc:
            raise exc.within(where) from None


_ROI_KEYS = frozenset(
    ("id", "kind", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "frame_number",
     "row0", "col0", "row1", "col1", "created", "modified", "author")
)


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


def _check_staging(value: Any) -> Optional[dict[str, Any]]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise AnnotationError("last_staging", f"must be an object or null, got {type(value).__name__}")
    return dict(value)


def _check_id(value: Any) -> str:
    if not isinstance(value, str):
        raise AnnotationError("id", f"must be a UUID string, got {type(value).__name__}")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise AnnotationError("id", f"{value!r} is not a UUID") from None
    if canonical != value:
        raise AnnotationError("id", f"{value!r} is not in canonical lower-case UUID form")
    return value


def _format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_time(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise AnnotationError(name, f"must be an ISO 8601 timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AnnotationError(name, f"{value!r} is not an ISO 8601 timestamp") from None
    return _check_time(name, parsed)


def _exact_keys(data: Any, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise AnnotationError(where or "document", f"must be an object, got {type(data).__name__}")
    missing = sorted(keys - data.keys())
    if missing:
        raise AnnotationError(_join(where, missing[0]), "is missing")
    unknown = sorted(str(k) for k in data.keys() - keys)
    if unknown:
        raise AnnotationError(_join(where, unknown[0]), "is not a known field")
    return data


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --------------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class RoiAdded:
    """``roi`` was inserted at position ``index``."""

    roi: RectRoi
    index: int


@dataclass(frozen=True)
class RoiRemoved:
    """``roi`` was removed from position ``index``."""

    roi: RectRoi
    index: int


@dataclass(frozen=True)
class RoiUpdated:
    """The ROI at ``index`` was replaced: ``old`` and ``new`` share one id."""

    old: RectRoi
    new: RectRoi
    index: int


@dataclass(frozen=True)
class LabelChanged:
    """The patient label changed from ``old`` to ``new``."""

    old: PatientLabel
    new: PatientLabel


AnnotationEvent = Union[RoiAdded, RoiRemoved, RoiUpdated, LabelChanged]
"""Every change of an :class:`AnnotationSet` is exactly one of these."""

E = TypeVar("E")


class EventEmitter(Generic[E]):
    """A plain list of callbacks, napari-style: ``connect`` a callable, ``emit`` calls them all.

    Every callback runs even when an earlier one raises; the first exception is re-raised after
    the last callback, so a failing subscriber (say, the autosaver) never hides a change from
    the others (say, the viewer).
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[[E], Any]] = []

    def connect(self, callback: Callable[[E], Any]) -> Callable[[], None]:
        """Subscribe ``callback``; returns a function that unsubscribes it."""
        self._callbacks.append(callback)
        return lambda: self.disconnect(callback)

    def disconnect(self, callback: Callable[[E], Any]) -> None:
        """Unsubscribe ``callback``; no error if it was not subscribed."""
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def emit(self, event: E) -> None:
        """Call every subscriber with ``event`` in subscription order."""
        first: Optional[BaseException] = None
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 - re-raised below after the others ran
                first = first or exc
        if first is not None:
            raise first

    def __len__(self) -> int:
        return len(self._callbacks)


# --------------------------------------------------------------------------------------------------
# The annotation set


_SET_KEYS_V1 = frozenset(("format", "schema_version", "study_instance_uid", "label", "rois"))
_SET_KEYS = _SET_KEYS_V1 | {"last_staging"}


class AnnotationSet:
    """The ROIs and patient label of one study, with change events and exact undo.

    Parameters
    ----------
    study_instance_uid
        The study every ROI must belong to.
    rois
        Initial ROIs (no events are emitted for them).
    label
        Initial patient label; unknown stage by default.
    last_staging
        The study's last staging result in its JSON form
        (:meth:`npc_desktop.core.staging_record.StagingRecord.to_dict`), or None. It is kept as
        it was read, so that a record this version cannot interpret never costs the ROIs.

    Notes
    -----
    Not thread-safe: mutate it from one thread (the GUI thread) and hand copies
    (:meth:`to_dict`, :attr:`rois`) to workers.
    """

    schema_version: int = SCHEMA_VERSION

    def __init__(
        self,
        study_instance_uid: str,
        rois: Iterable[RectRoi] = (),
        label: Optional[PatientLabel] = None,
        last_staging: Optional[Mapping[str, Any]] = None,
    ) -> None:
        self._study_uid = _check_uid("study_instance_uid", study_instance_uid)
        self.last_staging: Optional[dict[str, Any]] = _check_staging(last_staging)
        self._rois: list[RectRoi] = []
        self._by_id: dict[str, RectRoi] = {}
        self._label = label if label is not None else PatientLabel()
        self.events: EventEmitter[AnnotationEvent] = EventEmitter()
        for position, roi in enumerate(rois):
            try:
                self._check_new(roi)
            except AnnotationError as exc:
                raise exc.within(f"rois[{position}]") from None
            self._rois.append(roi)
            self._by_id[roi.id] = roi

    # -- queries ----------------------------------------------------------------------------------

    @property
    def study_instance_uid(self) -> str:
        """The study the set belongs to."""
        return self._study_uid

    @property
    def rois(self) -> tuple[RectRoi, ...]:
        """All ROIs in drawing order."""
        return tuple(self._rois)

    @property
    def label(self) -> PatientLabel:
        """The patient label."""
        return self._label

    def __len__(self) -> int:
        return len(self._rois)

    def __iter__(self) -> Iterator[RectRoi]:
        return iter(tuple(self._rois))

    def __contains__(self, roi_id: object) -> bool:
        return roi_id in self._by_id

    def get(self, roi_id: str) -> RectRoi:
        """The ROI with that id.

        Raises
        ------
        KeyError
            If there is none.
        """
        try:
            return self._by_id[roi_id]
        except KeyError:
            raise KeyError(f"no ROI with id {roi_id!r} in study {self._study_uid}") from None

    def index_of(self, roi_id: str) -> int:
        """Position of the ROI with that id in drawing order."""
        roi = self.get(roi_id)
        return self._rois.index(roi)

    def for_instance(self, sop_instance_uid: str, frame_number: Optional[int] = None) -> list[RectRoi]:
        """ROIs drawn on one image (one frame of a multi-frame image)."""
        return [r for r in self._rois if r.is_on(sop_instance_uid, frame_number)]

    def for_series(self, series_instance_uid: str) -> list[RectRoi]:
        """ROIs drawn on any image of one series."""
        return [r for r in self._rois if r.series_instance_uid == series_instance_uid]

    def series_uids(self) -> list[str]:
        """Series that hold at least one ROI, in order of first appearance."""
        return list(dict.fromkeys(r.series_instance_uid for r in self._rois))

    def size_mm(self, roi_id: str, *, row_spacing: float, col_spacing: float) -> tuple[float, float]:
        """``(height_mm, width_mm)`` of a ROI; see :meth:`RectRoi.size_mm`."""
        return self.get(roi_id).size_mm(row_spacing=row_spacing, col_spacing=col_spacing)

    # -- operations (each emits and returns one event) --------------------------------------------

    def add(self, roi: RectRoi, *, index: Optional[int] = None) -> RoiAdded:
        """Insert ``roi`` (at the end, or at ``index``).

        Raises
        ------
        AnnotationError
            If it belongs to another study or its id is already used.
        """
        self._check_new(roi)
        position = len(self._rois) if index is None else max(0, min(index, len(self._rois)))
        return self._commit(RoiAdded(roi, position))

    def remove(self, roi_id: str) -> RoiRemoved:
        """Remove the ROI with that id."""
        return self._commit(RoiRemoved(self.get(roi_id), self.index_of(roi_id)))

    def update(self, roi: RectRoi) -> RoiUpdated:
        """Replace the ROI that has ``roi.id`` by ``roi`` (stored as given)."""
        old = self.get(roi.id)
        if roi.study_instance_uid != self._study_uid:
            raise AnnotationError("study_instance_uid", f"{roi.study_instance_uid} is not this set's study")
        return self._commit(RoiUpdated(old, roi, self._rois.index(old)))

    def move(self, roi_id: str, d_row: float, d_col: float) -> RoiUpdated:
        """Shift a ROI by ``d_row`` rows and ``d_col`` columns."""
        return self.update(self.get(roi_id).moved(d_row, d_col))

    def resize(self, roi_id: str, row0: float, col0: float, row1: float, col1: float) -> RoiUpdated:
        """Give a ROI new edges (a move-and-resize, as a drag handle produces)."""
        return self.update(self.get(roi_id).with_box(row0, col0, row1, col1))

    def set_kind(self, roi_id: str, kind: Union[RoiKind, str]) -> RoiUpdated:
        """Change what a ROI outlines."""
        return self.update(self.get(roi_id).with_kind(kind))

    def set_label(self, label: PatientLabel) -> LabelChanged:
        """Replace the patient label."""
        if not isinstance(label, PatientLabel):
            raise TypeError(f"label must be a PatientLabel, got {type(label).__name__}")
        return self._commit(LabelChanged(self._label, label))

    # -- undo / redo ------------------------------------------------------------------------------

    @staticmethod
    def inverse(event: AnnotationEvent) -> AnnotationEvent:
        """The event that undoes ``event``."""
        if isinstance(event, RoiAdded):
            return RoiRemoved(event.roi, event.index)
        if isinstance(event, RoiRemoved):
            return RoiAdded(event.roi, event.index)
        if isinstance(event, RoiUpdated):
            return RoiUpdated(event.new, event.old, event.index)
        if isinstance(event, LabelChanged):
            return LabelChanged(event.new, event.old)
        raise TypeError(f"not an annotation event: {event!r}")

    def apply(self, event: AnnotationEvent) -> AnnotationEvent:
        """Perform ``event`` again (redo) and emit it.

        Raises
        ------
        ValueError
            If the set is not in the state the event starts from (a stale undo stack).
        """
        return self._commit(event)

    def revert(self, event: AnnotationEvent) -> AnnotationEvent:
        """Undo ``event``; emits and returns the inverse event."""
        return self._commit(self.inverse(event))

    # -- serialisation ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready, PHI-free form, tagged with :data:`FORMAT_NAME` and the schema version."""
        return {
            "format": FORMAT_NAME,
            "schema_version": self.schema_version,
            "study_instance_uid": self._study_uid,
            "label": self._label.to_dict(),
            "rois": [roi.to_dict() for roi in self._rois],
            "last_staging": self.last_staging,
        }

    @classmethod
    def from_dict(cls, data: Any) -> "AnnotationSet":
        """Rebuild a set from :meth:`to_dict` output, strictly.

        Raises
        ------
        AnnotationError
            Naming the first missing, unknown or invalid field, including an unknown
            ``format`` or ``schema_version``.
        """
        version = data.get("schema_version") if isinstance(data, Mapping) else None
        fields = _exact_keys(data, _SET_KEYS_V1 if type(version) is int and version == 1 else _SET_KEYS, "")
        if fields["format"] != FORMAT_NAME:
            raise AnnotationError("format", f"expected {FORMAT_NAME!r}, got {fields['format']!r}")
        if type(version) is not int or version not in (1, SCHEMA_VERSION):
            raise AnnotationError(
                "schema_version",
                f"version {version!r} is not supported (this version of NPC Desktop reads versions 1 to {SCHEMA_VERSION})",
            )
        study = _check_uid("study_instance_uid", fields["study_instance_uid"])
        label = PatientLabel.from_dict(fields["label"], where="label")
        raw_rois = fields["rois"]
        if not isinstance(raw_rois, list):
            raise AnnotationError("rois", f"must be a list, got {type(raw_rois).__name__}")
        rois = [RectRoi.from_dict(item, where=f"rois[{i}]") for i, item in enumerate(raw_rois)]
        return cls(study, rois, label, fields.get("last_staging"))

    # -- internals --------------------------------------------------------------------------------

    def _check_new(self, roi: RectRoi) -> None:
        if not isinstance(roi, RectRoi):
            raise TypeError(f"expected a RectRoi, got {type(roi).__name__}")
        if roi.study_instance_uid != self._study_uid:
            raise AnnotationError(
                "study_instance_uid",
                f"ROI {roi.id} is on study {roi.study_instance_uid}, not this set's {self._study_uid}",
            )
        if roi.id in self._by_id:
            raise AnnotationError("id", f"an ROI with id {roi.id} already exists")

    def _commit(self, event: AnnotationEvent) -> Any:
        self._mutate(event)
        self.events.emit(event)
        return event

    def _mutate(self, event: AnnotationEvent) -> None:
        if isinstance(event, RoiAdded):
            self._check_new(event.roi)
            self._rois.insert(min(event.index, len(self._rois)), event.roi)
            self._by_id[event.roi.id] = event.roi
        elif isinstance(event, RoiRemoved):
            self._expect(event.roi)
            self._rois.remove(event.roi)
            del self._by_id[event.roi.id]
        elif isinstance(event, RoiUpdated):
            if event.old.id != event.new.id:
                raise ValueError("an update must keep the ROI id")
            self._expect(event.old)
            self._rois[self._rois.index(event.old)] = event.new
            self._by_id[event.new.id] = event.new
        elif isinstance(event, LabelChanged):
            if self._label != event.old:
                raise ValueError("stale event: the patient label is not the one the event changes")
            self._label = event.new
        else:
            raise TypeError(f"not an annotation event: {event!r}")

    def _expect(self, roi: RectRoi) -> None:
        if self._by_id.get(roi.id) != roi:
            raise ValueError(f"stale event: ROI {roi.id} is not in the state the event expects")
