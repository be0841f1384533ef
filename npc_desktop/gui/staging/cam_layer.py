"""The Grad-CAM overlay of one viewport: a heatmap over each staged patch on the shown slice."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QColor

from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.core.models.results import PatchStaging
from npc_desktop.core.reports.figures import jet_rgb
from npc_desktop.gui.staging.cam_colour_bar import CamColourBar
from npc_desktop.gui.staging.staging_session import StagingSession
from npc_desktop.gui.staging.staging_state import CamSettings
from npc_desktop.gui.viewer.box_geometry import pixel_box_to_plane
from npc_desktop.gui.viewer.image_canvas import ImageCanvas

CAM_Z = 5.0
"""Above the slice (0), below the ROI outlines, so the outline of the staged ROI stays visible."""
CAPTION_COLOUR = QColor(255, 236, 160)
BANNER_COLOUR = QColor(255, 120, 90)


def cam_lookup_table() -> np.ndarray:
    """A 256 x 3 RGB jet table (blue weak, green, yellow, red strong): the report's colours."""
    return jet_rgb(np.linspace(0.0, 1.0, 256)).reshape(256, 3).astype(np.uint8)


CAM_LUT = cam_lookup_table()


class CamLayer(QObject):
    """Keeps the heatmaps of viewport ``index`` in step with the staged result and the CAM settings.

    The maps are placed in the same plane millimetres as the slice image (and the ROIs), over
    each patch box; they are hidden while the result is stale (the ROIs changed since staging).
    """

    def __init__(self, session: StagingSession, index: int, canvas: ImageCanvas) -> None:
        super().__init__(canvas)
        self.session = session
        self.index = index
        self.canvas = canvas
        self.items: list[pg.ImageItem] = []
        self.captions: list[pg.TextItem] = []
        self.colour_bar = CamColourBar(canvas, CAM_LUT)
        self._member: Optional[str] = None
        st = session.staging
        session.series_loaded.connect(lambda vp, *_: self.refresh() if vp == self.index else None)
        session.viewport_cleared.connect(lambda vp: self.refresh() if vp == self.index else None)
        session.slice_changed.connect(lambda vp, _: self.refresh() if vp == self.index else None)
        st.result_changed.connect(lambda *_: self.refresh())
        st.stale_changed.connect(lambda *_: self.refresh())
        st.cam_changed.connect(self._on_cam)

    def shown_patches(self) -> list[PatchStaging]:
        """The staged patches on the slice this viewport shows."""
        staged = self.session.staging.staged
        state = self.session.viewports[self.index]
        volume = state.volume
        if staged is None or volume is None or not 0 <= state.slice_index < volume.shape[0]:
            return []
        ref = volume.slices[state.slice_index]
        uid = volume.meta.series_instance_uid
        return [p for p in staged.result.patches
                if p.series_instance_uid == uid and p.sop_instance_uid == ref.sop_instance_uid
                and p.slice_index == state.slice_index]

    def refresh(self) -> None:
        """Rebuild the heatmaps for the current slice, result and settings."""
        self._clear()
        st = self.session.staging
        settings, staged = st.cam, st.staged
        volume = self.session.viewports[self.index].volume
        if staged is None or volume is None or not settings.visible or st.stale:
            self.canvas.set_banner("")
            self.colour_bar.hide()
            return
        member_label = self._member_label(settings)
        for patch in self.shown_patches():
            cam = patch.cam_mean if settings.member is None else patch.cams.get(settings.member)
            if cam is None:
                continue
            item = pg.ImageItem(np.asarray(cam, dtype=np.float32), axisOrder="row-major")
            item.setLookupTable(CAM_LUT)
            item.setLevels((0.0, 1.0))
            x, y, width, height = pixel_box_to_plane(volume, patch.box)
            item.setRect(QRectF(x, y, width, height))
            item.setOpacity(settings.opacity)
            item.setZValue(CAM_Z)
            self.canvas.view_box.addItem(item, ignoreBounds=True)
            self.items.append(item)
            # Under the box: the ROI outline carries its kind label above it.
            caption = pg.TextItem(f"Grad-CAM {member_label} → {patch.cam_class}", color=CAPTION_COLOUR,
                                  anchor=(0.0, 0.0), fill=pg.mkBrush(0, 0, 0, 160))
            caption.setPos(x, y + height)
            caption.setZValue(CAM_Z + 1)
            self.canvas.view_box.addItem(caption, ignoreBounds=True)
            self.captions.append(caption)
        if self.items:
            self.colour_bar.show_for(member_label)
        else:
            self.colour_bar.hide()
        untrained = staged.result.untrained_demo and bool(self.items)
        self.canvas.set_banner(UNTRAINED_LABEL if untrained else "", BANNER_COLOUR)

    def _member_label(self, settings: CamSettings) -> str:
        if settings.member is None:
            return "ensemble mean"
        from npc_desktop.core.reports.assemble import display_names

        staged = self.session.staging.staged
        manifest = staged.engine.manifest if staged is not None and staged.engine is not None else None
        return display_names(staged.result, manifest).get(settings.member, settings.member) if staged else ""

    def _on_cam(self, settings: CamSettings) -> None:
        if self.items and settings.visible and settings.member == self._member:
            for item in self.items:  # only the opacity changed: no need to rebuild
                item.setOpacity(settings.opacity)
            self.canvas.viewport().update()
            return
        self.refresh()

    def _clear(self) -> None:
        for item in [*self.items, *self.captions]:
            self.canvas.view_box.removeItem(item)
        self.items.clear()
        self.captions.clear()
        self._member = self.session.staging.cam.member
        self.canvas.viewport().update()
