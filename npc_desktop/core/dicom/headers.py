"""Header-only reading of one DICOM file into small typed records (no pixel data is read)."""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any, Optional

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from npc_desktop.core.dicom import fastscan
from npc_desktop.core.dicom.errors import (
    DicomDirectoryFile,
    DicomIngestError,
    NotDicomError,
    UnreadableDicomError,
)
from npc_desktop.core.dicom.sources import FileRef

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_SCAN_BYTES = 64 * 1024
"""Bytes read for the fast header scan; longer headers go to pydicom."""
PIXEL_DATA_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)

# SOP classes that carry pixel data but are not images a clinician scrolls through.
_NON_IMAGE_MODALITIES = {"SR", "KO", "PR", "RTPLAN", "RTSTRUCT", "RTRECORD", "REG", "SEG", "DOC"}

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class PixelLayout:
    """What the loader needs to decode an instance's pixel data without reparsing the header."""

    transfer_syntax_uid: str
    rows: int
    columns: int
    number_of_frames: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    value_offset: Optional[int]
    value_length: Optional[int]
    is_little_endian: bool

    @property
    def is_native(self) -> bool:
        """True for uncompressed, non-deflated pixel data of defined length."""
        return (
            self.transfer_syntax_uid in _NATIVE_SYNTAXES
            and self.value_offset is not None
            and self.value_length is not None
            and self.value_length != 0xFFFFFFFF
        )

    @property
    def expected_bytes(self) -> int:
        """Bytes of native pixel data the image attributes call for."""
        return (
            self.rows * self.columns * self.number_of_frames * self.samples_per_pixel
            * self.bits_allocated // 8
        )


_NATIVE_SYNTAXES = {
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian
}


@dataclass(frozen=True)
class FrameHeader:
    """One 2-D image: a single-frame file or one frame of a multi-frame file."""

    instance: "InstanceHeader"
    frame_index: Optional[int]
    position: Optional[Vec3]
    orientation: Optional[tuple[float, ...]]
    pixel_spacing: Optional[tuple[float, float]]
    slice_thickness: Optional[float]
    echo: Optional[float]
    rescale: tuple[float, float]
    window: Optional[tuple[float, float]]

    @property
    def sop_instance_uid(self) -> str:
        """SOPInstanceUID of the file this frame belongs to."""
        return self.instance.sop_instance_uid


@dataclass(eq=False)
class InstanceHeader:
    """The header of one DICOM file, reduced to what indexing and loading need."""

    ref: FileRef
    sop_class_uid: str
    sop_instance_uid: str
    modality: str
    patient_name: str
    patient_id: str
    patient_birth_date: str
    patient_sex: str
    study_instance_uid: str
    study_date: str
    study_time: str
    study_description: str
    accession_number: str
    series_instance_uid: str
    series_number: Optional[int]
    series_description: str
    frame_of_reference_uid: str
    instance_number: Optional[int]
    acquisition_number: Optional[int]
    has_pixels: bool
    layout: Optional[PixelLayout]
    frames: list[FrameHeader] = field(default_factory=list)

    @property
    def is_image(self) -> bool:
        """True when the object is an image a viewer can show."""
        return self.has_pixels and self.layout is not None and self.modality not in _NON_IMAGE_MODALITIES


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()


def _number(ds: Dataset, keyword: str, ref: FileRef, cast: Any = float) -> Any:
    """Read a numeric attribute; a value that is not a number is a typed error naming it."""
    try:
        value = ds.get(keyword)
    except (ValueError, TypeError) as exc:
        raise UnreadableDicomError(ref.display_name, f"invalid value in {keyword}: {exc}") from exc
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
        if value is None:
            return None
    try:
        return cast(value)
    except (ValueError, TypeError) as exc:
        raise UnreadableDicomError(
            ref.display_name, f"invalid value {value!r} in {keyword}"
        ) from exc


def _vector(ds: Optional[Dataset], keyword: str, size: int, ref: FileRef) -> Optional[tuple[float, ...]]:
    if ds is None:
        return None
    try:
        value = ds.get(keyword)
        if value is None or len(value) != size:
            return None
        return tuple(float(v) for v in value)
    except (ValueError, TypeError) as exc:
        raise UnreadableDicomError(ref.display_name, f"invalid value in {keyword}: {exc}") from exc


def _first_item(ds: Optional[Dataset], keyword: str) -> Optional[Dataset]:
    if ds is None:
        return None
    seq = ds.get(keyword)
    if seq is None or len(seq) == 0:
        return None
    return seq[0]


def _window(ds: Optional[Dataset], ref: FileRef) -> Optional[tuple[float, float]]:
    if ds is None:
        return None
    centre = _number(ds, "WindowCenter", ref)
    width = _number(ds, "WindowWidth", ref)
    if centre is None or width is None or width <= 0:
        return None
    return (centre, width)


