"""The measurement half of :class:`~npc_desktop.core.annotation.annotation_set.AnnotationSet`:
rulers, node axes, the cricoid level and the stored TNM form, with their undoable operations.

Kept apart from the ROI half so that each module stays readable; :class:`MeasurementOps` is a
base class of ``AnnotationSet`` and works on the state that class owns.

Rules the set enforces:

- every id is unique across ROIs, measurements and the cricoid level (the SR tracks them all);
- node axes are bound to an existing lymph-node ROI, drawn on the ROI's image, one pair per ROI;
- a ROI with node axes keeps its kind and image (the axes would be left describing something
  else); removing it removes its axes in the same event, so one undo restores both.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping, Optional

from npc_desktop.core.annotation.events import (
    CricoidLevelChanged,
    MeasurementAdded,
    MeasurementRemoved,
    MeasurementUpdated,
    TnmFormChanged,
)
from npc_desktop.core.annotation.measurements import CricoidLevel, Measurement, NodeAxes, Ruler
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import AnnotationError

__all__ = ["MeasurementOps", "copy_json_object"]


def copy_json_object(name: str, value: Any) -> Optional[dict[str, Any]]:
    """A deep copy of a JSON object (or None), so that later edits of ``value`` never reach the set.

    Raises
    ------
    AnnotationError
        Naming ``name`` if the value is not a JSON object with string keys and finite numbers.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise AnnotationError(name, f"must be an object or null, got {type(value).__name__}")
    try:
        copied = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise AnnotationError(name, f"is not JSON: {exc}") from None
    if copied != value:  # non-string keys are silently turned into strings by json.dumps
        raise AnnotationError(name, "does not survive a JSON round trip (keys must be strings)")
    return copied  # type: ignore[no-any-return]


