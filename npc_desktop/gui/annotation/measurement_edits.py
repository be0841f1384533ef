"""The measurement half of the annotation model: rulers, node axes and the cricoid level as undoable
edits, their selection, and importing ROIs with measurements in one undo step.

:class:`MeasurementEdits` is a base of
:class:`~npc_desktop.gui.annotation.annotation_model.AnnotationModel` and works through the undo
stack, the read-only checks and the signals that class owns. Every edit is one undo step that
the autosaver writes like any ROI edit. The core's
:mod:`~npc_desktop.core.annotation.measurement_ops` does the checking; a refusal is shown as its
one-line message and changes nothing.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence, Union

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.events import AnnotationEvent
from npc_desktop.core.annotation.measurements import CricoidLevel, Measurement, NodeAxes, Ruler
from npc_desktop.core.annotation.rois import RectRoi

Marked = Union[Measurement, CricoidLevel]
"""Anything the measurement list shows: a ruler, node axes or the cricoid level."""

MEASUREMENT_NAMES: dict[type, str] = {Ruler: "Ruler", NodeAxes: "Node Axes", CricoidLevel: "Cricoid Level"}


class MeasurementEdits:
    """Measurement edits and selection of the annotation model (see the module docstring)."""

    # Provided by AnnotationModel.
    problem: Any
    measurement_selection_changed: Any
    measurement_focus_requested: Any
    undo_stack: Any
    selected_id: Optional[str]
    study: Callable[[Optional[str]], Optional[AnnotationSet]]
    read_only_reason: Callable[[str], Optional[str]]
    select: Callable[[Optional[str]], None]
    delete_roi: Callable[..., bool]
    _refused: dict[str, str]
    _studies: dict[str, Any]
    _push: Callable[..., bool]

    selected_measurement_id: Optional[str] = None

    # -- queries ----------------------------------------------------------------------------------

    def find_measurement(self, item_id: Optional[str]) -> Optional[Marked]:
        """The ruler, node axes or cricoid level with that id in any loaded study, or None."""
        annotations = self._set_of_measurement(item_id)
        if annotations is None or item_id is None:
            return None
        level = annotations.cricoid_level
        if level is not None and level.id == item_id:
            return level
        return annotations.get_measurement(item_id)

    def measurements_on(self, study_uid: str, sop_instance_uid: str, frame_number: Optional[int]) -> list[Measurement]:
        """Rulers and node axes drawn on one image of a study."""
        annotations = self.study(study_uid)
        return annotations.measurements_on(sop_instance_uid, frame_number) if annotations is not None else []

    def cricoid_of(self, study_uid: Optional[str]) -> Optional[CricoidLevel]:
        """The cricoid level of a loaded study, or None."""
        annotations = self.study(study_uid)
        return annotations.cricoid_level if annotations is not None else None

    def _set_of_measurement(self, item_id: Optional[str]) -> Optional[AnnotationSet]:
        if item_id is None:
            return None
        for state in self._studies.values():
            annotations: AnnotationSet = state.annotations
            level = annotations.cricoid_level
            if (level is not None and level.id == item_id) or any(m.id == item_id for m in annotations.measurements):
                return annotations
        return None

    # -- edits (each one undo step) ---------------------------------------------------------------

    def add_measurement(self, measurement: Measurement) -> bool:
        """Add a ruler or node axes to its study and select it; False if refused (said why)."""
        annotations = self._writable(measurement.study_instance_uid, "Cannot add the measurement")
        if annotations is None:
            return False
        text = f"Draw {MEASUREMENT_NAMES[type(measurement)]}"
        if self._push(annotations, text, lambda: annotations.add_measurement(measurement), measurement.id):
            self.select_measurement(measurement.id)
            return True
        return False

    def set_measurement(self, measurement: Measurement) -> bool:
        """Replace a ruler or node axes by a moved or reshaped copy (same id); False if unchanged
        or refused."""
        annotations = self._set_of_measurement(measurement.id)
        if annotations is None:
            return False
        old = annotations.get_measurement(measurement.id)
        if _same_geometry(old, measurement):
            return False
        text = f"Move {MEASUREMENT_NAMES[type(measurement)]}"
        return self._push(annotations, text, lambda: annotations.update_measurement(measurement), measurement.id)

    def set_cricoid_level(self, level: CricoidLevel) -> bool:
        """Mark the study's cricoid level, replacing the one marked before (one undo step)."""
        annotations = self._writable(level.study_instance_uid, "Cannot mark the cricoid level")
        if annotations is None:
            return False
        text = "Move Cricoid Level" if annotations.cricoid_level is not None else "Mark Cricoid Level"
        if self._push(annotations, text, lambda: annotations.set_cricoid_level(level), level.id):
            self.select_measurement(level.id)
            return True
        return False

    def delete_measurement(self, item_id: Optional[str] = None) -> bool:
        """Delete a ruler, node axes or the cricoid level (the selected measurement by default)."""
        item_id = item_id or self.selected_measurement_id
        item = self.find_measurement(item_id)
        annotations = self._set_of_measurement(item_id)
        if item is None or annotations is None:
            return False
        text = f"Delete {MEASUREMENT_NAMES[type(item)]}"
        if isinstance(item, CricoidLevel):
            return self._push(annotations, text, lambda: annotations.set_cricoid_level(None), item.id)
        return self._push(annotations, text, lambda: annotations.remove_measurement(item.id), item.id)

    def delete_selected(self) -> bool:
        """Delete the selected measurement, else the selected ROI (the Delete key)."""
        if self.selected_measurement_id is not None:
            return self.delete_measurement(self.selected_measurement_id)
        return self.delete_roi()

    def _writable(self, study_uid: str, title: str) -> Optional[AnnotationSet]:
        annotations = self.study(study_uid)
        if annotations is None:
            self.problem.emit(title, self._refused.get(study_uid, "its study is not open"))
        return annotations

    # -- selection --------------------------------------------------------------------------------

    def select_measurement(self, item_id: Optional[str]) -> None:
        """Select a measurement by id (None clears it). A ROI and a measurement are never selected
        together, so Delete always means the one highlighted."""
        if item_id is not None and self.find_measurement(item_id) is None:
            item_id = None
        if item_id is not None:
            self.select(None)
        if item_id != self.selected_measurement_id:
            self.selected_measurement_id = item_id
            self.measurement_selection_changed.emit(item_id)

    def _focus_measurement(self, item_id: Optional[str]) -> bool:
        """After undo or redo: select and show the measurement the step concerned, if it exists."""
        if self.find_measurement(item_id) is None:
            return False
        self.select_measurement(item_id)
        self.measurement_focus_requested.emit(item_id)
        return True

    # -- import -----------------------------------------------------------------------------------

    def import_annotations(self, rois: Iterable[RectRoi], source: str, measurements: Sequence[Measurement] = (),
                           cricoid_level: Optional[CricoidLevel] = None) -> str:
        """Add imported ROIs, measurements and a cricoid level in one undo step; returns a summary.

        Items whose id is already present are skipped (the current version is kept), so a second
        import changes nothing; items of a study that cannot be loaded or is read-only are
        skipped and counted; node axes whose ROI is neither present nor imported are skipped.
        An imported cricoid level replaces the study's (there is one per study).
        """
        steps: list[tuple[AnnotationSet, str, Callable[[], AnnotationEvent], str]] = []
        counts = {"roi": 0, "measurement": 0, "cricoid": 0, "present": 0, "refused": 0, "unbound": 0}
        taken: set[str] = set()
        for roi in rois:
            self._plan(roi, steps, counts, taken, "roi", lambda a, r=roi: a.add(r))
        for measurement in measurements:
            if isinstance(measurement, NodeAxes) and not self._bound(measurement, taken):
                counts["unbound"] += 1
                continue
            self._plan(measurement, steps, counts, taken, "measurement",
                       lambda a, m=measurement: a.add_measurement(m))
        if cricoid_level is not None:
            self._plan(cricoid_level, steps, counts, taken, "cricoid", lambda a: a.set_cricoid_level(cricoid_level))
        if steps:
            self.undo_stack.beginMacro(_import_text(counts))
            for annotations, text, operation, item_id in steps:
                self._push(annotations, text, operation, item_id)
            self.undo_stack.endMacro()
            first = steps[0][3]
            if counts["roi"]:
                self.select(first)
            else:
                self.select_measurement(first)
        return _summary(counts, source)

    def _plan(self, item: Any, steps: list, counts: dict[str, int], taken: set[str], what: str,
              operation: Callable[[AnnotationSet], AnnotationEvent]) -> None:
        annotations = self.study(item.study_instance_uid)
        if annotations is None or self.read_only_reason(item.study_instance_uid) is not None:
            counts["refused"] += 1
            return
        level = annotations.cricoid_level
        present = item.id in taken or (
            what == "cricoid" and level is not None and level.id == item.id and level.position == item.position)
        if what == "roi":
            present = present or item.id in annotations
        elif what == "measurement":
            present = present or any(m.id == item.id for m in annotations.measurements) or (
                isinstance(item, NodeAxes) and annotations.axes_for_roi(item.roi_id) is not None)
        if present:
            counts["present"] += 1
            return
        taken.add(item.id)
        counts[what] += 1
        name = {"roi": "ROI", "measurement": MEASUREMENT_NAMES.get(type(item), ""), "cricoid": "Cricoid Level"}[what]
        steps.append((annotations, f"Import {name}", lambda a=annotations: operation(a), item.id))

    def _bound(self, axes: NodeAxes, taken: set[str]) -> bool:
        annotations = self.study(axes.study_instance_uid)
        return axes.roi_id in taken or (annotations is not None and axes.roi_id in annotations)


