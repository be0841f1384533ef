"""DICOM ingestion: indexing, series splitting and sorting, volume loading, typed errors."""

from npc_desktop.core.dicom.errors import (
    DicomIngestError,
    InconsistentSeriesError,
    NoImagesError,
    NotDicomError,
    PixelDataError,
    SeriesNotFoundError,
    UnreadableDicomError,
)
from npc_desktop.core.dicom.index import (
    PatientInfo,
    SeriesInfo,
    SkippedFile,
    StudyIndex,
    StudyInfo,
    index_path,
)
from npc_desktop.core.dicom.loader import decode_instance, load_path, load_series, read_instance_pixels
from npc_desktop.core.dicom.volume import SeriesMeta, SliceRef, Volume

__all__ = [
    "DicomIngestError",
    "InconsistentSeriesError",
    "NoImagesError",
    "NotDicomError",
    "PixelDataError",
    "SeriesNotFoundError",
    "UnreadableDicomError",
    "PatientInfo",
    "SeriesInfo",
    "SkippedFile",
    "StudyIndex",
    "StudyInfo",
    "index_path",
    "load_path",
    "load_series",
    "read_instance_pixels",
    "decode_instance",
    "SeriesMeta",
    "SliceRef",
    "Volume",
]
