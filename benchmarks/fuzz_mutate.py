"""Mutation operators and the input corpus of the ingestion fuzz harness (``fuzz_ingest.py``).

Every mutant is a pure function of (seed, mutant number): the same pair always gives the same bytes,
so a failing input's file name is enough to make it again.
"""

from __future__ import annotations

import json
import random
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

BYTE_OPERATORS = ("bit_flip", "byte_change", "length_field", "truncate", "insert", "delete", "zero_run")
JSON_OPERATORS = ("json_value", "json_drop", "json_deep", "json_bignum")

_PIXEL_TAG = b"\xe0\x7f\x10\x00"
_ITEM_TAG = b"\xfe\xff\x00\xe0"
_LONG_VRS = (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV")
_SHORT_VRS = (b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
              b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US")
_VR_PATTERN = re.compile(b"(?=(" + b"|".join(_LONG_VRS + _SHORT_VRS) + b"))")
_ENCAPSULATED_MARK = b"1.2.840.10008.1.2.4"
_RLE_MARK = b"1.2.840.10008.1.2.5"


@dataclass(frozen=True)
class Source:
    """One corpus file: its bytes, a short name, its kind, and its weight in the draw.

    ``siblings`` are intact files of the same series: a mutant may be loaded among them, as one bad
    slice of a series (the loader's threaded path, where a bad slice is skipped, not fatal).
    """

    name: str
    data: bytes
    kind: str  # "dicom", "autosave", "manifest", "weights"
    weight: float = 1.0
    siblings: tuple[bytes, ...] = ()


def _pixel_start(data: bytes) -> int:
    at = data.rfind(_PIXEL_TAG)
    return at if at >= 0 else 0


def _length_fields(data: bytes) -> list[tuple[int, int]]:
    """(offset, width) of likely element and item length fields in an explicit VR little endian file."""
    fields: list[tuple[int, int]] = []
    for match in _VR_PATTERN.finditer(data, 132):
        at = match.start()
        if at < 4:
            continue
        if match.group(1) in _LONG_VRS:
            fields.append((at + 4, 4))
        else:
            fields.append((at + 2, 2))
    start = 0
    while (at := data.find(_ITEM_TAG, start)) >= 0:
        fields.append((at + 4, 4))
        start = at + 4
    return [(at, width) for at, width in fields if at + width <= len(data)]


def _position(data: bytes, rng: random.Random) -> int:
    """A byte position; half of them in the pixel data, where the decoders look."""
    if not data:
        return 0
    pixels = _pixel_start(data)
    if pixels and rng.random() < 0.5:
        return rng.randrange(pixels, len(data))
    return rng.randrange(len(data))


def _bit_flip(data: bytearray, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 8)):
        at = _position(data, rng)
        data[at] ^= 1 << rng.randrange(8)
    return "bit_flip"


def _byte_change(data: bytearray, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        data[_position(data, rng)] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    return "byte_change"


def _length_field(data: bytearray, rng: random.Random) -> str:
    fields = _length_fields(bytes(data))
    if not fields:
        return _byte_change(data, rng)
    at, width = rng.choice(fields)
    fmt = "<H" if width == 2 else "<I"
    limit = (1 << (8 * width)) - 1
    old = struct.unpack_from(fmt, data, at)[0]
    new = rng.choice((0, 1, limit, limit - 1, old + rng.randint(-8, 8), old * 2, old // 2,
                      old + rng.randrange(1, 1 << 16), rng.randrange(limit + 1)))
    struct.pack_into(fmt, data, at, min(max(new, 0), limit))
    return "length_field"


def _truncate(data: bytearray, rng: random.Random) -> str:
    at = _position(data, rng)
    del data[max(1, at):]
    return "truncate"


def _insert(data: bytearray, rng: random.Random) -> str:
    at = _position(data, rng)
    data[at:at] = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 8, rng.randint(1, 256)))))
    return "insert"


def _delete(data: bytearray, rng: random.Random) -> str:
    at = _position(data, rng)
    del data[at:at + rng.choice((1, 2, 4, 8, rng.randint(1, 256)))]
    return "delete"


