"""Typed errors of DICOM ingestion. Each names the file or folder it concerns."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

PathLike = Union[str, Path]


class DicomIngestError(Exception):
    """Base class of every ingestion error; ``str()`` is a one-line message for a user.

    Parameters
    ----------
    path
        The file or folder the problem concerns.
    problem
        What is wrong, in words a user understands.
    hint
        Optional advice on what to do.
    """

    def __init__(self, path: Optional[PathLike], problem: str, hint: str = "") -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        self.hint = hint
        where = f"{self.path}: " if self.path is not None else ""
        message = f"{where}{problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class NotDicomError(DicomIngestError):
    """The file is not a DICOM file (no preamble and no recognisable data set)."""


class UnreadableDicomError(DicomIngestError):
    """The file looks like DICOM but its header cannot be parsed (truncated, bad meta, bad VR)."""


class PixelDataError(DicomIngestError):
    """The header reads but the pixel data is missing, truncated or cannot be decoded."""


class NoImagesError(DicomIngestError):
    """A path holds no image series that can be displayed."""


class SeriesNotFoundError(DicomIngestError):
    """A requested SeriesInstanceUID is not in the indexed path."""


class InconsistentSeriesError(DicomIngestError):
    """A series' slices disagree in matrix size or cannot form a volume."""


class DicomDirectoryFile(DicomIngestError):
    """The file is a DICOMDIR: it indexes a file set and holds no image itself."""
