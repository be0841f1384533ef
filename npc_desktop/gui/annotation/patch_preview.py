"""The patch preview of a ROI: the core's crop, shown raw and after CLAHE (plain functions, no Qt).

Both images come from :func:`npc_desktop.core.models.patch_preprocessing.prepare_patch`, the function the ensemble
and the dataset export call, with the core's default :class:`PatchPreprocessing`: "raw" is the
patch normalised to 8 bits without CLAHE, "CLAHE" is exactly what the models are given before
resizing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np

from npc_desktop.core.annotation.locate import volume_for
from npc_desktop.core.annotation.patches import ContextMargin, PatchError
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.dicom import Volume
from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing, prepare_patch

PREPROCESSING = PatchPreprocessing()
"""The preprocessing the preview shows (the core's default, as the pipeline uses)."""


@dataclass(frozen=True, eq=False)
class PatchPreview:
    """What the patch panel shows for one ROI.

    Attributes
    ----------
    roi
        The ROI.
    raw, enhanced
        uint8 images of the patch, normalised without and with CLAHE (same shape).
    roi_in_patch
        ``(row0, col0, row1, col1)`` of the ROI relative to the patch.
    size_px, size_mm
        ``(height, width)`` of the patch.
    clipped_sides
        Image edges that cut the patch ("top", "left"...).
    margin
        The context margin used.
    """

    roi: RectRoi
    raw: np.ndarray
    enhanced: np.ndarray
    roi_in_patch: tuple[float, float, float, float]
    size_px: tuple[int, int]
    size_mm: tuple[float, float]
    clipped_sides: frozenset[str]
    margin: ContextMargin

    @property
    def caption(self) -> str:
        """One line: patch size in pixels and mm, margin, clipping."""
        text = (f"Patch {self.size_px[1]} × {self.size_px[0]} px, "
                f"{self.size_mm[1]:.1f} × {self.size_mm[0]:.1f} mm; "
                f"margin {self.margin.fraction * 100:g} %")
        if self.margin.mm:
            text += f" + {self.margin.mm:g} mm"
        if self.clipped_sides:
            order = [s for s in ("top", "bottom", "left", "right") if s in self.clipped_sides]
            text += "; cut at the " + ", ".join(order) + " edge"
        return text


def make_preview(volume: Volume, roi: RectRoi, margin: ContextMargin) -> PatchPreview:
    """Crop and preprocess the ROI's patch.

    Raises
    ------
    PatchError
        If the patch cannot be cropped (the core's message names the reason).
    """
    enhanced = prepare_patch(volume, roi, margin=margin, preprocessing=PREPROCESSING)
    raw = prepare_patch(volume, roi, margin=margin, preprocessing=replace(PREPROCESSING, clahe=False))
    patch = enhanced.patch
    return PatchPreview(
        roi=roi,
        raw=np.ascontiguousarray(raw.image),
        enhanced=np.ascontiguousarray(enhanced.image),
        roi_in_patch=patch.roi_in_patch,
        size_px=(patch.box.height, patch.box.width),
        size_mm=patch.size_mm,
        clipped_sides=patch.geometry.clipped_sides,
        margin=margin,
    )


def preview_or_reason(roi: Optional[RectRoi], volumes: Sequence[Optional[Volume]],
                      margin: ContextMargin) -> PatchPreview | str:
    """The preview of ``roi``, or a sentence saying why there is none."""
    if roi is None:
        return "Select a ROI to see its patch"
    volume = volume_for(roi, volumes)
    if volume is None:
        return "Show the ROI's series in a viewport to see its patch"
    try:
        return make_preview(volume, roi, margin)
    except PatchError as exc:
        return f"No patch: {exc}"
