"""Change events of an annotation set and a minimal synchronous emitter.

Every operation of :class:`~npc_desktop.core.annotation.annotation_set.AnnotationSet` returns
the event it emitted, and the set can revert and re-apply such an event exactly, so an undo
command only has to keep the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Optional, TypeVar, Union

from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.measurements import CricoidLevel, Measurement
from npc_desktop.core.annotation.rois import RectRoi

# --------------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class RoiAdded:
    """``roi`` was inserted at position ``index``.

    ``measurements`` are the ``(position, measurement)`` pairs inserted with it, in ascending
    position: only when undoing a :class:`RoiRemoved` that took the node's axes with it.
    """

    roi: RectRoi
    index: int
    measurements: tuple[tuple[int, Measurement], ...] = ()


@dataclass(frozen=True)
class RoiRemoved:
    """``roi`` was removed from position ``index``.

    Removing a lymph-node ROI removes its :class:`NodeAxes` in the same event:
    ``measurements`` holds their ``(position, measurement)`` pairs in ascending position, so that
    one undo brings both back.
    """

    roi: RectRoi
    index: int
    measurements: tuple[tuple[int, Measurement], ...] = ()


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


@dataclass(frozen=True)
class MeasurementAdded:
    """``measurement`` (a ruler or node axes) was inserted at position ``index``."""

    measurement: Measurement
    index: int


@dataclass(frozen=True)
class MeasurementRemoved:
    """``measurement`` was removed from position ``index``."""

    measurement: Measurement
    index: int


@dataclass(frozen=True)
class MeasurementUpdated:
    """The measurement at ``index`` was replaced: ``old`` and ``new`` share one id and type."""

    old: Measurement
    new: Measurement
    index: int


@dataclass(frozen=True)
class CricoidLevelChanged:
    """The study's cricoid level was set, moved or cleared (None)."""

    old: Optional[CricoidLevel]
    new: Optional[CricoidLevel]


@dataclass(frozen=True)
class TnmFormChanged:
    """The stored TNM form (a JSON object, or None) changed from ``old`` to ``new``."""

    old: Optional[dict[str, Any]]
    new: Optional[dict[str, Any]]


AnnotationEvent = Union[
    RoiAdded, RoiRemoved, RoiUpdated, LabelChanged,
    MeasurementAdded, MeasurementRemoved, MeasurementUpdated, CricoidLevelChanged, TnmFormChanged,
]

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
