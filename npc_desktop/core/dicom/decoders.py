"""Decode compressed pixel data with every decoder pydicom offers for the syntax, in turn.

Native decoders (pylibjpeg's Rust RLE, OpenJPEG, libjpeg, GDCM) fail in ways Python code does not
expect: a Rust panic surfaces as ``pyo3_runtime.PanicException``, which derives from
``BaseException`` and slips past ``except Exception``. Every decode here is wrapped so that any
such failure becomes a :class:`PixelDataError` naming the file and the transfer syntax, after the
other decoders for the syntax have been tried. Only ``KeyboardInterrupt``, ``SystemExit`` and
``GeneratorExit`` propagate.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pydicom
from pydicom.uid import UID

from npc_desktop.core.dicom.errors import PixelDataError

PROPAGATE = (KeyboardInterrupt, SystemExit, GeneratorExit)
"""Exceptions that always propagate from a decode: the user or the interpreter asked to stop."""

_PREFERRED_ORDER = ("pylibjpeg", "gdcm", "pillow", "pyjpegls", "pydicom")
"""Decoders tried first to last; pydicom's own pure-Python RLE decoder is the slow fallback."""


@dataclass(frozen=True)
class DecodedPixels:
    """Pixel data decoded from one instance.

    Attributes
    ----------
    array
        The decoded frames as pydicom returns them: (rows, columns[, samples]) for one frame,
        (frames, rows, columns[, samples]) for several.
    decoder
        The pydicom decoding plugin that decoded it (``"pylibjpeg"``, ``"pydicom"``, ...).
    failures
        One ``"plugin: problem"`` line per decoder that failed before ``decoder`` succeeded.
    """

    array: np.ndarray
    decoder: str
    failures: tuple[str, ...] = ()


def describe_failure(exc: BaseException) -> str:
    """One line naming an exception's type and the first line of its message."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    # pydicom wraps a plugin's failure as "Unable to decode ... plugins:" followed by the reason
    text = lines[1] if len(lines) > 1 and lines[0].endswith(":") else (lines[0] if lines else "")
    name = exc.__class__.__name__
    return f"{name}: {text[:200]}" if text else name


def syntax_label(uid: Any) -> str:
    """The transfer syntax as ``'Name (UID)'`` for messages, or the bare UID if pydicom does not know it."""
    text = str(uid or "").strip()
    if not text:
        return "no transfer syntax"
    name = UID(text).name
    return f"{name} ({text})" if name and name != text else text


def _ordered_plugins(available: list[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(_PREFERRED_ORDER)}
    return sorted(available, key=lambda name: rank.get(name, len(rank)))


def decode_dataset(ds: pydicom.Dataset, name: str) -> DecodedPixels:
    """Decode a dataset's compressed pixel data, trying each available decoder in turn.

    Parameters
    ----------
    ds
        A dataset read with its pixel data.
    name
        The file's name for messages.

    Raises
    ------
    PixelDataError
        If no decoder for the syntax is installed or every one of them fails; the message names
        ``name``, the transfer syntax and each decoder's problem.
    """
    from pydicom.pixels import get_decoder

    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    label = syntax_label(syntax)
    try:
        decoder = get_decoder(UID(str(syntax)))
    except PROPAGATE:
        raise
    except BaseException as exc:
        raise PixelDataError(name, f"pixel data cannot be decoded ({label}): {describe_failure(exc)}") from None
    plugins = _ordered_plugins(list(decoder.available_plugins))
    if not plugins:
        missing = ", ".join(sorted(getattr(decoder, "missing_plugins", {}) or ())) or "none"
        raise PixelDataError(name, f"no decoder is installed for {label} (supported by: {missing})")
    failures: list[str] = []
    for plugin in plugins:
        try:
            array, _ = decoder.as_array(ds, decoding_plugin=plugin)
        except PROPAGATE:
            raise
        except BaseException as exc:  # a native decoder's panic is a BaseException: catch it here
            problem = describe_failure(exc)
            repeated = f"{type(exc).__name__}: {plugin}: "  # pydicom prefixes a plugin's reason with its name
            if problem.startswith(repeated):
                problem = f"{type(exc).__name__}: " + problem[len(repeated):]
            failures.append(f"{plugin}: {problem}")
            continue
        return DecodedPixels(np.asarray(array), plugin, tuple(failures))
    raise PixelDataError(name, f"pixel data cannot be decoded ({label}); " + "; ".join(failures))


def read_and_decode(path: str, member: Optional[str], name: str) -> DecodedPixels:
    """Read a file (or a zip archive's member) and decode its compressed pixel data.

    Raises
    ------
    PixelDataError
        If the file cannot be read again or its pixel data cannot be decoded.
    """
    try:
        if member is None:
            ds = pydicom.dcmread(path)
        else:
            with zipfile.ZipFile(path) as archive:
                ds = pydicom.dcmread(io.BytesIO(archive.read(member)))
        if "PixelData" not in ds:
            raise PixelDataError(name, "the object has no pixel data")
    except PixelDataError:
        raise
    except PROPAGATE:
        raise
    except BaseException as exc:
        raise PixelDataError(name, f"cannot read the file again to decode it: {describe_failure(exc)}") from None
    return decode_dataset(ds, name)