def _check_preamble(head: bytes, ref: FileRef) -> None:
    """Refuse files that are not DICOM Part 10 before pydicom guesses at them."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return
    if len(head) >= 4 and head[0] in (0x02, 0x08) and head[1] == 0x00:
        raise UnreadableDicomError(
            ref.display_name,
            "no DICOM file meta information (a bare data set without the 'DICM' header)",
            "re-export the file from the scanner or PACS as DICOM Part 10",
        )
    raise NotDicomError(ref.display_name, "not a DICOM file")


def read_header(ref: FileRef, archive: Optional[zipfile.ZipFile] = None) -> InstanceHeader:
    """Read the header of one file, recording where its pixel data lies without reading it.

    Parameters
    ----------
    ref
        The file.
    archive
        An open ZipFile when ``ref`` is a zip member.

    Returns
    -------
    InstanceHeader

    Raises
    ------
    NotDicomError
        The file is not DICOM.
    UnreadableDicomError
        The header is broken (no file meta, truncated, invalid values, no SOP Instance UID).
    """
    try:
        with ref.open(archive) as fp:
            head = fp.read(_SCAN_BYTES)
            _check_preamble(head, ref)
            scanned = fastscan.scan(head)
            if scanned is not None and _fast_path_applies(scanned):
                return _build_header(
                    _ScannedAttributes(scanned),
                    ref,
                    storage_class=scanned.media_storage_sop_class_uid,
                    pixels=_PixelPlace(
                        scanned.pixel_tag is not None,
                        scanned.transfer_syntax_uid,
                        scanned.pixel_offset,
                        scanned.pixel_length,
                    ),
                )
            fp.seek(0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ds = pydicom.dcmread(fp, defer_size=1024)
        for warning in caught:
            if "End of file reached" in str(warning.message):
                raise UnreadableDicomError(
                    ref.display_name, "the file is truncated (it ends inside a data element)"
                )
    except DicomIngestError:
        raise
    except InvalidDicomError as exc:
        raise UnreadableDicomError(ref.display_name, f"invalid DICOM header: {exc}") from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise UnreadableDicomError(ref.display_name, f"cannot read the file: {exc}") from exc
    except Exception as exc:  # pydicom's parser raises assorted types on truncated input
        raise UnreadableDicomError(
            ref.display_name, f"the DICOM header cannot be parsed ({exc.__class__.__name__}: {exc})"
        ) from exc
    meta = getattr(ds, "file_meta", None)
    try:
        return _build_header(
            ds,
            ref,
            storage_class=str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else "",
            pixels=_pixel_place(ds),
        )
    except DicomIngestError:
        raise
    except Exception as exc:
        raise UnreadableDicomError(
            ref.display_name, f"the DICOM header has invalid values ({exc.__class__.__name__}: {exc})"
        ) from exc


def _fast_path_applies(scanned: fastscan.ScannedHeader) -> bool:
    frames = scanned.text("NumberOfFrames")
    return frames in ("", "1") and scanned.media_storage_sop_class_uid != MEDIA_STORAGE_DIRECTORY


class _ScannedAttributes:
    """Presents a fast scan with the ``get(keyword)`` of a pydicom Dataset."""

    def __init__(self, scanned: fastscan.ScannedHeader) -> None:
        self._scanned = scanned

    def get(self, keyword: str, default: Any = None) -> Any:
        tag = fastscan.TAGS.get(keyword)
        if tag is None or tag not in self._scanned.values:
            return default
        if tag in fastscan._BINARY_US:
            return self._scanned.us(keyword)
        text = self._scanned.text(keyword)
        return text.split("\\") if "\\" in text else text


@dataclass(frozen=True)
class _PixelPlace:
    present: bool
    syntax: str
    offset: Optional[int]
    length: Optional[int]


def _pixel_place(ds: Dataset) -> _PixelPlace:
    raw = None
    for tag in PIXEL_DATA_TAGS:
        if tag in ds:
            raw = ds.get_item(tag, keep_deferred=True)
            break
    meta = getattr(ds, "file_meta", None)
    syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if not syntax:
        syntax = "1.2.840.10008.1.2" if ds.is_implicit_VR else "1.2.840.10008.1.2.1"
    offset = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None)
    return _PixelPlace(
        raw is not None,
        syntax,
        offset if isinstance(offset, int) else None,
        length if isinstance(length, int) else None,
    )


def _pixel_layout(ds: Any, ref: FileRef, place: _PixelPlace) -> Optional[PixelLayout]:
    rows = _number(ds, "Rows", ref, int)
    columns = _number(ds, "Columns", ref, int)
    if not rows or not columns:
        return None
    syntax, offset, length = place.syntax, place.offset, place.length
    bits_allocated = _number(ds, "BitsAllocated", ref, int) or 16
    layout = PixelLayout(
        transfer_syntax_uid=syntax,
        rows=rows,
        columns=columns,
        number_of_frames=_number(ds, "NumberOfFrames", ref, int) or 1,
        samples_per_pixel=_number(ds, "SamplesPerPixel", ref, int) or 1,
        bits_allocated=bits_allocated,
        bits_stored=_number(ds, "BitsStored", ref, int) or bits_allocated,
        pixel_representation=_number(ds, "PixelRepresentation", ref, int) or 0,
        photometric=_text(ds, "PhotometricInterpretation") or "MONOCHROME2",
        value_offset=offset,
        value_length=length,
        is_little_endian=syntax != "1.2.840.10008.1.2.2",
    )
    return layout


def _build_header(ds: Any, ref: FileRef, *, storage_class: str, pixels: _PixelPlace) -> InstanceHeader:
    """Build the header record from a pydicom Dataset or anything with its ``get(keyword)``."""
    if storage_class == MEDIA_STORAGE_DIRECTORY:
        raise DicomDirectoryFile(
            ref.display_name, "a DICOMDIR (the directory of a file set, not an image)"
        )
    sop_uid = _text(ds, "SOPInstanceUID")
    if not sop_uid:
        raise UnreadableDicomError(ref.display_name, "no SOP Instance UID: not a usable DICOM object")
    has_pixels = pixels.present
    layout = _pixel_layout(ds, ref, pixels) if has_pixels else None
    header = InstanceHeader(
        ref=ref,
        sop_class_uid=_text(ds, "SOPClassUID"),
        sop_instance_uid=sop_uid,
        modality=_text(ds, "Modality") or "OT",
        patient_name=_text(ds, "PatientName"),
        patient_id=_text(ds, "PatientID"),
        patient_birth_date=_text(ds, "PatientBirthDate"),
        patient_sex=_text(ds, "PatientSex"),
        study_instance_uid=_text(ds, "StudyInstanceUID") or f"unknown-study:{ref.path.parent}",
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        study_description=_text(ds, "StudyDescription"),
        accession_number=_text(ds, "AccessionNumber"),
        series_instance_uid=_text(ds, "SeriesInstanceUID") or f"unknown-series:{ref.path.parent}",
        series_number=_number(ds, "SeriesNumber", ref, int),
        series_description=_text(ds, "SeriesDescription") or _text(ds, "ProtocolName"),
        frame_of_reference_uid=_text(ds, "FrameOfReferenceUID"),
        instance_number=_number(ds, "InstanceNumber", ref, int),
        acquisition_number=_number(ds, "AcquisitionNumber", ref, int),
        has_pixels=has_pixels,
        layout=layout,
    )
    if layout is not None:
        header.frames.extend(_frames(ds, header, layout))
    return header


def _frames(ds: Dataset, header: InstanceHeader, layout: PixelLayout) -> list[FrameHeader]:
    ref = header.ref
    slope = _number(ds, "RescaleSlope", ref)
    intercept = _number(ds, "RescaleIntercept", ref)
    base_rescale = (1.0 if slope is None else slope, 0.0 if intercept is None else intercept)
    echo = _number(ds, "EchoTime", ref)
    if echo is None:
        echo = _number(ds, "EchoNumbers", ref)
    spacing = _vector(ds, "PixelSpacing", 2, ref)
    thickness = _number(ds, "SliceThickness", ref)
    shared = _first_item(ds, "SharedFunctionalGroupsSequence")
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is None and layout.number_of_frames == 1 and shared is None:
        return [
            FrameHeader(
                instance=header,
                frame_index=None,
                position=_vector(ds, "ImagePositionPatient", 3, ref),  # type: ignore[arg-type]
                orientation=_vector(ds, "ImageOrientationPatient", 6, ref),
                pixel_spacing=spacing,  # type: ignore[arg-type]
                slice_thickness=thickness,
                echo=echo,
                rescale=base_rescale,
                window=_window(ds, ref),
            )
        ]
    frames = []
    for index in range(layout.number_of_frames):
        groups = per_frame[index] if per_frame is not None and index < len(per_frame) else None

        def item(keyword: str) -> Optional[Dataset]:
            return _first_item(groups, keyword) or _first_item(shared, keyword)

        measures = item("PixelMeasuresSequence")
        transform = item("PixelValueTransformationSequence")
        voi = item("FrameVOILUTSequence")
        mr_echo = item("MREchoSequence")
        f_slope = _number(transform, "RescaleSlope", ref) if transform is not None else None
        f_intercept = _number(transform, "RescaleIntercept", ref) if transform is not None else None
        frame_echo = _number(mr_echo, "EffectiveEchoTime", ref) if mr_echo is not None else None
        frames.append(
            FrameHeader(
                instance=header,
                frame_index=index,
                position=_vector(item("PlanePositionSequence"), "ImagePositionPatient", 3, ref)
                or _vector(ds, "ImagePositionPatient", 3, ref),  # type: ignore[arg-type]
                orientation=_vector(item("PlaneOrientationSequence"), "ImageOrientationPatient", 6, ref)
                or _vector(ds, "ImageOrientationPatient", 6, ref),
                pixel_spacing=_vector(measures, "PixelSpacing", 2, ref) or spacing,  # type: ignore[arg-type]
                slice_thickness=(_number(measures, "SliceThickness", ref) if measures is not None else None)
                or thickness,
                echo=frame_echo if frame_echo is not None else echo,
                rescale=(
                    base_rescale[0] if f_slope is None else f_slope,
                    base_rescale[1] if f_intercept is None else f_intercept,
                ),
                window=_window(voi, ref) or _window(ds, ref),
            )
        )
    return frames
