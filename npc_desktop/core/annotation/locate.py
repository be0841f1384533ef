"""Where a ROI's image lives: in a study index, or among loaded volumes."""

from __future__ import annotations

from typing import Optional, Sequence

from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.dicom import SeriesInfo, StudyIndex, Volume


def locate(index: Optional[StudyIndex], roi: RectRoi) -> Optional[tuple[SeriesInfo, int]]:
    """The indexed series holding the ROI's image and the slice's position in it, or None."""
    if index is None:
        return None
    for series in index.image_series():
        if series.series_instance_uid != roi.series_instance_uid:
            continue
        for position, frame in enumerate(series.frames):
            number = None if frame.frame_index is None else frame.frame_index + 1
            if frame.sop_instance_uid == roi.sop_instance_uid and number == roi.frame_number:
                return series, position
    return None


def volume_for(roi: RectRoi, volumes: Sequence[Optional[Volume]]) -> Optional[Volume]:
    """The first volume holding the ROI's image, or None."""
    for volume in volumes:
        if volume is None or volume.meta.series_instance_uid != roi.series_instance_uid:
            continue
        if any(ref.sop_instance_uid == roi.sop_instance_uid and ref.frame_number == roi.frame_number
               for ref in volume.slices):
            return volume
    return None
