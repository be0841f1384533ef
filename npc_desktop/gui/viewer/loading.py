"""Job functions that run on pool threads: index a path, load a series, make a thumbnail.

They call the core and return plain objects; nothing here touches Qt.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from npc_desktop.core.demo.study import DemoStudy
from npc_desktop.core.dicom import (
    SeriesInfo,
    StudyIndex,
    Volume,
    index_path,
    load_series,
    read_instance_pixels,
)
from npc_desktop.core.preprocessing import (
    MR_PRESETS,
    foreground_window,
    percentile_to_uint8,
    percentile_window,
)
from npc_desktop.core.progress import ProgressCallback, check_cancelled
from npc_desktop.gui.state import IngestMessage, LoadedSeries, Preset, Window

THUMBNAIL_SIZE = 96


@dataclass(frozen=True)
class OpenedStudy:
    """An indexed study, and the built-in demo's description when it is the demo."""

    index: StudyIndex
    demo: Optional[DemoStudy] = None


def open_job(path: Optional[str], progress: ProgressCallback, cancel: threading.Event) -> OpenedStudy:
    """Index ``path``, or the demo study (written to the user cache on first use) when None."""
    if path is None:
        from npc_desktop.core.demo.cache import ensure_demo_study

        demo = ensure_demo_study()
        check_cancelled(cancel)
        return OpenedStudy(index_path(str(demo.root), progress=progress, cancel=cancel), demo)
    return OpenedStudy(index_path(path, progress=progress, cancel=cancel))


def _sample(volume: Volume) -> np.ndarray:
    slices, rows, cols = volume.shape
    step = max(1, slices // 24)
    stride = max(1, max(rows, cols) // 256)
    return volume.voxels[::step, ::stride, ::stride]


def window_presets(volume: Volume) -> tuple[dict[Preset, Window], Preset]:
    """The window presets of a volume and which one to show first."""
    sample = _sample(volume)
    presets: dict[Preset, Window] = {Preset.AUTO: percentile_window(sample, 1.0, 99.0)}
    for preset in (Preset.MR_T1C, Preset.MR_T2):
        presets[preset] = foreground_window(sample, *MR_PRESETS[preset.value])
    if volume.window is not None and volume.window[1] > 0:
        presets[Preset.HEADER] = (float(volume.window[0]), float(volume.window[1]))
        return presets, Preset.HEADER
    return presets, Preset.AUTO


def load_job(
    series: SeriesInfo, index: Optional[StudyIndex], progress: ProgressCallback, cancel: threading.Event
) -> LoadedSeries:
    """Load a series and compute its window presets."""
    volume = load_series(series, progress=progress, cancel=cancel)
    check_cancelled(cancel)
    presets, default = window_presets(volume)
    return LoadedSeries(volume, presets, default)


def thumbnail_job(series: SeriesInfo, cancel: threading.Event) -> np.ndarray:
    """An 8-bit thumbnail of the middle image of ``series``, at most THUMBNAIL_SIZE pixels wide.

    The pixel aspect follows PixelSpacing so that thumbnails look like the images.
    """
    import cv2

    check_cancelled(cancel)
    frame = series.frames[len(series.frames) // 2]
    pixels = read_instance_pixels(frame.instance)
    image = pixels[frame.frame_index or 0]
    if image.ndim == 3:
        image = image[..., :3].mean(axis=2)
    image8 = percentile_to_uint8(image, 0.5, 99.5)
    if frame.instance.layout is not None and frame.instance.layout.photometric == "MONOCHROME1":
        image8 = 255 - image8
    row_mm, col_mm = frame.pixel_spacing or (1.0, 1.0)
    height_mm, width_mm = image.shape[0] * row_mm, image.shape[1] * col_mm
    scale = THUMBNAIL_SIZE / max(height_mm, width_mm)
    size = (max(1, round(width_mm * scale)), max(1, round(height_mm * scale)))
    return np.ascontiguousarray(cv2.resize(image8, size, interpolation=cv2.INTER_AREA))


def _relative(text: str, root: Path) -> str:
    """Shorten absolute paths under the opened folder to paths relative to it."""
    folder = root if root.is_dir() else root.parent
    return text.replace(str(folder) + os.sep, "")


def index_messages(index: StudyIndex) -> list[IngestMessage]:
    """Warnings of an index for the messages panel: source problems, skipped files, series."""
    root = Path(index.root)
    messages = [IngestMessage("warning", root.name or str(root), _relative(text, root)) for text in index.warnings]
    for skipped in index.skipped:
        if skipped.is_dicom:
            messages.append(IngestMessage("warning", _relative(skipped.name, root), f"skipped: {skipped.reason}"))
    if index.non_dicom_count:
        messages.append(IngestMessage(
            "info", root.name or str(root), f"{index.non_dicom_count} file(s) that are not DICOM were ignored"))
    for series in index.all_series():
        for text in series.warnings:
            messages.append(IngestMessage("warning", series.description or series.key, text))
    return messages


def volume_messages(volume: Volume) -> list[IngestMessage]:
    """Warnings raised while loading a volume (undecodable files, geometry assumptions)."""
    source = volume.meta.series_description or volume.meta.key
    messages = [IngestMessage("warning", source, text) for text in volume.warnings]
    for name, problem in volume.skipped:
        messages.append(IngestMessage("warning", Path(name).name, f"not shown: {problem}"))
    return messages
