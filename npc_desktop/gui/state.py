"""Plain value objects the SessionModel hands to widgets (no Qt, safe to pass between threads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from npc_desktop.core.dicom import Volume

Window = tuple[float, float]
"""(centre, width) in stored units after rescale."""


class Tool(str, Enum):
    """What the left mouse button does in a viewport."""

    PAN = "pan"
    ZOOM = "zoom"
    WINDOW = "window"
    ROI = "roi"
    """Left drag draws a rectangular ROI; ROIs can be moved and resized with their handles."""
    RULER = "ruler"
    """Left drag draws a distance ruler; rulers and node axes can be moved by their handles."""
    NODE_AXES = "node_axes"
    """On the selected lymph-node ROI's image: drag the long axis, then the short axis."""
    CRICOID = "cricoid"
    """A click on an axial slice marks the caudal border of the cricoid cartilage."""

    @property
    def draws(self) -> bool:
        """Whether a left drag with this tool draws an annotation instead of moving the view."""
        return self in (Tool.ROI, Tool.RULER, Tool.NODE_AXES, Tool.CRICOID)

    @property
    def measures(self) -> bool:
        """Whether this tool makes measurements (their handles are editable with it)."""
        return self in (Tool.RULER, Tool.NODE_AXES, Tool.CRICOID)


class Preset(str, Enum):
    """Window/level presets."""

    HEADER = "header"
    AUTO = "auto"
    MR_T1C = "mr_t1c"
    MR_T2 = "mr_t2"


PRESET_LABELS: dict[Preset, str] = {
    Preset.HEADER: "From DICOM header",
    Preset.AUTO: "Automatic (1-99 %)",
    Preset.MR_T1C: "MR contrast T1",
    Preset.MR_T2: "MR T2",
}


@dataclass(frozen=True)
class LoadedSeries:
    """A loaded volume with the windows computed for it on the worker thread."""

    volume: Volume
    presets: dict[Preset, Window]
    default: Preset

    @property
    def default_window(self) -> Window:
        """The window shown first."""
        return self.presets[self.default]


@dataclass(frozen=True)
class ViewState:
    """What part of the image plane a viewport shows: centre and extent in plane millimetres."""

    centre_x: float
    centre_y: float
    width: float
    height: float

    def moved(self, dx: float, dy: float) -> "ViewState":
        """The same view shifted by (dx, dy) mm."""
        return ViewState(self.centre_x + dx, self.centre_y + dy, self.width, self.height)


@dataclass(frozen=True)
class ClaheSettings:
    """The CLAHE preview: on/off and the parameters handed to the core function."""

    enabled: bool = False
    clip_limit: float = 2.0
    tile_grid: int = 8


@dataclass(frozen=True)
class CursorInfo:
    """The voxel under the mouse pointer."""

    viewport: int
    slice_index: int
    row: int
    column: int
    value: float
    patient_mm: tuple[float, float, float]


@dataclass(frozen=True)
class IngestMessage:
    """One ingestion warning or skipped file, for the messages panel."""

    severity: str
    """"warning" or "info"."""
    source: str
    """What it concerns: the study, a series description, a file name."""
    text: str


@dataclass
class ViewportState:
    """What one viewport shows."""

    loaded: Optional[LoadedSeries] = None
    series_key: Optional[str] = None
    slice_index: int = 0
    window: Optional[Window] = None
    preset: Optional[Preset] = None
    loading_label: str = ""
    messages: list[IngestMessage] = field(default_factory=list)

    @property
    def volume(self) -> Optional[Volume]:
        """The loaded volume, if any."""
        return self.loaded.volume if self.loaded is not None else None

