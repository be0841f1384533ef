"""Load an indexed series into a :class:`Volume`, decoding every transfer syntax pydicom supports."""

from __future__ import annotations

import os
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Union

import numpy as np

from npc_desktop.core.dicom.decode_pool import decode_file
from npc_desktop.core.dicom.decoders import DecodedPixels, syntax_label
from npc_desktop.core.dicom.errors import InconsistentSeriesError, PixelDataError
from npc_desktop.core.dicom.headers import InstanceHeader, PixelLayout
from npc_desktop.core.dicom.index import SeriesInfo, StudyIndex, index_path
from npc_desktop.core.dicom.memory import empty_large
from npc_desktop.core.dicom.volume import SeriesMeta, SliceRef, Volume
from npc_desktop.core.progress import CancelToken, OperationCancelled, ProgressCallback, check_cancelled

NATIVE_DECODER = "native"
"""The decoder name of uncompressed pixel data read straight from the file."""

_READ_THREADS = max(2, min(8, (os.cpu_count() or 2) * 2))


def _native_dtype(layout: PixelLayout) -> np.dtype:
    if layout.bits_allocated not in (8, 16, 32):
        raise PixelDataError(None, f"unsupported Bits Allocated {layout.bits_allocated}")
    kind = "i" if layout.pixel_representation == 1 else "u"
    dtype = np.dtype(f"{kind}{layout.bits_allocated // 8}")
    return dtype.newbyteorder("<" if layout.is_little_endian else ">")


def _read_native(header: InstanceHeader, archive: Optional[zipfile.ZipFile]) -> np.ndarray:
    layout = header.layout
    assert layout is not None and layout.value_offset is not None and layout.value_length is not None
    expected = layout.expected_bytes
    if layout.value_length < expected:
        raise PixelDataError(
            header.ref.display_name,
            f"pixel data is truncated ({layout.value_length} of {expected} bytes)",
        )
    dtype = _native_dtype(layout)
    buffer = bytearray(expected)
    with header.ref.open(archive) as fp:
        fp.seek(layout.value_offset)
        got = fp.readinto(buffer)  # type: ignore[attr-defined]
    if got != expected:
        raise PixelDataError(
            header.ref.display_name, f"pixel data is truncated ({got} of {expected} bytes)"
        )
    array = np.frombuffer(buffer, dtype=dtype)
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    shape = (layout.number_of_frames, layout.rows, layout.columns)
    if layout.samples_per_pixel > 1:
        shape = shape + (layout.samples_per_pixel,)
    return array.reshape(shape)


def _read_encoded(header: InstanceHeader) -> DecodedPixels:
    layout = header.layout
    assert layout is not None
    decoded = decode_file(
        str(header.ref.path), header.ref.member, header.ref.display_name, syntax_label(layout.transfer_syntax_uid)
    )
    array = decoded.array
    if layout.number_of_frames == 1 and array.shape[:2] == (layout.rows, layout.columns):
        array = array[np.newaxis]
    return DecodedPixels(array, decoded.decoder, decoded.failures)


def decode_instance(header: InstanceHeader, archive: Optional[zipfile.ZipFile] = None) -> DecodedPixels:
    """Decode one instance's pixel data and say which decoder did it.

    Uncompressed pixel data is read straight from the recorded file offset (decoder
    ``"native"``); every other transfer syntax goes through pydicom's decoders, tried in turn,
    in the decode pool's worker processes (see :mod:`~npc_desktop.core.dicom.decode_pool`).

    Raises
    ------
    PixelDataError
        If the data is missing, truncated or cannot be decoded by any decoder.
    """
    layout = header.layout
    if layout is None or not header.has_pixels:
        raise PixelDataError(header.ref.display_name, "the object has no pixel data")
    try:
        if layout.is_native:
            return DecodedPixels(_read_native(header, archive), NATIVE_DECODER)
        return _read_encoded(header)
    except PixelDataError as exc:
        if exc.path is None:
            raise PixelDataError(header.ref.display_name, exc.problem) from exc
        raise
    except OSError as exc:
        raise PixelDataError(header.ref.display_name, f"cannot read the file: {exc}") from exc


def read_instance_pixels(
    header: InstanceHeader, archive: Optional[zipfile.ZipFile] = None
) -> np.ndarray:
    """Decode one instance's pixel data as (frames, rows, columns[, samples]).

    See :func:`decode_instance`, which also says which decoder decoded it.

    Raises
    ------
    PixelDataError
        If the data is missing, truncated or cannot be decoded.
    """
    return decode_instance(header, archive).array


def _to_gray(frames: np.ndarray) -> np.ndarray:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.rint(frames[..., :3].astype(np.float32) @ weights).astype(frames.dtype)


