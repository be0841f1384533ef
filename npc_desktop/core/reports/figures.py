"""Pictures for the report, drawn without Qt: key slices with ROIs and Grad-CAM, the agreement chart."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import cv2
import numpy as np

from npc_desktop.core.annotation.colours import ROI_COLOURS, RULER_COLOUR, hex_to_rgb, roi_colour_rgb
from npc_desktop.core.preprocessing import window_to_uint8

KIND_COLOURS_RGB: dict[str, tuple[int, int, int]] = {kind.value: roi_colour_rgb(kind) for kind in ROI_COLOURS}
"""ROI outline colours by RoiKind value: the workstation's colours."""
EDGE_LABEL_RGB = (255, 210, 90)
"""The viewer's yellow for orientation labels."""
OUTLINE_RGB = (0, 0, 0)
RULER_RGB = hex_to_rgb(RULER_COLOUR)
"""The workstation's ruler colour."""


@dataclass(frozen=True)
class BoxOverlay:
    """A ROI outline: half-open pixel box (row0, col0, row1, col1) and its kind."""

    box: tuple[float, float, float, float]
    kind: str
    label: str = ""


@dataclass(frozen=True)
class HeatmapOverlay:
    """A Grad-CAM map in [0, 1] covering the slice region ``box`` (row0, col0, row1, col1)."""

    heatmap: np.ndarray
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class LineOverlay:
    """A measured line (ruler or node axis) between two sub-pixel ``(row, column)`` points, with
    its colour and its length written beside its end."""

    start: tuple[float, float]
    end: tuple[float, float]
    colour: tuple[int, int, int]
    label: str = ""


