"""ROI exports for other tools: a CSV table and COCO JSON, both pseudonymous.

Rows and image names carry a pseudonymous patient id chosen by the caller, a series label
(``S1``, ``S2``... unless given) and slice indices; no names, patient IDs, dates or UIDs
(unless ``include_uids=True`` for a CSV that stays inside the hospital).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.patches import ContextMargin, PatchError, patch_geometry, pixel_spacing
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import utc_now
from npc_desktop.core.dicom.volume import Volume

__all__ = [
    "COCO_CATEGORIES",
    "CSV_COLUMNS",
    "InteropError",
    "ImageInfo",
    "image_catalogue",
    "pseudonymous_image_name",
    "csv_rows",
    "write_csv",
    "coco_dict",
    "write_coco",
]

COCO_CATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "name": RoiKind.TUMOUR.value, "supercategory": "lesion"},
    {"id": 2, "name": RoiKind.LYMPH_NODE.value, "supercategory": "lesion"},
]
_CATEGORY_ID = {RoiKind(c["name"]): c["id"] for c in COCO_CATEGORIES}

CSV_COLUMNS: tuple[str, ...] = (
    "patient", "roi_id", "kind", "series", "slice_index", "image_name",
    "row0", "col0", "row1", "col1", "height_px", "width_px", "height_mm", "width_mm",
    "patch_row0", "patch_col0", "patch_row1", "patch_col1", "patch_height_mm", "patch_width_mm",
    "margin_fraction", "margin_mm", "clipped", "roi_clipped",
)
"""Columns of :func:`write_csv`, in order (plus the UID columns with ``include_uids``)."""

_UID_COLUMNS = ("series_instance_uid", "sop_instance_uid", "frame_number")
_PSEUDONYM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_Rois = Union[AnnotationSet, Iterable[RectRoi]]


class InteropError(ValueError):
    """An export cannot be made; the message names the ROI, setting or file."""


@dataclass(frozen=True)
class ImageInfo:
    """What an export needs to know about the image a ROI is drawn on."""

    series_label: str
    slice_index: int
    rows: int
    columns: int
    row_spacing: float
    col_spacing: float


def _check_pseudonym(name: str, value: str) -> str:
    if not isinstance(value, str) or not _PSEUDONYM_RE.match(value):
        raise InteropError(
            f"{name} {value!r} must be 1-64 letters, digits, '-' or '_' (a pseudonym, not a UID or name)"
        )
    return value


def image_catalogue(
    volumes: Sequence[Volume], series_labels: Optional[Mapping[str, str]] = None
) -> dict[tuple[str, Optional[int]], ImageInfo]:
    """Index the slices of loaded series by ``(SOP Instance UID, frame number)``.

    Parameters
    ----------
    volumes
        The loaded series the ROIs are drawn on.
    series_labels
        SeriesInstanceUID -> pseudonymous label; ``S1``, ``S2``... in volume order by default.

    Raises
    ------
    InteropError
        If a label is not a safe pseudonym.
    """
    catalogue: dict[tuple[str, Optional[int]], ImageInfo] = {}
    for number, volume in enumerate(volumes, start=1):
        uid = volume.meta.series_instance_uid
        label = _check_pseudonym("series label", (series_labels or {}).get(uid, f"S{number}"))
        _, rows, columns = volume.shape
        row_spacing, col_spacing = pixel_spacing(volume)
        for index, ref in enumerate(volume.slices):
            catalogue[(ref.sop_instance_uid, ref.frame_number)] = ImageInfo(
                label, index, rows, columns, row_spacing, col_spacing
            )
    return catalogue


def pseudonymous_image_name(
    patient: str, series_label: str, slice_index: int, *, extension: str = "png"
) -> str:
    """The file name of a slice image in exports: ``<patient>_<series>_s<slice:04d>.<ext>``.

    Raises
    ------
    InteropError
        If ``patient`` or ``series_label`` is not a safe pseudonym.
    """
    _check_pseudonym("patient id", patient)
    _check_pseudonym("series label", series_label)
    if not (extension.isascii() and extension.isalnum()):
        raise InteropError(f"image extension {extension!r} must be letters and digits, e.g. 'png'")
    return f"{patient}_{series_label}_s{slice_index:04d}.{extension}"


def _rois(rois: _Rois) -> list[RectRoi]:
    return list(rois.rois if isinstance(rois, AnnotationSet) else rois)


def _info(catalogue: Mapping[tuple[str, Optional[int]], ImageInfo], roi: RectRoi) -> ImageInfo:
    info = catalogue.get((roi.sop_instance_uid, roi.frame_number))
    if info is None:
        raise InteropError(f"ROI {roi.id}: its image {roi.sop_instance_uid} is not in the given series")
    return info


def csv_rows(
    rois: _Rois,
    volumes: Sequence[Volume],
    *,
    patient: str,
    margin: ContextMargin = ContextMargin(),
    series_labels: Optional[Mapping[str, str]] = None,
    include_uids: bool = False,
) -> list[dict[str, Any]]:
    """One dict per ROI with the :data:`CSV_COLUMNS` (see :func:`write_csv`)."""
    _check_pseudonym("patient id", patient)
    catalogue = image_catalogue(volumes, series_labels)
    rows = []
    for roi in _rois(rois):
        info = _info(catalogue, roi)
        try:
            geometry = patch_geometry(
                roi.box, (info.rows, info.columns), margin,
                row_spacing=info.row_spacing, col_spacing=info.col_spacing,
            )
        except PatchError as exc:
            raise InteropError(f"ROI {roi.id}: {exc}") from exc
        height_mm, width_mm = roi.size_mm(row_spacing=info.row_spacing, col_spacing=info.col_spacing)
        box = geometry.box
        row: dict[str, Any] = {
            "patient": patient,
            "roi_id": roi.id,
            "kind": roi.kind.value,
            "series": info.series_label,
            "slice_index": info.slice_index,
            "image_name": pseudonymous_image_name(patient, info.series_label, info.slice_index),
            "row0": roi.row0, "col0": roi.col0, "row1": roi.row1, "col1": roi.col1,
            "height_px": roi.height, "width_px": roi.width,
            "height_mm": round(height_mm, 3), "width_mm": round(width_mm, 3),
            "patch_row0": box.row0, "patch_col0": box.col0, "patch_row1": box.row1, "patch_col1": box.col1,
            "patch_height_mm": round(box.height * info.row_spacing, 3),
            "patch_width_mm": round(box.width * info.col_spacing, 3),
            "margin_fraction": margin.fraction, "margin_mm": margin.mm,
            "clipped": int(geometry.clipped), "roi_clipped": int(geometry.roi_clipped),
        }
        if include_uids:
            row.update(
                series_instance_uid=roi.series_instance_uid,
                sop_instance_uid=roi.sop_instance_uid,
                frame_number=roi.frame_number if roi.frame_number is not None else "",
            )
        rows.append(row)
    return rows


def write_rows_csv(path: Union[str, Path], columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` (column -> value) under a header of ``columns``; returns the file.

    Raises
    ------
    InteropError
        If the file cannot be written, naming it.
    """
    target = Path(path)
    try:
        with open(target, "w", newline="", encoding="utf-8") as fp:
            writer = csv.DictWriter(fp, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise InteropError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target


def write_csv(
    rois: _Rois,
    volumes: Sequence[Volume],
    path: Union[str, Path],
    *,
    patient: str,
    margin: ContextMargin = ContextMargin(),
    series_labels: Optional[Mapping[str, str]] = None,
    include_uids: bool = False,
) -> Path:
    """Write one CSV row per ROI: pseudonymous patient, kind, series, slice, box in px and mm,
    the patch box and the context margin.

    Parameters
    ----------
    rois
        An annotation set or ROIs.
    volumes
        The loaded series the ROIs are drawn on (for slice index, size and spacing).
    path
        The CSV file to write.
    patient
        Pseudonymous patient id (letters, digits, ``-``, ``_``).
    margin
        The context margin whose patch box is reported.
    series_labels
        SeriesInstanceUID -> label; ``S1``, ``S2``... by default.
    include_uids
        Also write series/SOP UIDs and frame number (not de-identified).

    Raises
    ------
    InteropError
        If a ROI's image is not in ``volumes``, lies outside it, a pseudonym is unsafe, or the
        file cannot be written.
    """
    rows = csv_rows(
        rois, volumes, patient=patient, margin=margin, series_labels=series_labels, include_uids=include_uids
    )
    columns = list(CSV_COLUMNS) + (list(_UID_COLUMNS) if include_uids else [])
    return write_rows_csv(path, columns, rows)


def coco_dict(
    rois: _Rois,
    volumes: Sequence[Volume],
    *,
    patient: str,
    series_labels: Optional[Mapping[str, str]] = None,
    image_extension: str = "png",
) -> dict[str, Any]:
    """The ROIs as a COCO detection dataset (one image per annotated slice).

    Boxes are ``[x, y, width, height]`` = ``[col0, row0, col1 - col0, row1 - row0]`` in pixels,
    clipped to the image. ``file_name`` follows :func:`pseudonymous_image_name`.

    Raises
    ------
    InteropError
        If a ROI's image is not in ``volumes`` or the ROI lies outside it.
    """
    _check_pseudonym("patient id", patient)
    catalogue = image_catalogue(volumes, series_labels)
    images: dict[tuple[str, Optional[int]], dict[str, Any]] = {}
    annotations = []
    for roi in _rois(rois):
        info = _info(catalogue, roi)
        key = (roi.sop_instance_uid, roi.frame_number)
        if key not in images:
            images[key] = {
                "id": len(images) + 1,
                "file_name": pseudonymous_image_name(
                    patient, info.series_label, info.slice_index, extension=image_extension
                ),
                "width": info.columns,
                "height": info.rows,
            }
        x0, y0 = max(roi.col0, 0.0), max(roi.row0, 0.0)
        x1, y1 = min(roi.col1, float(info.columns)), min(roi.row1, float(info.rows))
        if x1 <= x0 or y1 <= y0:
            raise InteropError(f"ROI {roi.id} lies outside its {info.rows}x{info.columns} image")
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": images[key]["id"],
                "category_id": _CATEGORY_ID[roi.kind],
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "area": (x1 - x0) * (y1 - y0),
                "iscrowd": 0,
                "attributes": {"roi_id": roi.id},
            }
        )
    return {
        "info": {
            "description": f"NPC Desktop ROIs of patient {patient}",
            "version": "1",
            "date_created": utc_now().isoformat(timespec="seconds"),
        },
        "licenses": [],
        "images": list(images.values()),
        "annotations": annotations,
        "categories": [dict(c) for c in COCO_CATEGORIES],
    }


def write_coco(
    rois: _Rois,
    volumes: Sequence[Volume],
    path: Union[str, Path],
    *,
    patient: str,
    series_labels: Optional[Mapping[str, str]] = None,
    image_extension: str = "png",
) -> Path:
    """Write :func:`coco_dict` as JSON to ``path``.

    Raises
    ------
    InteropError
        As :func:`coco_dict`, or if the file cannot be written.
    """
    data = coco_dict(
        rois, volumes, patient=patient, series_labels=series_labels, image_extension=image_extension
    )
    target = Path(path)
    try:
        target.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InteropError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