def _meta(series: SeriesInfo) -> SeriesMeta:
    first = series.frames[0].instance
    return SeriesMeta(
        key=series.key,
        series_instance_uid=series.series_instance_uid,
        study_instance_uid=series.study_instance_uid,
        frame_of_reference_uid=series.frame_of_reference_uid,
        modality=series.modality,
        series_description=series.description,
        series_number=series.series_number,
        patient_name=first.patient_name,
        patient_id=first.patient_id,
        patient_birth_date=first.patient_birth_date,
        patient_sex=first.patient_sex,
        study_date=first.study_date,
        study_description=first.study_description,
    )


def _geometry(series: SeriesInfo, warnings: list[str]) -> tuple[tuple[float, float, float], tuple[float, float, float], np.ndarray]:
    first = series.frames[0]
    if first.pixel_spacing is not None:
        row_spacing, column_spacing = first.pixel_spacing
    else:
        row_spacing = column_spacing = 1.0
        warnings.append("no PixelSpacing in the header; 1 mm pixels assumed (distances are not real)")
    slice_spacing = series.spacing_mm
    if slice_spacing is None or slice_spacing <= 0:
        slice_spacing = first.slice_thickness if first.slice_thickness else 1.0
    if first.orientation is not None:
        row_dir = np.asarray(first.orientation[:3], dtype=float)
        col_dir = np.asarray(first.orientation[3:6], dtype=float)
        normal = np.cross(row_dir, col_dir)
        normal /= np.linalg.norm(normal) or 1.0
        direction = np.column_stack([row_dir, col_dir, normal])
    else:
        direction = np.eye(3)
    origin = first.position if first.position is not None else (0.0, 0.0, 0.0)
    return (
        (float(column_spacing), float(row_spacing), float(slice_spacing)),
        tuple(float(v) for v in origin),  # type: ignore[return-value]
        direction,
    )


def _fix_bits_in_place(voxels: np.ndarray, layout: PixelLayout) -> None:
    """Mask unused high bits or sign-extend, for the whole volume at once (idempotent)."""
    stored, allocated = layout.bits_stored, layout.bits_allocated
    if stored >= allocated or voxels.dtype.kind not in "iu":
        return
    if voxels.dtype.kind == "i":
        shift = voxels.dtype.itemsize * 8 - stored
        np.left_shift(voxels, shift, out=voxels)
        np.right_shift(voxels, shift, out=voxels)
    elif voxels.max() >= (1 << stored):
        np.bitwise_and(voxels, (1 << stored) - 1, out=voxels)


def _reads_in_place(header: InstanceHeader) -> bool:
    layout = header.layout
    return (
        layout is not None
        and layout.is_native
        and layout.is_little_endian
        and layout.number_of_frames == 1
        and layout.samples_per_pixel == 1
        and header.ref.member is None
        and layout.value_length is not None
        and layout.value_length >= layout.expected_bytes
    )


def _decoder_counts(
    instances: list[InstanceHeader],
    decoded_by: dict[int, tuple[str, tuple[str, ...]]],
    failures: dict[int, str],
    warnings: list[str],
) -> dict[str, int]:
    """How many instances each decoder decoded; a warning for each file a fallback decoder saved."""
    counts: dict[str, int] = {}
    for header in instances:
        if id(header) in failures or id(header) not in decoded_by:
            continue
        decoder, failed = decoded_by[id(header)]
        counts[decoder] = counts.get(decoder, 0) + 1
        if failed:
            name = Path(header.ref.member or header.ref.path).name
            warnings.append(f"{name}: decoded by {decoder} after " + "; ".join(failed))
    return counts


