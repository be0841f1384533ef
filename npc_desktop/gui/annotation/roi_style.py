"""How ROI kinds look and are named in the GUI: one colour, one name and one key per kind."""

from __future__ import annotations

from npc_desktop.core.annotation.colours import ROI_COLOURS
from npc_desktop.core.annotation.rois import RoiKind

KIND_NAMES: dict[RoiKind, str] = {RoiKind.TUMOUR: "Tumour", RoiKind.LYMPH_NODE: "Lymph node"}
"""The name of each kind in menus, lists and ROI labels."""

KIND_COLOURS: dict[RoiKind, str] = ROI_COLOURS
"""The core's colours, so the viewer and the PDF report draw each kind alike."""

KIND_KEYS: dict[RoiKind, str] = {RoiKind.TUMOUR: "T", RoiKind.LYMPH_NODE: "N"}
"""Keyboard shortcut choosing each kind."""
