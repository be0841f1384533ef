"""How measurements look: one colour per kind of measurement, apart from the ROI kinds' orange-red
and teal, the active frame's blue and the orientation labels' yellow."""

from __future__ import annotations

RULER_COLOUR = "#a6e22e"
"""Distance rulers: yellow-green."""

AXES_COLOUR = "#ff79c6"
"""A lymph node's long and short axes: pink, so they read apart from the node's teal outline."""

CRICOID_COLOUR = "#b58cff"
"""The cricoid level: violet, on the image, the slice sliders and the list."""
