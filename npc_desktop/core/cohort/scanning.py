"""Walking a folder by ``os.scandir`` and reading each file's header into one ``files`` row.

Headers are read with :func:`npc_desktop.core.cohort.header_scan.quick_scan`, then the fast
scanner of :mod:`npc_desktop.core.dicom.fastscan`, then pydicom, each taking the files the one
before gives up on. A file that
cannot be read becomes a row with a status and a reason, so the folder is indexed as far as
possible and the skipped files can be listed.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

from npc_desktop.core.cohort.header_scan import quick_scan
from npc_desktop.core.dicom import fastscan

__all__ = ["IMAGE", "OBJECT", "NOT_DICOM", "UNREADABLE", "DICOMDIR", "Walk", "walk", "read_row"]

IMAGE, OBJECT, NOT_DICOM, UNREADABLE, DICOMDIR = "image", "object", "not_dicom", "unreadable", "dicomdir"
_SCAN_BYTES = 64 * 1024
_NON_IMAGE_MODALITIES = {"SR", "KO", "PR", "RTPLAN", "RTSTRUCT", "RTRECORD", "REG", "SEG", "DOC"}
_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
_KEYWORDS = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID", "PatientName", "StudyDate",
             "StudyDescription", "Modality", "SeriesNumber", "SeriesDescription", "ProtocolName", "SequenceName",
             "ContrastBolusAgent", "RepetitionTime", "EchoTime", "InstanceNumber")


@dataclass
class Walk:
    """The regular files below a root with their size and mtime, and what could not be walked."""

    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def walk(root: str) -> Walk:
    """Stat every file below ``root`` in name order (hidden folders and links to folders are not entered).

    Folders that cannot be listed and links that lead nowhere are listed in ``problems``.
    """
    result = Walk()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            result.problems.append((folder, f"the folder cannot be read ({exc.strerror or exc})"))
            continue
        subfolders = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        subfolders.append(entry.path)
                    continue
                info = entry.stat()
            except FileNotFoundError:
                result.problems.append((entry.path, "a link to a file that does not exist"))
                continue
            except OSError as exc:
                result.problems.append((entry.path, f"cannot be read ({exc.strerror or exc})"))
                continue
            if entry.is_file():
                result.files[entry.path] = (info.st_size, info.st_mtime_ns)
        stack.extend(reversed(subfolders))  # visit in name order, so "first found" is predictable
    return result


def _int(text: Any) -> Optional[int]:
    try:
        return int(str(text).split("\\")[0].strip())
    except (TypeError, ValueError):
        return None


def _float(text: Any) -> Optional[float]:
    try:
        return float(str(text).split("\\")[0].strip())
    except (TypeError, ValueError):
        return None


def _row(path: str, root: str, stat: tuple[int, int], status: str, reason: str = "",
         values: Optional[dict[str, str]] = None) -> tuple[Any, ...]:
    v = values or {}
    modality = v.get("Modality", "")
    if status == IMAGE and modality in _NON_IMAGE_MODALITIES:
        status = OBJECT
    return (path, root, stat[0], stat[1], status, reason or None,
            v.get("SOPInstanceUID") or None, v.get("StudyInstanceUID") or None, v.get("SeriesInstanceUID") or None,
            v.get("PatientID", ""), v.get("PatientName", ""), v.get("StudyDate", ""), v.get("StudyDescription", ""),
            modality, _int(v.get("SeriesNumber")), v.get("SeriesDescription", ""), v.get("ProtocolName", ""),
            v.get("SequenceName", ""), v.get("ContrastBolusAgent", ""), _float(v.get("RepetitionTime")),
            _float(v.get("EchoTime")), _int(v.get("InstanceNumber")))


def _read_with_pydicom(path: str) -> tuple[str, str, dict[str, str]]:
    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and str(meta.get("MediaStorageSOPClassUID", "")) == _DICOMDIR_CLASS:
        return DICOMDIR, "a DICOMDIR (the files it lists are indexed directly)", {}
    values = {}
    for keyword in _KEYWORDS:
        value = ds.get(keyword)
        values[keyword] = "" if value is None else str(value).strip()
    has_pixels = any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009)) or "Rows" in ds
    return (IMAGE if has_pixels else OBJECT), "", values


def read_row(path: str, root: str, stat: tuple[int, int]) -> tuple[Any, ...]:
    """The ``files`` row of one file (see :data:`npc_desktop.core.cohort.database.FILE_COLUMNS`)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(_SCAN_BYTES)
    except OSError as exc:
        return _row(path, root, stat, UNREADABLE, f"cannot be read ({exc.strerror or exc})")
    if len(head) < 132 or head[128:132] != b"DICM":
        if len(head) >= 4 and head[0] in (0x02, 0x08) and head[1] == 0x00:
            return _row(path, root, stat, UNREADABLE, "no DICOM file meta information (no 'DICM' header)")
        return _row(path, root, stat, NOT_DICOM, "not a DICOM file")
    quick = quick_scan(head, complete=len(head) < _SCAN_BYTES)
    scanned = fastscan.scan(head) if quick is None else None
    if quick is not None and quick[2] != _DICOMDIR_CLASS:
        values, has_rows, _ = quick
        status, reason = (IMAGE if has_rows else OBJECT), ""
    elif scanned is not None and scanned.media_storage_sop_class_uid != _DICOMDIR_CLASS:
        values = {k: scanned.text(k) for k in _KEYWORDS}
        status, reason = (IMAGE if scanned.pixel_tag is not None else OBJECT), ""
    else:
        try:
            status, reason, values = _read_with_pydicom(path)
        except Exception as exc:  # pydicom raises assorted types on broken input
            return _row(path, root, stat, UNREADABLE,
                        f"the DICOM header cannot be parsed ({exc.__class__.__name__})")
    if status in (IMAGE, OBJECT):
        missing = [k for k in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID") if not values.get(k)]
        if missing:
            return _row(path, root, stat, UNREADABLE, f"no {', '.join(missing)}")
    return _row(path, root, stat, status, reason, values)
