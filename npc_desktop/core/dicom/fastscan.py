"""A minimal reader of the top-level header of ordinary little-endian DICOM files.

Indexing reads tens of thousands of headers; pydicom builds a full Dataset for each, parsing
every nested sequence, which costs about 0.5 ms a file. This scanner walks the element
headers with ``struct``, skips sequences without building them, keeps the raw bytes of the few
attributes indexing needs, and records where the pixel data starts. It gives up (returns None)
on anything unusual - big endian, deflate, multi-frame functional groups, character sets other
than ASCII / Latin-1 / UTF-8, malformed lengths - and the caller then uses pydicom.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

_PREAMBLE = 132
_LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"OD", b"OL", b"OV", b"UC", b"UR", b"SV", b"UV"}
_IMPLICIT = "1.2.840.10008.1.2"
_EXPLICIT = "1.2.840.10008.1.2.1"
_ENCAPSULATED_PREFIXES = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF

PIXEL_DATA = 0x7FE00010
_STOP_TAGS = {PIXEL_DATA, 0x7FE00008, 0x7FE00009}
_GIVE_UP_TAGS = {0x52009229, 0x52009230}  # shared / per-frame functional groups

_unpack_tag = struct.Struct("<HH").unpack_from
_unpack_u16 = struct.Struct("<H").unpack_from
_unpack_u32 = struct.Struct("<I").unpack_from

TAGS: dict[str, int] = {
    "SpecificCharacterSet": 0x00080005,
    "SOPClassUID": 0x00080016,
    "SOPInstanceUID": 0x00080018,
    "StudyDate": 0x00080020,
    "StudyTime": 0x00080030,
    "AccessionNumber": 0x00080050,
    "Modality": 0x00080060,
    "StudyDescription": 0x00081030,
    "SeriesDescription": 0x0008103E,
    "PatientName": 0x00100010,
    "PatientID": 0x00100020,
    "PatientBirthDate": 0x00100030,
    "PatientSex": 0x00100040,
    "ContrastBolusAgent": 0x00180010,
    "SequenceName": 0x00180024,
    "SliceThickness": 0x00180050,
    "RepetitionTime": 0x00180080,
    "EchoTime": 0x00180081,
    "EchoNumbers": 0x00180086,
    "ProtocolName": 0x00181030,
    "StudyInstanceUID": 0x0020000D,
    "SeriesInstanceUID": 0x0020000E,
    "SeriesNumber": 0x00200011,
    "AcquisitionNumber": 0x00200012,
    "InstanceNumber": 0x00200013,
    "ImagePositionPatient": 0x00200032,
    "ImageOrientationPatient": 0x00200037,
    "FrameOfReferenceUID": 0x00200052,
    "SamplesPerPixel": 0x00280002,
    "PhotometricInterpretation": 0x00280004,
    "NumberOfFrames": 0x00280008,
    "Rows": 0x00280010,
    "Columns": 0x00280011,
    "PixelSpacing": 0x00280030,
    "BitsAllocated": 0x00280100,
    "BitsStored": 0x00280101,
    "PixelRepresentation": 0x00280103,
    "WindowCenter": 0x00281050,
    "WindowWidth": 0x00281051,
    "RescaleIntercept": 0x00281052,
    "RescaleSlope": 0x00281053,
}
_WANTED = set(TAGS.values())
_BINARY_US = {0x00280002, 0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280103}
_ENCODINGS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}


class _GiveUp(Exception):
    pass


@dataclass
class ScannedHeader:
    """Raw values of the wanted attributes, and where the pixel data lies."""

    transfer_syntax_uid: str
    media_storage_sop_class_uid: str
    values: dict[int, bytes]
    pixel_tag: Optional[int]
    pixel_offset: Optional[int]
    pixel_length: Optional[int]
    encoding: str

    def text(self, keyword: str) -> str:
        """The attribute as text, trailing padding removed ('' when absent)."""
        raw = self.values.get(TAGS[keyword])
        if raw is None:
            return ""
        return raw.decode(self.encoding, "replace").strip(" \x00")

    def us(self, keyword: str) -> Optional[int]:
        """An unsigned short attribute, or None when absent or empty."""
        raw = self.values.get(TAGS[keyword])
        return _unpack_u16(raw)[0] if raw is not None and len(raw) >= 2 else None


def _element(buf: bytes, pos: int, implicit: bool) -> tuple[int, int, int, bytes]:
    """Decode one element header: (tag, value offset, value length, VR)."""
    group, elem = _unpack_tag(buf, pos)
    tag = (group << 16) | elem
    if implicit or group == 0xFFFE:
        return tag, pos + 8, _unpack_u32(buf, pos + 4)[0], b""
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        return tag, pos + 12, _unpack_u32(buf, pos + 8)[0], vr
    if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
        raise _GiveUp
    return tag, pos + 8, _unpack_u16(buf, pos + 6)[0], vr


def _skip_undefined_sequence(buf: bytes, pos: int, implicit: bool) -> int:
    """Return the position after an undefined-length sequence whose items start at ``pos``."""
    end = len(buf)
    while pos + 8 <= end:
        tag, value, length, _ = _element(buf, pos, True)
        if tag == _SEQUENCE_END:
            return value
        if tag != _ITEM:
            raise _GiveUp
        if length != _UNDEFINED:
            pos = value + length
            continue
        pos = value
        while True:
            if pos + 8 > end:
                raise _GiveUp
            tag, value, length, vr = _element(buf, pos, implicit)
            if tag == _ITEM_END:
                pos = value
                break
            if length == _UNDEFINED:
                pos = _skip_undefined_sequence(buf, value, implicit or vr == b"UN")
            else:
                pos = value + length
    raise _GiveUp


def scan(buf: bytes) -> Optional[ScannedHeader]:
    """Scan a file's leading bytes; None when the file needs pydicom.

    Parameters
    ----------
    buf
        The file's bytes from its start; enough to reach the pixel data element header.
        When the pixel data is not reached and the buffer was cut short, None is returned.
    """
    try:
        return _scan(buf)
    except (_GiveUp, struct.error, IndexError):
        return None


def _scan(buf: bytes) -> Optional[ScannedHeader]:
    if len(buf) < _PREAMBLE + 12 or buf[128:132] != b"DICM":
        return None
    pos = _PREAMBLE
    syntax = storage_class = ""
    while pos + 8 <= len(buf) and _unpack_u16(buf, pos)[0] == 0x0002:
        tag, value, length, _ = _element(buf, pos, False)
        if length == _UNDEFINED:
            return None
        if tag == 0x00020010:
            syntax = buf[value : value + length].decode("ascii", "replace").strip(" \x00")
        elif tag == 0x00020002:
            storage_class = buf[value : value + length].decode("ascii", "replace").strip(" \x00")
        pos = value + length
    if syntax == _IMPLICIT:
        implicit = True
    elif syntax == _EXPLICIT or syntax.startswith(_ENCAPSULATED_PREFIXES):
        implicit = False
    else:
        return None
    values: dict[int, bytes] = {}
    end = len(buf)
    while pos + 8 <= end:
        tag, value, length, vr = _element(buf, pos, implicit)
        if tag in _STOP_TAGS:
            encoding = _ENCODINGS.get(values.get(0x00080005, b"").decode("ascii", "replace").strip(" \x00"))
            if encoding is None:
                return None
            return ScannedHeader(syntax, storage_class, values, tag, value, length, encoding)
        if tag in _GIVE_UP_TAGS or (tag >> 16) == 0xFFFE:
            return None
        if length == _UNDEFINED:
            pos = _skip_undefined_sequence(buf, value, implicit or vr == b"UN")
            continue
        if tag in _WANTED:
            if value + length > end:
                return None
            values[tag] = buf[value : value + length]
        pos = value + length
    return None  # pixel data not reached: a non-image object, or the buffer was cut short
