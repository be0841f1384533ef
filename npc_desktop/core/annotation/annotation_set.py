"""The per-study annotation set: ROIs, measurements, the patient's stage label and the TNM form,
with undoable operations.

Pure Python, no Qt: the GUI's SessionModel subscribes to :attr:`AnnotationSet.events` and a
QUndoStack wraps the operations. Every operation returns the event it emitted, and
:meth:`AnnotationSet.revert` / :meth:`AnnotationSet.apply` undo and redo such an event exactly,
so an undo command only has to keep the event.

The serialised form holds UIDs, geometry and labels only: no patient name, ID or birth date.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Optional, Union

from npc_desktop.core.annotation.events import (
    AnnotationEvent,
    CricoidLevelChanged,
    EventEmitter,
    LabelChanged,
    MeasurementAdded,
    MeasurementRemoved,
    MeasurementUpdated,
    RoiAdded,
    RoiRemoved,
    RoiUpdated,
    TnmFormChanged,
)
from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.measurement_ops import MeasurementOps
from npc_desktop.core.annotation.measurements import CricoidLevel, Measurement, measurement_from_dict
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import AnnotationError, _check_uid, _exact_keys

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT_NAME",
    "AnnotationSet",
]

SCHEMA_VERSION: int = 3
"""Version of the serialised form written by :meth:`AnnotationSet.to_dict`. Version 2 added
``last_staging``; version 3 added ``measurements`` (rulers and node axes), ``cricoid_level`` and
``tnm_form``. Files of versions 1 and 2 still load (without measurements)."""

FORMAT_NAME: str = "npc-desktop.annotations"
"""Value of the ``format`` field that identifies an annotation file."""


def _check_staging(value: Any) -> Optional[dict[str, Any]]:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise AnnotationError("last_staging", f"must be an object or null, got {type(value).__name__}")
    return dict(value)
"""Every change of an :class:`AnnotationSet` is exactly one of these."""


# --------------------------------------------------------------------------------------------------
# The annotation set


_SET_KEYS_V1 = frozenset(("format", "schema_version", "study_instance_uid", "label", "rois"))
_SET_KEYS_V2 = _SET_KEYS_V1 | {"last_staging"}
_SET_KEYS = {1: _SET_KEYS_V1, 2: _SET_KEYS_V2, 3: _SET_KEYS_V2 | {"measurements", "cricoid_level", "tnm_form"}}


class AnnotationSet(MeasurementOps):
    """The ROIs, measurements and patient label of one study, with change events and exact undo.

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
        (:meth:`npc_desktop.core.staging.record.StagingRecord.to_dict`), or None. It is kept as
        it was read, so that a record this version cannot interpret never costs the ROIs.
    measurements
        Initial rulers and node axes (node axes after their ROIs, see :mod:`.measurement_ops`).
    cricoid_level
        The study's cricoid level, or None.
    tnm_form
        The stored TNM form, a JSON object kept as given (the ``tnm`` package validates it), or
        None. Change it with :meth:`set_tnm_form` so that the change is undoable and autosaved.

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
        *,
        measurements: Iterable[Measurement] = (),
        cricoid_level: Optional[CricoidLevel] = None,
        tnm_form: Optional[Mapping[str, Any]] = None,
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
        self._init_measurements(measurements, cricoid_level, tnm_form)

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
        """Remove the ROI with that id, and its node axes with it (in the same event)."""
        return self._commit(RoiRemoved(self.get(roi_id), self.index_of(roi_id), self._attached_axes(roi_id)))

    def update(self, roi: RectRoi) -> RoiUpdated:
        """Replace the ROI that has ``roi.id`` by ``roi`` (stored as given).

        Raises
        ------
        AnnotationError
            If it is on another study, or the ROI has node axes and would change kind or image.
        """
        old = self.get(roi.id)
        if roi.study_instance_uid != self._study_uid:
            raise AnnotationError("study_instance_uid", f"{roi.study_instance_uid} is not this set's study")
        self._check_roi_change(old, roi)
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
            return RoiRemoved(event.roi, event.index, event.measurements)
        if isinstance(event, RoiRemoved):
            return RoiAdded(event.roi, event.index, event.measurements)
        if isinstance(event, RoiUpdated):
            return RoiUpdated(event.new, event.old, event.index)
        if isinstance(event, LabelChanged):
            return LabelChanged(event.new, event.old)
        if isinstance(event, MeasurementAdded):
            return MeasurementRemoved(event.measurement, event.index)
        if isinstance(event, MeasurementRemoved):
            return MeasurementAdded(event.measurement, event.index)
        if isinstance(event, MeasurementUpdated):
            return MeasurementUpdated(event.new, event.old, event.index)
        if isinstance(event, CricoidLevelChanged):
            return CricoidLevelChanged(event.new, event.old)
        if isinstance(event, TnmFormChanged):
            return TnmFormChanged(event.new, event.old)
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
            **self._measurement_fields(),
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
        known = type(version) is int and version in _SET_KEYS
        fields = _exact_keys(data, _SET_KEYS[version] if known else _SET_KEYS[SCHEMA_VERSION], "")
        if fields["format"] != FORMAT_NAME:
            raise AnnotationError("format", f"expected {FORMAT_NAME!r}, got {fields['format']!r}")
        if not known:
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
        raw_measurements = fields.get("measurements", [])
        if not isinstance(raw_measurements, list):
            raise AnnotationError("measurements", f"must be a list, got {type(raw_measurements).__name__}")
        measurements = [measurement_from_dict(item, where=f"measurements[{i}]")
                        for i, item in enumerate(raw_measurements)]
        raw_cricoid = fields.get("cricoid_level")
        cricoid = CricoidLevel.from_dict(raw_cricoid, where="cricoid_level") if raw_cricoid is not None else None
        return cls(study, rois, label, fields.get("last_staging"), measurements=measurements,
                   cricoid_level=cricoid, tnm_form=fields.get("tnm_form"))

    # -- internals --------------------------------------------------------------------------------

    def _check_new(self, roi: RectRoi) -> None:
        if not isinstance(roi, RectRoi):
            raise TypeError(f"expected a RectRoi, got {type(roi).__name__}")
        if roi.study_instance_uid != self._study_uid:
            raise AnnotationError(
                "study_instance_uid",
                f"ROI {roi.id} is on study {roi.study_instance_uid}, not this set's {self._study_uid}",
            )
        if self._id_in_use(roi.id):
            raise AnnotationError("id", f"an ROI or measurement with id {roi.id} already exists")

    def _commit(self, event: AnnotationEvent) -> Any:
        self._mutate(event)
        self.events.emit(event)
        return event

    def _mutate(self, event: AnnotationEvent) -> None:
        if isinstance(event, RoiAdded):
            self._check_new(event.roi)
            self._rois.insert(min(event.index, len(self._rois)), event.roi)
            self._by_id[event.roi.id] = event.roi
            inserted: list[Measurement] = []
            try:
                for position, measurement in event.measurements:
                    self._check_new_measurement(measurement)
                    self._insert_measurement(position, measurement)
                    inserted.append(measurement)
            except (AnnotationError, TypeError):  # all or nothing
                for measurement in reversed(inserted):
                    self._drop_measurement(measurement)
                self._rois.remove(event.roi)
                del self._by_id[event.roi.id]
                raise
        elif isinstance(event, RoiRemoved):
            self._expect(event.roi)
            if self._attached_axes(event.roi.id) != event.measurements:
                raise ValueError(f"stale event: the node axes of ROI {event.roi.id} are not the ones it removes")
            for _, measurement in reversed(event.measurements):
                self._drop_measurement(measurement)
            self._rois.remove(event.roi)
            del self._by_id[event.roi.id]
        elif isinstance(event, RoiUpdated):
            if event.old.id != event.new.id:
                raise ValueError("an update must keep the ROI id")
            self._expect(event.old)
            self._check_roi_change(event.old, event.new)
            self._rois[self._rois.index(event.old)] = event.new
            self._by_id[event.new.id] = event.new
        elif isinstance(event, LabelChanged):
            if self._label != event.old:
                raise ValueError("stale event: the patient label is not the one the event changes")
            self._label = event.new
        elif not self._mutate_measurement(event):
            raise TypeError(f"not an annotation event: {event!r}")

    def _expect(self, roi: RectRoi) -> None:
        if self._by_id.get(roi.id) != roi:
            raise ValueError(f"stale event: ROI {roi.id} is not in the state the event expects")
