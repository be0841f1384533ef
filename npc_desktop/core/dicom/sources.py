"""Where DICOM bytes come from: plain files, members of a zip archive, DICOMDIR file sets."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

from npc_desktop.core.dicom.errors import DicomIngestError, NoImagesError


@dataclass(frozen=True, order=True)
class FileRef:
    """A DICOM file on disk or inside a zip archive.

    Parameters
    ----------
    path
        The file on disk, or the zip archive holding it.
    member
        The member name inside the zip archive; None for a plain file.
    """

    path: Path
    member: Optional[str] = None

    @property
    def display_name(self) -> str:
        """A name for messages: the path, or ``archive.zip!member``."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    def open(self, archive: Optional[zipfile.ZipFile] = None) -> BinaryIO:
        """Open the file for binary reading.

        Parameters
        ----------
        archive
            An already open ZipFile for ``path`` (saves reopening it per member).
        """
        if self.member is None:
            return open(self.path, "rb")
        if archive is not None:
            return io.BytesIO(archive.read(self.member))
        with zipfile.ZipFile(self.path) as zf:
            return io.BytesIO(zf.read(self.member))

    def __str__(self) -> str:
        return self.display_name


def _walk_files(root: Path) -> Iterator[Path]:
    """Yield every regular file below ``root`` in a stable order, without following links."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        subfolders.append(Path(entry.path))
                elif entry.is_file():
                    yield Path(entry.path)
            except OSError:
                continue
        stack.extend(reversed(subfolders))


def is_zip(path: Path) -> bool:
    """Return True if ``path`` is a zip archive (by content, not only by suffix)."""
    return path.is_file() and zipfile.is_zipfile(path)


def is_dicomdir(path: Path) -> bool:
    """Return True if ``path`` is named like a DICOMDIR file."""
    return path.is_file() and path.name.upper().startswith("DICOMDIR")


def enumerate_sources(path: Path) -> tuple[list[FileRef], list[str]]:
    """List the candidate DICOM files a user's path stands for.

    Parameters
    ----------
    path
        A folder (searched recursively), a zip archive, a DICOMDIR, or one DICOM file.

    Returns
    -------
    files, warnings
        The candidate files in a stable order, and warnings about the source itself.

    Raises
    ------
    NoImagesError
        If the path does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise NoImagesError(path, "no such file or folder")
    warnings: list[str] = []
    if path.is_dir():
        return [FileRef(p) for p in _walk_files(path)], warnings
    if is_zip(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = sorted(
                    info.filename for info in zf.infolist()
                    if not info.is_dir() and not Path(info.filename).name.startswith(".")
                )
        except (zipfile.BadZipFile, OSError) as exc:
            raise DicomIngestError(path, f"cannot read the zip archive: {exc}") from exc
        return [FileRef(path, name) for name in names], warnings
    if is_dicomdir(path):
        return _dicomdir_sources(path, warnings), warnings
    return [FileRef(path)], warnings


def _dicomdir_sources(path: Path, warnings: list[str]) -> list[FileRef]:
    """Files referenced by a DICOMDIR; falls back to the folder if the DICOMDIR is unusable."""
    from pydicom import dcmread
    from pydicom.fileset import FileSet

    root = path.parent
    try:
        fs = FileSet(dcmread(path))
        refs = []
        missing = 0
        for instance in fs:
            file_path = Path(instance.path)
            if file_path.is_file():
                refs.append(FileRef(file_path))
            else:
                missing += 1
        if missing:
            warnings.append(f"{path}: {missing} file(s) listed in the DICOMDIR are missing")
        if refs:
            return sorted(set(refs))
        warnings.append(f"{path}: the DICOMDIR lists no images; searched its folder instead")
    except Exception as exc:  # pydicom raises many types for broken DICOMDIRs
        warnings.append(
            f"{path}: the DICOMDIR cannot be read ({exc.__class__.__name__}: {exc}); "
            "searched its folder instead"
        )
    return [FileRef(p) for p in _walk_files(root)]
