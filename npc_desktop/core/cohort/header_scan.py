"""The cohort index's quickest header read: the few attributes it keeps, and whether there are rows.

The index needs sixteen attributes, all in groups 0008 to 0020, plus whether the object has
image rows. This loop walks explicit or implicit VR little-endian data sets with one ``struct``
call per element and stops once it passes (0028,0011) Columns, so the rest of the header is never
looked at. It gives up (None) on anything else - undefined lengths, other transfer syntaxes or
character sets, odd VRs, a header longer than the bytes read - and the caller then uses
:func:`npc_desktop.core.dicom.fastscan.scan` or pydicom.
"""

from __future__ import annotations

import struct
from typing import Optional

__all__ = ["KEYWORD_TAGS", "ROWS", "quick_scan"]

KEYWORD_TAGS: dict[str, int] = {
    "SOPInstanceUID": 0x00080018, "StudyDate": 0x00080020, "Modality": 0x00080060,
    "StudyDescription": 0x00081030, "SeriesDescription": 0x0008103E, "PatientName": 0x00100010,
    "PatientID": 0x00100020, "ContrastBolusAgent": 0x00180010, "SequenceName": 0x00180024,
    "RepetitionTime": 0x00180080, "EchoTime": 0x00180081, "ProtocolName": 0x00181030,
    "StudyInstanceUID": 0x0020000D, "SeriesInstanceUID": 0x0020000E, "SeriesNumber": 0x00200011,
    "InstanceNumber": 0x00200013,
}
ROWS = 0x00280010
_CHARSET = 0x00080005
_STOP_AFTER = 0x00280011
_WANTED = frozenset(KEYWORD_TAGS.values()) | {ROWS, _CHARSET}
_LONG_VRS = frozenset((b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"OD", b"OL", b"OV", b"UC", b"UR", b"SV", b"UV"))
_SHORT_VRS = frozenset((b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
                        b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"))
_ENCODINGS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}
_EXPLICIT_SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")
_IMPLICIT = "1.2.840.10008.1.2"
_UNDEFINED = 0xFFFFFFFF
_explicit = struct.Struct("<HH2sH").unpack_from
_implicit = struct.Struct("<HHI").unpack_from
_u32 = struct.Struct("<I").unpack_from
_u16 = struct.Struct("<H").unpack_from


def _meta(buf: bytes) -> Optional[tuple[int, str, str]]:
    """(position after the file meta, transfer syntax, media storage SOP class) or None."""
    pos = 132
    syntax = storage = ""
    end = len(buf)
    while pos + 8 <= end and _u16(buf, pos)[0] == 0x0002:
        group, element, vr, length = _explicit(buf, pos)
        if vr in _LONG_VRS:
            length = _u32(buf, pos + 8)[0]
            value = pos + 12
        else:
            value = pos + 8
        if length == _UNDEFINED:
            return None
        if element == 0x0010:
            syntax = buf[value:value + length].decode("ascii", "replace").strip(" \x00")
        elif element == 0x0002:
            storage = buf[value:value + length].decode("ascii", "replace").strip(" \x00")
        pos = value + length
    return pos, syntax, storage


def quick_scan(buf: bytes, *, complete: bool) -> Optional[tuple[dict[str, str], bool, str]]:
    """``(keyword -> text, has image rows, media storage SOP class)`` of a Part 10 file, or None.

    Parameters
    ----------
    buf
        The file's leading bytes (the ``DICM`` preamble already checked).
    complete
        Whether ``buf`` is the whole file; if not, running out of bytes before (0028,0011) gives None.
    """
    try:
        meta = _meta(buf)
        if meta is None:
            return None
        pos, syntax, storage = meta
        if syntax == _IMPLICIT:
            implicit = True
        elif syntax.startswith(_EXPLICIT_SYNTAXES):
            implicit = False
        else:
            return None
        raw: dict[int, bytes] = {}
        end = len(buf)
        passed = False
        while pos + 8 <= end:
            if implicit:
                group, element, length = _implicit(buf, pos)
                value = pos + 8
            else:
                group, element, vr, length = _explicit(buf, pos)
                if vr in _LONG_VRS:
                    length = _u32(buf, pos + 8)[0]
                    value = pos + 12
                elif vr in _SHORT_VRS:
                    value = pos + 8
                else:
                    return None
            tag = (group << 16) | element
            if tag > _STOP_AFTER:
                passed = True
                break
            if length == _UNDEFINED or group == 0xFFFE:
                return None
            if tag in _WANTED:
                if value + length > end:
                    return None
                raw[tag] = buf[value:value + length]
            pos = value + length
        if not passed and not complete:
            return None
        encoding = _ENCODINGS.get(raw.get(_CHARSET, b"").decode("ascii", "replace").strip(" \x00"))
        if encoding is None:
            return None
        values = {}
        for keyword, tag in KEYWORD_TAGS.items():
            data = raw.get(tag)
            values[keyword] = "" if data is None else data.decode(encoding, "replace").strip(" \x00")
        return values, ROWS in raw, storage
    except (struct.error, IndexError):
        return None