def _same_geometry(old: Measurement, new: Measurement) -> bool:
    if isinstance(old, Ruler) and isinstance(new, Ruler):
        return (old.start, old.end) == (new.start, new.end)
    if isinstance(old, NodeAxes) and isinstance(new, NodeAxes):
        return (old.long_axis, old.short_axis) == (new.long_axis, new.short_axis)
    return False


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _import_text(counts: dict[str, int]) -> str:
    """The undo text: "Import 5 ROIs", "Import 2 ROIs and 3 Measurements"."""
    parts = []
    if counts["roi"]:
        parts.append(_plural(counts["roi"], "ROI"))
    if counts["measurement"]:
        parts.append(_plural(counts["measurement"], "Measurement"))
    if counts["cricoid"]:
        parts.append("the Cricoid Level")
    return "Import " + " and ".join(parts)


def _summary(counts: dict[str, int], source: str) -> str:
    imported = [f"{counts['roi']} ROI(s)"]
    if counts["measurement"]:
        imported.append(f"{counts['measurement']} measurement(s)")
    if counts["cricoid"]:
        imported.append("the cricoid level")
    parts = [f"{', '.join(imported)} imported from {source}"]
    if counts["present"]:
        parts.append(f"{counts['present']} already present (kept as they are)")
    if counts["unbound"]:
        parts.append(f"{counts['unbound']} node axes skipped: their ROI is not in the study")
    if counts["refused"]:
        parts.append(f"{counts['refused']} skipped: their study cannot hold annotations or is read-only here")
    return "; ".join(parts)