def _zero_run(data: bytearray, rng: random.Random) -> str:
    at = _position(data, rng)
    size = rng.choice((4, 16, 64, rng.randint(1, 4096)))
    data[at:at + size] = bytes(len(data[at:at + size]))
    return "zero_run"


_BYTE_FUNCTIONS: dict[str, Callable[[bytearray, random.Random], str]] = {
    "bit_flip": _bit_flip, "byte_change": _byte_change, "length_field": _length_field, "truncate": _truncate,
    "insert": _insert, "delete": _delete, "zero_run": _zero_run,
}

_ODD_VALUES: tuple[Any, ...] = (None, True, -1, 0, 2**63, 1e308, -1e-308, "", "x" * 300, "../evil", [], {},
                                [None], {"": None}, "0" * 64, "NaN")


def _json_nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    nodes = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            nodes.extend(_json_nodes(child, path + (key,)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            nodes.extend(_json_nodes(child, path + (i,)))
    return nodes


_PLACEHOLDER = "\u0000fuzz\u0000"
_HOSTILE_TEXT = {
    "json_deep": lambda rng: (lambda depth: "[" * depth + "]" * depth)(rng.choice((200, 5000, 100000))),
    "json_bignum": lambda rng: rng.choice(("9" * 5000, "1e999999", "-0." + "0" * 5000 + "1")),
}


def _json_mutation(data: bytes, rng: random.Random, operator: str) -> bytes:
    document = json.loads(data.decode("utf-8"))
    nodes = [n for n in _json_nodes(document) if n]
    if not nodes:
        return data
    path = rng.choice(nodes)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if operator == "json_drop":
        del parent[key]
    elif operator in _HOSTILE_TEXT:
        parent[key] = _PLACEHOLDER
        text = json.dumps(document, indent=1)
        hostile = _HOSTILE_TEXT[operator](rng)
        return text.replace(json.dumps(_PLACEHOLDER), hostile, 1).encode("utf-8")
    else:
        old = parent[key]
        odd = rng.choice(_ODD_VALUES)
        if isinstance(old, (int, float)) and not isinstance(old, bool) and rng.random() < 0.5:
            odd = rng.choice((-old, old * 1000, old + 1, float("inf"), float("nan")))
        parent[key] = odd
    return json.dumps(document, indent=1).encode("utf-8")


def mutate(source: Source, rng: random.Random) -> tuple[bytes, list[str]]:
    """Apply one to three operators to a source's bytes; returns the bytes and the operator names.

    An operator can leave the bytes as they were (a byte set to its own value); then more operators
    follow, so that every mutant differs from its source.
    """
    for _ in range(20):
        data, operations = _mutate_once(source, rng)
        if data != source.data:
            break
    return data, operations


def _mutate_once(source: Source, rng: random.Random) -> tuple[bytes, list[str]]:
    data = bytearray(source.data)
    operations: list[str] = []
    json_kind = source.kind in ("autosave", "manifest")
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if json_kind and rng.random() < 0.5:
            operator = rng.choices(JSON_OPERATORS, weights=(6, 3, 1, 1))[0]
            try:
                data = bytearray(_json_mutation(bytes(data), rng, operator))
                operations.append(operator)
                continue
            except (ValueError, RecursionError):
                pass  # an earlier operator broke the JSON: fall through to a byte operator
        if not data:
            break
        operations.append(_BYTE_FUNCTIONS[rng.choice(BYTE_OPERATORS)](data, rng))
    return bytes(data), operations


def mutant_rng(seed: int, number: int) -> random.Random:
    """The random stream of mutant ``number`` under ``seed``."""
    return random.Random(f"fuzz-ingest:{seed}:{number}")


def dicom_weight(data: bytes) -> float:
    """Compressed files weigh more: the native decoders are where the crashes were."""
    head = data[:2048]
    if _RLE_MARK in head:
        return 4.0
    return 3.0 if _ENCAPSULATED_MARK in head else 1.0


def is_dicom(path: Path) -> bool:
    """A file with the DICM magic (or named .dcm, or a DICOMDIR)."""
    if path.suffix.lower() == ".dcm" or path.name.upper() == "DICOMDIR":
        return True
    try:
        with open(path, "rb") as fp:
            return fp.read(132)[128:132] == b"DICM"
    except OSError:
        return False