def jet_rgb(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to a jet-like RGB uint8 colour (blue weak, red strong)."""
    scaled = np.clip(np.nan_to_num(values) * 255.0, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(scaled, cv2.COLORMAP_JET)[..., ::-1]


def render_key_image(
    pixels: np.ndarray,
    *,
    window: tuple[float, float],
    boxes: Sequence[BoxOverlay] = (),
    heatmaps: Sequence[HeatmapOverlay] = (),
    lines: Sequence[LineOverlay] = (),
    opacity: float = 0.45,
    max_side: int = 512,
    crop_to: Optional[tuple[int, int, int, int]] = None,
    relative: bool = True,
    orientation: Optional[Mapping[str, str]] = None,
) -> np.ndarray:
    """Draw a slice with its ROIs and Grad-CAM heatmaps as an RGB uint8 image.

    Parameters
    ----------
    pixels
        The slice, shape (rows, columns), in stored values.
    window
        (centre, width) of the display window.
    boxes
        ROI outlines in slice pixel coordinates.
    heatmaps
        Grad-CAM maps in [0, 1], each over its box; blended with ``opacity`` where the map is
        above 0.1 so weak evidence does not tint the whole ROI.
    lines
        Rulers and node axes in slice pixel coordinates, drawn over the ROIs with their labels.
    opacity
        Blend weight of the heatmap colour, 0 to 1.
    max_side
        The longer side of the result is scaled to at most this many pixels.
    crop_to
        Optional (row0, col0, row1, col1) region to show instead of the whole slice.
    relative
        Scale each heatmap so its peak is 1 (colours relative to the map's own maximum).
    orientation
        Letters for the ``"left"``, ``"right"``, ``"top"`` and ``"bottom"`` edges (from
        :func:`~npc_desktop.core.dicom.geometry.edge_labels`), drawn at the middle of each edge.
    """
    grey = window_to_uint8(np.asarray(pixels, dtype=np.float32), *window)
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.float32)
    for overlay in heatmaps:
        r0, c0, r1, c1 = (int(v) for v in overlay.box)
        r0c, c0c = max(r0, 0), max(c0, 0)
        r1c, c1c = min(r1, rgb.shape[0]), min(c1, rgb.shape[1])
        if r1c <= r0c or c1c <= c0c:
            continue
        heat = np.nan_to_num(overlay.heatmap.astype(np.float32))
        peak = float(heat.max())
        if relative and peak > 0:
            # Each member's map is normalised on its own; their mean peaks below 1 when members
            # look at different places, so the colours show where the ensemble looks most.
            heat = heat / peak
        heat = cv2.resize(heat, (c1 - c0, r1 - r0), interpolation=cv2.INTER_LINEAR)
        heat = heat[r0c - r0 : r1c - r0, c0c - c0 : c1c - c0]
        colour = jet_rgb(heat).astype(np.float32)
        alpha = (opacity * (heat > 0.1))[..., None]
        region = rgb[r0c:r1c, c0c:c1c]
        rgb[r0c:r1c, c0c:c1c] = region * (1 - alpha) + colour * alpha
    image = np.clip(rgb, 0, 255).astype(np.uint8)
    offset = (0, 0)
    if crop_to is not None:
        r0, c0, r1, c1 = crop_to
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, image.shape[0]), min(c1, image.shape[1])
        image = np.ascontiguousarray(image[r0:r1, c0:c1])
        offset = (r0, c0)
    # Small crops are enlarged (at most 4x) so the ROI reads on paper; large slices are shrunk.
    scale = min(4.0, max_side / max(image.shape[:2]))
    if scale != 1.0:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR if scale < 1 else cv2.INTER_CUBIC)
    image = np.ascontiguousarray(image)
    thickness = max(1, round(image.shape[0] / 256))
    for overlay in boxes:
        r0, c0, r1, c1 = overlay.box
        top_left = (round((c0 - offset[1]) * scale), round((r0 - offset[0]) * scale))
        bottom_right = (round((c1 - offset[1]) * scale) - 1, round((r1 - offset[0]) * scale) - 1)
        colour = roi_colour_rgb(overlay.kind)
        # A dark edge keeps the outline readable where it crosses the red end of the heatmap.
        cv2.rectangle(image, top_left, bottom_right, OUTLINE_RGB, thickness + 2, lineType=cv2.LINE_8)
        cv2.rectangle(image, top_left, bottom_right, colour, thickness, lineType=cv2.LINE_8)
        if overlay.label:
            origin = (top_left[0], max(top_left[1] - 4, 12))
            cv2.putText(image, overlay.label, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, colour,
                        thickness, cv2.LINE_AA)
    for line in lines:
        _draw_line(image, line, offset, scale, thickness)
    if orientation:
        _draw_edge_labels(image, orientation)
    return image


def _draw_line(image: np.ndarray, line: LineOverlay, offset: tuple[int, int], scale: float, thickness: int) -> None:
    """A measured line with end ticks and its label, each on a dark edge so it reads on any tissue."""

    def to_image(point: tuple[float, float]) -> tuple[int, int]:
        # Sub-pixel point p lies at p * scale on the resized image, whose pixel i is centred at i + 0.5.
        return (round((point[1] - offset[1]) * scale - 0.5), round((point[0] - offset[0]) * scale - 0.5))

    a, b = to_image(line.start), to_image(line.end)
    cv2.line(image, a, b, OUTLINE_RGB, thickness + 2, cv2.LINE_AA)
    cv2.line(image, a, b, line.colour, thickness, cv2.LINE_AA)
    for end in (a, b):
        cv2.circle(image, end, thickness + 1, line.colour, -1, cv2.LINE_AA)
    if line.label:
        font_scale = max(0.45, image.shape[0] / 600)
        weight = max(1, round(font_scale * 1.5))
        origin = (min(max(b[0] + 4, 2), image.shape[1] - 60), min(max(b[1] - 4, 12), image.shape[0] - 4))
        cv2.putText(image, line.label, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, OUTLINE_RGB, weight + 2,
                    cv2.LINE_AA)
        cv2.putText(image, line.label, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, line.colour, weight,
                    cv2.LINE_AA)


def _draw_edge_labels(image: np.ndarray, labels: Mapping[str, str]) -> None:
    """Orientation letters at the middle of each edge, yellow on a dark outline, as the viewer shows them."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    height, width = image.shape[:2]
    scale = max(0.45, min(height, width) / 420)
    thickness = max(1, round(scale * 1.6))
    margin = max(3, round(6 * scale))
    for edge, text in labels.items():
        if not text:
            continue
        (text_width, text_height), _ = cv2.getTextSize(text, font, scale, thickness)
        x = {"left": margin, "right": width - margin - text_width}.get(edge, (width - text_width) // 2)
        y = {"top": margin + text_height, "bottom": height - margin}.get(edge, (height + text_height) // 2)
        cv2.putText(image, text, (x, y), font, scale, OUTLINE_RGB, thickness + 2, cv2.LINE_AA)
        cv2.putText(image, text, (x, y), font, scale, EDGE_LABEL_RGB, thickness, cv2.LINE_AA)


def agreement_chart_png(
    member_probabilities: dict[str, Sequence[float]],
    ensemble_probabilities: Sequence[float],
    class_names: Sequence[str],
    *,
    width_in: float = 6.0,
    untrained: bool = False,
) -> bytes:
    """A horizontal bar chart of each member's patient-level probabilities and the ensemble's.

    One stacked bar per member (and one for the ensemble), split by class, so a split decision
    shows at a glance; the 0.5 line marks the binary decision threshold.

    Returns
    -------
    bytes
        The chart as PNG.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    names = list(member_probabilities) + ["Ensemble (soft vote)"]
    rows = [np.asarray(member_probabilities[n], dtype=float) for n in member_probabilities]
    rows.append(np.asarray(ensemble_probabilities, dtype=float))
    colours = ["#3b6fb6", "#d1495b", "#edae49", "#66a182", "#8d6a9f"]
    figure = Figure(figsize=(width_in, 0.42 * len(names) + 1.1), dpi=150)
    axes = figure.add_subplot(1, 1, 1)
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    for k, class_name in enumerate(class_names):
        values = np.array([r[k] for r in rows])
        axes.barh(y, values, left=left, color=colours[k % len(colours)], label=class_name, height=0.62,
                  edgecolor=["black" if n.startswith("Ensemble") else "none" for n in names])
        for yi, (l, v) in enumerate(zip(left, values)):
            if v >= 0.12:
                axes.text(l + v / 2, y[yi], f"{v:.2f}", ha="center", va="center", color="white", fontsize=8)
        left += values
    axes.set_yticks(y, names, fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_xlabel("probability", fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    if len(class_names) == 2:
        axes.axvline(0.5, color="black", linewidth=0.8, linestyle="--")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=len(class_names), fontsize=8, frameon=False)
    title = "Members' agreement (patient level)"
    if untrained:
        title += " - UNTRAINED DEMO"
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
