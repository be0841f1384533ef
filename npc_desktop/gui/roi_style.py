"""How ROI kinds look and are named in the GUI: one colour, one name and one key per kind."""

from __future__ import annotations

from npc_desktop.core.annotation.rois import RoiKind

KIND_NAMES: dict[RoiKind, str] = {RoiKind.TUMOUR: "Tumour", RoiKind.LYMPH_NODE: "Lymph node"}
"""The name of each kind in menus, lists and ROI labels."""

KIND_COLOURS: dict[RoiKind, str] = {RoiKind.TUMOUR: "#ff6a3d", RoiKind.LYMPH_NODE: "#3ad4c0"}
"""Orange-red and teal: apart in hue and in lightness for colour-blind readers, and neither is the
blue of the active-viewport frame nor the yellow of the orientation labels."""

KIND_KEYS: dict[RoiKind, str] = {RoiKind.TUMOUR: "T", RoiKind.LYMPH_NODE: "N"}
"""Keyboard shortcut choosing each kind."""
