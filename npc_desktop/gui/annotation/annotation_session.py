"""The viewer session with annotations: drawing, jumping to a ROI, the patch preview, export and
import.

:class:`AnnotationSession` extends the viewer's
:class:`~npc_desktop.gui.viewer.viewer_session.ViewerSession` with the study's
:class:`~npc_desktop.gui.annotation.annotation_model.AnnotationModel` (``annotations``) and
follows the study's life through the viewer's hooks: a new study resets the annotations, a
loaded series loads its study's ROIs and may jump to one, a closing window saves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from PySide6.QtCore import QObject, Signal

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.locate import locate, volume_for
from npc_desktop.core.annotation.patches import find_slice
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.core.dicom import Volume
from npc_desktop.core.interop.sr import SrContent, annotated_images
from npc_desktop.gui.annotation import annotation_io, patch_preview
from npc_desktop.gui.annotation.annotation_model import AnnotationModel
from npc_desktop.gui.annotation.measurement_edits import Marked
from npc_desktop.gui.state import IngestMessage
from npc_desktop.gui.viewer.loading import OpenedStudy
from npc_desktop.gui.viewer.viewer_session import ViewerSession
from npc_desktop.gui.workers import JobHandle

StoreArg = Union[AnnotationStore, str, Path, None]
"""An annotation store, or the folder for one (None: the user data folder)."""


class AnnotationSession(ViewerSession):
    """The viewer session plus the study's annotations (see the module docstring)."""

    patch_preview_changed = Signal(object)
    """PatchPreview of the selected ROI, or a sentence saying why there is none."""

    def __init__(self, parent: Optional[QObject] = None, *, annotation_store: StoreArg = None) -> None:
        """``annotation_store`` is an AnnotationStore or the folder for one (tests pass a temporary
        folder); the user data folder by default."""
        super().__init__(parent)
        self._annotation_messages: list[IngestMessage] = []
        store = annotation_store if isinstance(annotation_store, AnnotationStore) else AnnotationStore(annotation_store)
        self.annotations = AnnotationModel(store, self)
        self._pending_jump: dict[int, str] = {}
        self._show_first_roi = False
        self.patch_preview: object = patch_preview.preview_or_reason(None, [], self.annotations.margin)
        a = self.annotations
        a.selection_changed.connect(self._update_patch_preview)
        a.rois_changed.connect(self._update_patch_preview)
        a.margin_changed.connect(self._update_patch_preview)
        a.roi_focus_requested.connect(lambda roi_id: self.show_roi(roi_id, only_if_hidden=True))
        a.measurement_focus_requested.connect(lambda item_id: self.show_measurement(item_id, only_if_hidden=True))
        a.problem.connect(self._on_annotation_problem)

    def shutdown(self) -> None:
        """Stop every job, then save pending annotations (window closing)."""
        super().shutdown()
        self.annotations.close()

    # -- the viewer's hooks ------------------------------------------------------------------

    def _study_replaced(self, opened: OpenedStudy) -> None:
        self._annotation_messages = []
        self._pending_jump.clear()
        self.annotations.reset()
        self._show_first_roi = True
        if opened.demo is not None:
            examples = example_rois(opened.demo)
            self.annotations.offer_examples(examples[0].study_instance_uid, examples)

    def _series_failed(self, vp: int) -> None:
        self._pending_jump.pop(vp, None)
        self._show_first_roi = False

    def _active_volume_changed(self, volume: Volume) -> None:
        self.annotations.set_current_study(volume.meta.study_instance_uid)

    def _extra_messages(self) -> list[IngestMessage]:
        return list(self._annotation_messages)

    # -- annotations -------------------------------------------------------------------------

    def _series_shown(self, vp: int, volume: Volume) -> None:
        """Load the study's annotations, follow a pending jump, refresh the patch preview."""
        study_uid = volume.meta.study_instance_uid
        annotations = self.annotations.study(study_uid)
        if vp == self.active or self.annotations.current_uid is None:
            self.annotations.set_current_study(study_uid)
        refusal = self.annotations.refusal(study_uid)
        if refusal:
            self._add_annotation_message("info", volume.meta.series_description or volume.meta.key,
                                         f"ROIs cannot be drawn on this series: {refusal}")
        target = self._pending_jump.pop(vp, None)
        if target is None and self._show_first_roi and annotations is not None:
            target = self._opening_target(volume, annotations)
        if target is not None and self.annotations.find_measurement(target) is not None:
            self.show_measurement(target)
        elif target is not None:
            self.show_roi(target)
        self._update_patch_preview()

    def _opening_target(self, volume: Volume, annotations: AnnotationSet) -> Optional[str]:
        """The ROI a freshly opened study shows: the one edited last (of ROIs saved together, such
        as the demo's examples, the first). Chosen once the viewport showing its series has loaded,
        or when every viewport has (then its series is loaded)."""
        roi = max(annotations.rois, key=lambda r: r.modified, default=None)  # type: ignore[arg-type,return-value]
        if roi is None:
            self._show_first_roi = False
            return None
        if volume_for(roi, [volume]) is volume or not self._load_jobs:
            self._show_first_roi = False
            return roi.id
        return None

    def roi_for_drawing(self, vp: int, box: tuple[float, float, float, float]) -> Optional[RectRoi]:
        """A new ROI of the current kind on the slice ``vp`` shows (None if it cannot be made)."""
        state = self.viewports[vp]
        volume = state.volume
        if volume is None:
            return None
        ref = volume.slices[state.slice_index]
        meta = volume.meta
        try:
            return RectRoi(study_instance_uid=meta.study_instance_uid, series_instance_uid=meta.series_instance_uid,
                           sop_instance_uid=ref.sop_instance_uid, frame_number=ref.frame_number,
                           row0=box[0], col0=box[1], row1=box[2], col1=box[3], kind=self.annotations.kind)
        except AnnotationError as exc:
            self.error_occurred.emit("Cannot draw a ROI here", f"{meta.series_description or meta.key}: {exc}")
            return None

    def draw_roi(self, vp: int, box: tuple[float, float, float, float]) -> Optional[str]:
        """Add a ROI drawn on the slice ``vp`` shows; returns its id (None if refused)."""
        roi = self.roi_for_drawing(vp, box)
        if roi is None or not self.annotations.add_roi(roi):
            return None
        return roi.id

    def show_roi(self, roi_id: str, *, only_if_hidden: bool = False) -> None:
        """Select a ROI and show its slice: in a viewport that has its series (the active one
        first), else by loading its series into the active viewport.

        With ``only_if_hidden``, nothing moves when some viewport already shows the ROI's slice.
        """
        roi = self.annotations.find(roi_id)
        if roi is None:
            return
        self.annotations.select(roi_id)
        self._show_image_of(roi, only_if_hidden, "The ROI's image is not in the open folder")

    def show_measurement(self, item_id: str, *, only_if_hidden: bool = False) -> None:
        """Select a ruler, node axes or the cricoid level and show the slice it is on (as
        :meth:`show_roi` does for a ROI)."""
        item = self.annotations.find_measurement(item_id)
        if item is None:
            return
        self.annotations.select_measurement(item_id)
        self._show_image_of(item, only_if_hidden, "The measurement's image is not in the open folder")

    def _show_image_of(self, item: Union[RectRoi, Marked], only_if_hidden: bool, missing: str) -> None:
        order = [self.active] + [vp for vp in range(len(self.viewports)) if vp != self.active]
        holding = []
        for vp in order:
            volume = self.viewports[vp].volume
            if volume is not None and volume_for(item, [volume]) is volume:  # type: ignore[arg-type]
                index = find_slice(volume, item.sop_instance_uid, item.frame_number)
                if only_if_hidden and self.viewports[vp].slice_index == index:
                    return
                holding.append((vp, index))
        if holding:
            vp, index = holding[0]
            self.set_active(vp)
            self.set_slice(vp, index)
            return
        found = locate(self.index, item)  # type: ignore[arg-type]
        if found is None:
            self.status_message.emit(missing)
            return
        self._pending_jump[self.active] = item.id
        self.load_series(found[0].key, self.active)

    def _update_patch_preview(self, *_: object) -> None:
        roi = self.annotations.find(self.annotations.selected_id)
        self.patch_preview = patch_preview.preview_or_reason(roi, self.loaded_volumes(), self.annotations.margin)
        self.patch_preview_changed.emit(self.patch_preview)

    def _on_annotation_problem(self, title: str, message: str) -> None:
        self._add_annotation_message("warning", "Annotations", message.split("\n\n")[0])
        self.error_occurred.emit(title, message)

    def _add_annotation_message(self, severity: str, source: str, text: str) -> None:
        self._annotation_messages.append(IngestMessage(severity, source, text))
        self._set_messages(self._index_messages)

    # -- export and import -------------------------------------------------------------------

    def export_annotations(self, fmt: annotation_io.ExportFormat, path: Union[str, Path], *,
                           patient: str = "patient1") -> Optional[JobHandle]:
        """Export the current study's ROIs and measurements in the background (status bar and
        dialog report it)."""
        annotations = self.annotations.current
        if self.index is None or annotations is None or not annotated_images(annotations):
            self.error_occurred.emit("Nothing to export", "The open study has no ROIs or measurements yet.")
            return None
        self.annotations.flush()
        snapshot = AnnotationSet.from_dict(annotations.to_dict())  # the job runs on another thread
        loaded = {v.meta.series_instance_uid: v for v in self.loaded_volumes() if v is not None}
        index, margin, target = self.index, self.annotations.margin, Path(path)
        label = f"Exporting {annotation_io.EXPORT_LABELS[fmt]}"
        return self.jobs.submit(
            label,
            lambda progress, cancel: annotation_io.export_job(fmt, snapshot, index, loaded, target, patient=patient,
                                                              margin=margin, progress=progress, cancel=cancel),
            lambda message: self.status_message.emit(message),
            on_failed=lambda message: self.error_occurred.emit("Export failed", message),
            on_cancelled=lambda: self.status_message.emit(f"{label} cancelled"),
        )

    def import_sr(self, path: Union[str, Path]) -> Optional[JobHandle]:
        """Read the ROIs and measurements of a DICOM SR in the background and add them (one undo
        step)."""
        source, index = Path(path), self.index
        if index is None:
            self.error_occurred.emit("Nothing to import into", "Open the study the SR belongs to first.")
            return None

        def done(content: SrContent) -> None:
            found = content.measurements
            summary = self.annotations.import_annotations(
                content.rois, source.name, [*found.rulers, *found.node_axes], found.cricoid_level)
            self.status_message.emit(summary)
            if self.annotations.selected_id is not None:
                self.show_roi(self.annotations.selected_id)
            elif self.annotations.selected_measurement_id is not None:
                self.show_measurement(self.annotations.selected_measurement_id)

        return self.jobs.submit(
            f"Importing {source.name}",
            lambda progress, cancel: annotation_io.import_sr_job(source, index, progress, cancel),
            done,
            on_failed=lambda message: self.error_occurred.emit("Import failed", message),
        )
