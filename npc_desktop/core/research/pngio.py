"""PNG patches without metadata: 8- or 16-bit greyscale, critical chunks only.

Exports must not leak anything through PNG text, time or ICC chunks, so :func:`encode_png`
keeps only the chunks needed to decode the image (IHDR, PLTE, IDAT, IEND), whatever the
encoder would add.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Union

import cv2
import numpy as np

__all__ = [
    "PngError",
    "CRITICAL_CHUNKS",
    "png_chunks",
    "encode_png",
    "write_png",
    "read_png",
    "sha256_file",
]

CRITICAL_CHUNKS: frozenset[bytes] = frozenset((b"IHDR", b"PLTE", b"IDAT", b"IEND"))
"""The only chunk types written: everything else (tEXt, zTXt, iTXt, tIME, eXIf...) is dropped."""

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(ValueError):
    """A PNG cannot be written or read; the message names the file."""


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split PNG bytes into ``(type, payload)`` chunks.

    Raises
    ------
    PngError
        If the bytes are not a well-formed PNG chunk stream.
    """
    if not data.startswith(_SIGNATURE):
        raise PngError("not a PNG file (bad signature)")
    chunks: list[tuple[bytes, bytes]] = []
    position = len(_SIGNATURE)
    while position < len(data):
        if position + 8 > len(data):
            raise PngError("truncated PNG chunk header")
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        end = position + 12 + length
        if end > len(data):
            raise PngError(f"truncated PNG chunk {kind!r}")
        chunks.append((kind, data[position + 8:position + 8 + length]))
        position = end
    return chunks


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_png(image: np.ndarray) -> bytes:
    """Encode a 2-D uint8 or uint16 array as a greyscale PNG with critical chunks only.

    Parameters
    ----------
    image
        2-D array, dtype uint8 or uint16.

    Raises
    ------
    PngError
        For another shape or dtype.
    """
    array = np.asarray(image)
    if array.ndim != 2 or array.dtype not in (np.uint8, np.uint16) or array.size == 0:
        raise PngError(f"a PNG patch must be a non-empty 2-D uint8 or uint16 array, got {array.dtype} {array.shape}")
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:  # pragma: no cover - OpenCV fails only on unsupported input, excluded above
        raise PngError("OpenCV could not encode the patch")
    chunks = png_chunks(buffer.tobytes())
    return _SIGNATURE + b"".join(_chunk(kind, payload) for kind, payload in chunks if kind in CRITICAL_CHUNKS)


def write_png(path: Union[str, Path], image: np.ndarray) -> bytes:
    """Write :func:`encode_png` output atomically (temporary file, rename); return the bytes."""
    path = Path(path)
    data = encode_png(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return data


def read_png(path: Union[str, Path]) -> np.ndarray:
    """Read a PNG as a 2-D uint8 or uint16 greyscale array.

    Colour images are converted to grey (luma); an alpha channel is dropped.

    Raises
    ------
    PngError
        Naming the file when it is missing or cannot be decoded.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise PngError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) if raw.size else None
    if image is None:
        raise PngError(f"{path}: not a readable image")
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    if image.dtype not in (np.uint8, np.uint16):
        raise PngError(f"{path}: unsupported pixel type {image.dtype} (8- or 16-bit greyscale expected)")
    return image


def sha256_file(path: Union[str, Path]) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