def load_series(
    series: SeriesInfo,
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> Volume:
    """Load the pixels of an indexed image series.

    A file whose pixel data cannot be decoded is listed in ``Volume.skipped`` and its slice
    stays blank, so that the geometry of the rest holds, while the rest loads.

    Parameters
    ----------
    series
        An image series from :func:`~npc_desktop.core.dicom.index.index_path`.
    progress
        Called as ``progress(done, total)`` in instances.
    cancel
        Cancel token checked between instances.

    Raises
    ------
    PixelDataError
        If no slice of the series can be decoded.
    InconsistentSeriesError
        If the series is not an image series or its images differ in size.
    OperationCancelled
        If cancelled.
    """
    if not series.is_image or not series.frames:
        raise InconsistentSeriesError(
            None, f"series {series.key} ({series.modality}) holds no images to load"
        )
    layout = series.frames[0].instance.layout
    assert layout is not None
    instances = series.instances
    slots: dict[int, list[tuple[int, int]]] = {}
    for slot, frame in enumerate(series.frames):
        slots.setdefault(id(frame.instance), []).append((slot, frame.frame_index or 0))
    dtype = _native_dtype(layout).newbyteorder("=")
    voxels = empty_large((len(series.frames), layout.rows, layout.columns), dtype)
    failures: dict[int, str] = {}
    decoded_by: dict[int, tuple[str, tuple[str, ...]]] = {}
    lock = threading.Lock()
    done = [0]
    archives: dict[tuple[int, Path], zipfile.ZipFile] = {}

    def archive_for(header: InstanceHeader) -> Optional[zipfile.ZipFile]:
        if header.ref.member is None:
            return None
        key = (threading.get_ident(), header.ref.path)
        with lock:
            archive = archives.get(key)
            if archive is None:
                archive = archives[key] = zipfile.ZipFile(header.ref.path)
        return archive

    def read_in_place(header: InstanceHeader, slot: int) -> None:
        assert header.layout is not None and header.layout.value_offset is not None
        with open(header.ref.path, "rb", buffering=0) as fp:
            fp.seek(header.layout.value_offset)
            got = fp.readinto(memoryview(voxels[slot]).cast("B"))
        if got != header.layout.expected_bytes:
            raise PixelDataError(header.ref.display_name, "pixel data is truncated")

    def work(header: InstanceHeader) -> None:
        if cancel is not None and cancel.is_set():
            return
        targets = slots[id(header)]
        try:
            if _reads_in_place(header) and header.layout == layout:
                read_in_place(header, targets[0][0])
                decoded_by[id(header)] = (NATIVE_DECODER, ())
            else:
                decoded = decode_instance(header, archive_for(header))
                decoded_by[id(header)] = (decoded.decoder, decoded.failures)
                pixels = decoded.array
                if pixels.ndim == 4:
                    pixels = _to_gray(pixels)
                for slot, frame_index in targets:
                    if pixels[frame_index].shape != voxels.shape[1:]:
                        raise InconsistentSeriesError(
                            header.ref.display_name,
                            f"image size {pixels[frame_index].shape} differs from the "
                            f"series' {voxels.shape[1:]}",
                        )
                    voxels[slot] = pixels[frame_index]
        except (PixelDataError, InconsistentSeriesError, OSError) as exc:
            failures[id(header)] = getattr(exc, "problem", str(exc))
            for slot, _ in targets:
                voxels[slot] = 0
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], len(instances))

    try:
        if len(instances) > 4:
            with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
                list(pool.map(work, instances))
        else:
            for header in instances:
                work(header)
    finally:
        for archive in archives.values():
            archive.close()
    check_cancelled(cancel)

    skipped = [(h.ref.display_name, failures[id(h)]) for h in instances if id(h) in failures]
    if len(skipped) == len(instances):
        name, problem = skipped[0]
        raise PixelDataError(
            name, f"no slice of series '{series.description or series.key}' could be decoded: {problem}"
        )
    _fix_bits_in_place(voxels, layout)
    rescales = [f.rescale for f in series.frames]
    if any(r != (1.0, 0.0) for r in rescales):
        slopes = np.array([r[0] for r in rescales], dtype=np.float32)[:, None, None]
        intercepts = np.array([r[1] for r in rescales], dtype=np.float32)[:, None, None]
        voxels = voxels.astype(np.float32) * slopes + intercepts
    slices = [
        SliceRef(
            frame.sop_instance_uid,
            None if frame.frame_index is None else frame.frame_index + 1,
            decoded=id(frame.instance) not in failures,
        )
        for frame in series.frames
    ]
    warnings = list(series.warnings)
    if skipped:
        warnings.append(f"{len(skipped)} file(s) could not be decoded; their slices are shown blank")
    decoders = _decoder_counts(instances, decoded_by, failures, warnings)
    if layout.samples_per_pixel > 1:
        warnings.append("colour images were converted to greyscale for display")
    spacing, origin, direction = _geometry(series, warnings)
    middle = series.frames[len(series.frames) // 2]
    return Volume(
        voxels=voxels,
        spacing=spacing,
        origin=origin,
        direction=direction,
        slices=slices,
        meta=_meta(series),
        window=middle.window,
        invert=layout.photometric == "MONOCHROME1",
        warnings=warnings,
        skipped=skipped,
        decoders=decoders,
    )


def load_path(
    path: Union[str, Path],
    series_key: Optional[str] = None,
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> tuple[StudyIndex, Volume]:
    """Index ``path`` and load one series: ``series_key`` or the largest image series.

    Raises
    ------
    NoImagesError, SeriesNotFoundError, PixelDataError, OperationCancelled
    """
    index = index_path(path, cancel=cancel)
    series = index.find_series(series_key) if series_key else index.default_series()
    return index, load_series(series, progress=progress, cancel=cancel)


__all__ = ["decode_instance", "load_series", "load_path", "read_instance_pixels", "OperationCancelled"]
