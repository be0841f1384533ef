"""The colour of each ROI kind, shared by the workstation and the PDF report (no Qt).

Orange-red and teal: apart in hue and in lightness for colour-blind readers, and neither is the
blue of the active-viewport frame nor the yellow of the orientation labels.
"""

from __future__ import annotations

from npc_desktop.core.annotation.rois import RoiKind

__all__ = ["ROI_COLOURS", "ROI_COLOUR_NAMES", "RULER_COLOUR", "RULER_COLOUR_NAME", "hex_to_rgb", "roi_colour_rgb"]

ROI_COLOURS: dict[RoiKind, str] = {RoiKind.TUMOUR: "#ff6a3d", RoiKind.LYMPH_NODE: "#3ad4c0"}
"""Outline colour of each kind as ``#rrggbb``."""

ROI_COLOUR_NAMES: dict[RoiKind, str] = {RoiKind.TUMOUR: "orange-red", RoiKind.LYMPH_NODE: "teal"}
"""The colours in words, for legends and captions."""

RULER_COLOUR = "#c792ff"
"""Colour of distance rulers: a light violet, apart from both ROI kinds, the viewport blue and the
label yellow. A node's long and short axes take the lymph-node colour of the node they measure."""

RULER_COLOUR_NAME = "violet"

UNKNOWN_KIND_RGB = (255, 255, 0)


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as an RGB triple."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def roi_colour_rgb(kind: str | RoiKind) -> tuple[int, int, int]:
    """The outline colour of a kind (its value, e.g. ``"tumour"``) as an RGB triple.

    Parameters
    ----------
    kind
        A :class:`~npc_desktop.core.annotation.rois.RoiKind` or its value; an unknown kind is yellow.
    """
    try:
        colour = ROI_COLOURS[RoiKind(kind)]
    except ValueError:
        return UNKNOWN_KIND_RGB
    return hex_to_rgb(colour)