class MeasurementOps:
    """Measurement state and operations of an annotation set (see the module notes)."""

    _study_uid: str
    _by_id: dict[str, RectRoi]
    _commit: Callable[[Any], Any]

    def _init_measurements(
        self, measurements: Iterable[Measurement], cricoid_level: Optional[CricoidLevel], tnm_form: Any
    ) -> None:
        self._measurements: list[Measurement] = []
        self._measurement_by_id: dict[str, Measurement] = {}
        self._cricoid: Optional[CricoidLevel] = None
        self._tnm_form = copy_json_object("tnm_form", tnm_form)
        for position, measurement in enumerate(measurements):
            try:
                self._check_new_measurement(measurement)
            except AnnotationError as exc:
                raise exc.within(f"measurements[{position}]") from None
            self._insert_measurement(len(self._measurements), measurement)
        if cricoid_level is not None:
            try:
                self._check_cricoid(cricoid_level)
            except AnnotationError as exc:
                raise exc.within("cricoid_level") from None
            self._cricoid = cricoid_level

    # -- queries ----------------------------------------------------------------------------------

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Rulers and node axes in drawing order."""
        return tuple(self._measurements)

    @property
    def rulers(self) -> tuple[Ruler, ...]:
        """The distance rulers in drawing order."""
        return tuple(m for m in self._measurements if isinstance(m, Ruler))

    @property
    def node_axes(self) -> tuple[NodeAxes, ...]:
        """The node axes in drawing order."""
        return tuple(m for m in self._measurements if isinstance(m, NodeAxes))

    @property
    def cricoid_level(self) -> Optional[CricoidLevel]:
        """The study's cricoid level, or None when it has not been marked."""
        return self._cricoid

    @property
    def tnm_form(self) -> Optional[dict[str, Any]]:
        """A copy of the stored TNM form (JSON, validated by the ``tnm`` package), or None."""
        return copy_json_object("tnm_form", self._tnm_form)

    def get_measurement(self, measurement_id: str) -> Measurement:
        """The ruler or node axes with that id.

        Raises
        ------
        KeyError
            If there is none.
        """
        try:
            return self._measurement_by_id[measurement_id]
        except KeyError:
            raise KeyError(f"no measurement with id {measurement_id!r} in study {self._study_uid}") from None

    def measurement_index(self, measurement_id: str) -> int:
        """Position of a measurement in drawing order."""
        return self._measurements.index(self.get_measurement(measurement_id))

    def axes_for_roi(self, roi_id: str) -> Optional[NodeAxes]:
        """The long and short axes bound to a node ROI, or None."""
        for measurement in self._measurements:
            if isinstance(measurement, NodeAxes) and measurement.roi_id == roi_id:
                return measurement
        return None

    def measurements_on(self, sop_instance_uid: str, frame_number: Optional[int] = None) -> list[Measurement]:
        """Rulers and node axes drawn on one image (one frame of a multi-frame image)."""
        return [m for m in self._measurements if m.is_on(sop_instance_uid, frame_number)]

    # -- operations (each emits and returns one event) --------------------------------------------

    def add_measurement(self, measurement: Measurement, *, index: Optional[int] = None) -> MeasurementAdded:
        """Insert a ruler or node axes (at the end, or at ``index``).

        Raises
        ------
        AnnotationError
            If it belongs to another study, reuses an id, or (node axes) its ROI is missing, not a
            lymph node, on another image, or already has axes.
        """
        self._check_new_measurement(measurement)
        count = len(self._measurements)
        position = count if index is None else max(0, min(index, count))
        return self._commit(MeasurementAdded(measurement, position))  # type: ignore[no-any-return]

    def remove_measurement(self, measurement_id: str) -> MeasurementRemoved:
        """Remove the ruler or node axes with that id."""
        measurement = self.get_measurement(measurement_id)
        return self._commit(  # type: ignore[no-any-return]
            MeasurementRemoved(measurement, self._measurements.index(measurement))
        )

    def update_measurement(self, measurement: Measurement) -> MeasurementUpdated:
        """Replace the measurement that has ``measurement.id`` (same type, image and ROI)."""
        old = self.get_measurement(measurement.id)
        self._check_replacement(old, measurement)
        return self._commit(  # type: ignore[no-any-return]
            MeasurementUpdated(old, measurement, self._measurements.index(old))
        )

    def move_measurement(self, measurement_id: str, d_row: float, d_col: float) -> MeasurementUpdated:
        """Shift a ruler or node axes by ``d_row`` rows and ``d_col`` columns."""
        return self.update_measurement(self.get_measurement(measurement_id).moved(d_row, d_col))

    def set_cricoid_level(self, level: Optional[CricoidLevel]) -> CricoidLevelChanged:
        """Mark, move (same or new id) or clear (None) the study's cricoid level."""
        if level is not None:
            self._check_cricoid(level)
        return self._commit(CricoidLevelChanged(self._cricoid, level))  # type: ignore[no-any-return]

    def set_tnm_form(self, form: Optional[Mapping[str, Any]]) -> TnmFormChanged:
        """Store the TNM form (any JSON object; the ``tnm`` package defines and validates it)."""
        return self._commit(  # type: ignore[no-any-return]
            TnmFormChanged(self.tnm_form, copy_json_object("tnm_form", form))
        )

    # -- checks -----------------------------------------------------------------------------------

    def _id_in_use(self, item_id: str) -> bool:
        cricoid = getattr(self, "_cricoid", None)
        return (item_id in self._by_id or item_id in getattr(self, "_measurement_by_id", {})
                or (cricoid is not None and cricoid.id == item_id))

    def _check_new_measurement(self, measurement: Measurement) -> None:
        if not isinstance(measurement, (Ruler, NodeAxes)):
            raise TypeError(f"expected a Ruler or NodeAxes, got {type(measurement).__name__}")
        if measurement.study_instance_uid != self._study_uid:
            raise AnnotationError(
                "study_instance_uid",
                f"measurement {measurement.id} is on study {measurement.study_instance_uid}, not {self._study_uid}",
            )
        if self._id_in_use(measurement.id):
            raise AnnotationError("id", f"id {measurement.id} is already used in this study")
        if isinstance(measurement, NodeAxes):
            self._check_axes_target(measurement)
            if self.axes_for_roi(measurement.roi_id) is not None:
                raise AnnotationError("roi_id", f"ROI {measurement.roi_id} already has node axes; update them instead")

    def _check_axes_target(self, axes: NodeAxes) -> None:
        roi = self._by_id.get(axes.roi_id)
        if roi is None:
            raise AnnotationError("roi_id", f"there is no ROI {axes.roi_id} in this study")
        if roi.kind is not RoiKind.LYMPH_NODE:
            raise AnnotationError("roi_id", f"ROI {roi.id} is a {roi.kind.value}, not a lymph node")
        if not roi.is_on(axes.sop_instance_uid, axes.frame_number) or roi.series_instance_uid != axes.series_instance_uid:
            raise AnnotationError("sop_instance_uid", f"node axes must be drawn on the image of ROI {roi.id}")

    def _check_replacement(self, old: Measurement, new: Measurement) -> None:
        if type(new) is not type(old):
            raise AnnotationError("type", f"measurement {old.id} is a {type(old).__name__}, not a {type(new).__name__}")
        if new.study_instance_uid != self._study_uid:
            raise AnnotationError("study_instance_uid", f"{new.study_instance_uid} is not this set's study")
        if isinstance(new, NodeAxes):
            if new.roi_id != old.roi_id:  # type: ignore[union-attr]
                raise AnnotationError("roi_id", "node axes stay bound to their ROI; remove and add them instead")
            self._check_axes_target(new)

    def _check_cricoid(self, level: CricoidLevel) -> None:
        if not isinstance(level, CricoidLevel):
            raise TypeError(f"expected a CricoidLevel, got {type(level).__name__}")
        if level.study_instance_uid != self._study_uid:
            raise AnnotationError("study_instance_uid", f"the cricoid level is on study {level.study_instance_uid}")
        current = getattr(self, "_cricoid", None)
        if (current is None or current.id != level.id) and self._id_in_use(level.id):
            raise AnnotationError("id", f"id {level.id} is already used in this study")

    def _check_roi_change(self, old: RectRoi, new: RectRoi) -> None:
        """A ROI with node axes keeps its kind and image."""
        if self.axes_for_roi(old.id) is None:
            return
        if new.kind is not RoiKind.LYMPH_NODE:
            raise AnnotationError("kind", f"ROI {old.id} has node axes; delete them before changing its kind")
        if not new.is_on(old.sop_instance_uid, old.frame_number) or new.series_instance_uid != old.series_instance_uid:
            raise AnnotationError("sop_instance_uid", f"ROI {old.id} has node axes on its image; it cannot change image")

    def _attached_axes(self, roi_id: str) -> tuple[tuple[int, Measurement], ...]:
        return tuple((i, m) for i, m in enumerate(self._measurements)
                     if isinstance(m, NodeAxes) and m.roi_id == roi_id)

    # -- mutation (called by AnnotationSet._mutate) -----------------------------------------------

    def _insert_measurement(self, index: int, measurement: Measurement) -> None:
        self._measurements.insert(min(index, len(self._measurements)), measurement)
        self._measurement_by_id[measurement.id] = measurement

    def _drop_measurement(self, measurement: Measurement) -> None:
        self._expect_measurement(measurement)
        self._measurements.remove(measurement)
        del self._measurement_by_id[measurement.id]

    def _expect_measurement(self, measurement: Measurement) -> None:
        if self._measurement_by_id.get(measurement.id) != measurement:
            raise ValueError(f"stale event: measurement {measurement.id} is not in the state the event expects")

    def _mutate_measurement(self, event: Any) -> bool:
        """Apply a measurement event; False if ``event`` is not one."""
        if isinstance(event, MeasurementAdded):
            self._check_new_measurement(event.measurement)
            self._insert_measurement(event.index, event.measurement)
        elif isinstance(event, MeasurementRemoved):
            self._drop_measurement(event.measurement)
        elif isinstance(event, MeasurementUpdated):
            if event.old.id != event.new.id:
                raise ValueError("an update must keep the measurement id")
            self._expect_measurement(event.old)
            self._check_replacement(event.old, event.new)
            self._measurements[self._measurements.index(event.old)] = event.new
            self._measurement_by_id[event.new.id] = event.new
        elif isinstance(event, CricoidLevelChanged):
            if self._cricoid != event.old:
                raise ValueError("stale event: the cricoid level is not the one the event changes")
            if event.new is not None:
                self._check_cricoid(event.new)
            self._cricoid = event.new
        elif isinstance(event, TnmFormChanged):
            if self._tnm_form != event.old:
                raise ValueError("stale event: the TNM form is not the one the event changes")
            self._tnm_form = copy_json_object("tnm_form", event.new)
        else:
            return False
        return True

    # -- serialisation helpers --------------------------------------------------------------------

    def _measurement_fields(self) -> dict[str, Any]:
        return {
            "measurements": [m.to_dict() for m in self._measurements],
            "cricoid_level": self._cricoid.to_dict() if self._cricoid is not None else None,
            "tnm_form": self.tnm_form,
        }
