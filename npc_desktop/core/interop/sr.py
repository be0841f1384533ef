"""Rectangular ROIs as a DICOM Structured Report (TID 1500 Measurement Report), with highdicom.

Each ROI becomes one "Planar ROI Measurements" group (TID 1410) whose image region is a closed
POLYLINE of five (column, row) points on the source image, in DICOM's pixel-edge convention
(the same as :class:`~npc_desktop.core.annotation.rois.RectRoi`'s). The finding type says tumour or
lymph node; the tracking identifier is the ROI id and the tracking UID is derived from it
(``2.25.<the UUID as an integer>``), so a re-import keeps the ids.

The SR references the source images by SOP Class and Instance UID and copies the patient and
study attributes from their headers, which are read without pixel data. The source files are
only ever opened for reading.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Sequence, Union

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import utc_now
from npc_desktop.core.dicom.index import StudyIndex
from npc_desktop.core.dicom.sources import FileRef

if TYPE_CHECKING:
    import highdicom as hd

__all__ = [
    "FINDING_CODES",
    "SrError",
    "build_sr",
    "export_sr",
    "read_source_headers",
    "source_headers_for",
    "read_sr_rois",
    "roi_polyline",
]

FINDING_CODES: dict[RoiKind, Code] = {
    RoiKind.TUMOUR: codes.SCT.Neoplasm,  # SCT 108369006
    RoiKind.LYMPH_NODE: codes.SCT.LymphNode,  # SCT 59441001
}
"""Finding type of each ROI kind (codes and meanings from DICOM's own tables, via pydicom)."""

_KIND_OF_CODE = {(c.scheme_designator, c.value): kind for kind, c in FINDING_CODES.items()}
_DEVICE_UID = "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "https://npc-desktop/sr-device").int)
_PathLike = Union[str, Path]


class SrError(ValueError):
    """An SR cannot be written or read; the message names the file or ROI."""


def roi_polyline(roi: RectRoi) -> np.ndarray:
    """The closed polyline of a ROI: five ``(column, row)`` points, the first repeated last."""
    return np.array(
        [
            [roi.col0, roi.row0],
            [roi.col1, roi.row0],
            [roi.col1, roi.row1],
            [roi.col0, roi.row1],
            [roi.col0, roi.row0],
        ],
        dtype=np.float64,
    )


def _tracking_uid(roi_id: str) -> str:
    return "2.25." + str(uuid.UUID(roi_id).int)


def read_source_headers(files: Iterable[Union[_PathLike, FileRef]]) -> list[Dataset]:
    """Read DICOM headers without pixel data (files on disk or inside a zip archive).

    Raises
    ------
    SrError
        Naming the file that cannot be read.
    """
    headers = []
    for item in files:
        ref = item if isinstance(item, FileRef) else FileRef(Path(item))
        try:
            with ref.open() as fp:
                headers.append(pydicom.dcmread(fp, stop_before_pixels=True))
        except Exception as exc:  # pydicom raises many types for a bad file
            raise SrError(f"cannot read the DICOM header of {ref.display_name}: {exc}") from exc
    return headers


def source_headers_for(index: StudyIndex, rois: Iterable[RectRoi]) -> list[Dataset]:
    """Headers of the images the ROIs are drawn on, found through a study index.

    Raises
    ------
    SrError
        If an image is not in the index.
    """
    wanted = {roi.sop_instance_uid for roi in rois}
    refs: dict[str, FileRef] = {}
    for series in index.all_series():
        for instance in series.instances:
            if instance.sop_instance_uid in wanted:
                refs.setdefault(instance.sop_instance_uid, instance.ref)
    missing = sorted(wanted - refs.keys())
    if missing:
        raise SrError(f"image {missing[0]} is not in the indexed folder, so its header cannot be referenced")
    return read_source_headers(refs[uid] for uid in sorted(refs))


def build_sr(
    annotations: Union[AnnotationSet, Sequence[RectRoi]],
    source_headers: Sequence[Dataset],
    *,
    series_number: int = 901,
    instance_number: int = 1,
    series_instance_uid: Optional[str] = None,
    sop_instance_uid: Optional[str] = None,
    series_description: str = "NPC Desktop ROIs",
    manufacturer: str = "NPC Desktop",
) -> hd.sr.Comprehensive3DSR:
    """Build a Comprehensive 3D SR (TID 1500) with one image region per ROI.

    Parameters
    ----------
    annotations
        An annotation set or ROIs of one study.
    source_headers
        Headers of (at least) every image a ROI is drawn on, e.g. from
        :func:`source_headers_for`; only those referenced become evidence.
    series_number, instance_number
        Of the new SR.
    series_instance_uid, sop_instance_uid
        Of the new SR; new UIDs by default.
    series_description, manufacturer
        Written into the SR.

    Returns
    -------
    highdicom.sr.Comprehensive3DSR

    Raises
    ------
    SrError
        If there are no ROIs, a ROI's image has no header, or the ROIs span several studies.
    """
    import highdicom as hd  # imported on use: it adds 0.4 s to the start-up of anything importing this

    rois = list(annotations.rois if isinstance(annotations, AnnotationSet) else annotations)
    if not rois:
        raise SrError("there are no ROIs to export")
    by_uid = {str(ds.SOPInstanceUID): ds for ds in source_headers}
    groups = []
    for roi in rois:
        source = by_uid.get(roi.sop_instance_uid)
        if source is None:
            raise SrError(f"ROI {roi.id}: no header was given for its image {roi.sop_instance_uid}")
        source_ids = (str(source.StudyInstanceUID), str(source.SeriesInstanceUID))
        if source_ids != (roi.study_instance_uid, roi.series_instance_uid):
            raise SrError(
                f"ROI {roi.id}: its image belongs to study {source_ids[0]} series {source_ids[1]}, "
                f"not to the ROI's {roi.study_instance_uid} / {roi.series_instance_uid}"
            )
        region = hd.sr.ImageRegion(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
            graphic_data=roi_polyline(roi),
            source_image=hd.sr.SourceImageForRegion(
                referenced_sop_class_uid=source.SOPClassUID,
                referenced_sop_instance_uid=source.SOPInstanceUID,
                referenced_frame_numbers=[roi.frame_number] if roi.frame_number is not None else None,
            ),
        )
        groups.append(
            hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=_tracking_uid(roi.id), identifier=roi.id),
                referenced_region=region,
                finding_type=FINDING_CODES[roi.kind],
            )
        )
    studies = {str(by_uid[r.sop_instance_uid].StudyInstanceUID) for r in rois}
    if len(studies) != 1:
        raise SrError(f"the ROIs span {len(studies)} studies; export one study per SR")
    evidence = [by_uid[uid] for uid in dict.fromkeys(r.sop_instance_uid for r in rois)]
    observer = hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device,
            observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                uid=_DEVICE_UID, name=manufacturer
            ),
        )
    )
    report = hd.sr.MeasurementReport(
        observation_context=observer,
        procedure_reported=codes.LN.MRIUnspecifiedBodyRegion,
        imaging_measurements=groups,
    )
    now = utc_now()
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=series_instance_uid or hd.UID(),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or hd.UID(),
        instance_number=instance_number,
        manufacturer=manufacturer,
        is_complete=True,
        series_description=series_description,
        content_date=now.date(),
        content_time=now.time().replace(tzinfo=None),
    )
    return sr


def export_sr(
    annotations: Union[AnnotationSet, Sequence[RectRoi]],
    source_headers: Sequence[Dataset],
    path: _PathLike,
    **options: object,
) -> Path:
    """Build the SR (see :func:`build_sr`, which takes ``options``) and write it to ``path``.

    Raises
    ------
    SrError
        If the SR cannot be built or written (naming the file).
    """
    target = Path(path)
    sr = build_sr(annotations, source_headers, **options)  # type: ignore[arg-type]
    try:
        sr.save_as(target, enforce_file_format=True)
    except OSError as exc:
        raise SrError(f"cannot write the SR to {target}: {exc.strerror or exc}") from exc
    return target


def _series_of_instances(sr: Dataset) -> dict[str, str]:
    series: dict[str, str] = {}
    for name in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in getattr(sr, name, []):
            for item in getattr(study, "ReferencedSeriesSequence", []):
                for sop in getattr(item, "ReferencedSOPSequence", []):
                    series[str(sop.ReferencedSOPInstanceUID)] = str(item.SeriesInstanceUID)
    return series


def _roi_id(group: "hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations") -> str:
    identifier = group.tracking_identifier
    if identifier:
        try:
            if str(uuid.UUID(identifier)) == identifier:
                return identifier
        except ValueError:
            pass
    tracking_uid = str(group.tracking_uid or "")
    if tracking_uid.startswith("2.25."):
        try:
            return str(uuid.UUID(int=int(tracking_uid[5:])))
        except ValueError:
            pass
    return str(uuid.uuid4())


def _first_frame(value: object) -> Optional[int]:
    # ReferencedFrameNumber is IS with VM 1-n: a single value, a MultiValue or empty.
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue):
        return int(value[0]) if len(value) else None
    return int(value)  # type: ignore[call-overload]


def read_sr_rois(source: Union[_PathLike, Dataset]) -> list[RectRoi]:
    """Read the rectangular ROIs back from a TID 1500 SR.

    Every planar ROI group with a 2-D image region becomes the bounding box of its graphic
    data; groups whose finding type is neither tumour nor lymph node are skipped.

    Parameters
    ----------
    source
        An SR file or dataset.

    Returns
    -------
    list of RectRoi
        In the order of the report.

    Raises
    ------
    SrError
        If the object is not a readable TID 1500 Measurement Report.
    """
    import highdicom as hd

    name = str(source) if not isinstance(source, Dataset) else "the SR dataset"
    try:
        dataset = source if isinstance(source, Dataset) else pydicom.dcmread(source)
        sr = hd.sr.Comprehensive3DSR.from_dataset(dataset, copy=False)
        reports = sr.content.get_planar_roi_measurement_groups()
    except Exception as exc:  # highdicom/pydicom raise many types for a foreign object
        raise SrError(f"{name} is not a readable measurement report: {exc}") from exc
    series_of = _series_of_instances(dataset)
    study = str(dataset.StudyInstanceUID)
    rois = []
    for group in reports:
        finding = group.finding_type
        kind = _KIND_OF_CODE.get((finding.scheme_designator, finding.value)) if finding is not None else None
        region = group.roi
        if kind is None or not isinstance(region, hd.sr.ImageRegion):
            continue
        points = np.asarray(region.value, dtype=float)
        source_image = region.ContentSequence[0].ReferencedSOPSequence[0]
        sop_uid = str(source_image.ReferencedSOPInstanceUID)
        frame = _first_frame(source_image.get("ReferencedFrameNumber"))
        if sop_uid not in series_of:
            raise SrError(f"{name}: image {sop_uid} is referenced but not listed in the evidence")
        rois.append(
            RectRoi(
                id=_roi_id(group),
                kind=kind,
                study_instance_uid=study,
                series_instance_uid=series_of[sop_uid],
                sop_instance_uid=sop_uid,
                frame_number=frame,
                col0=float(points[:, 0].min()),
                row0=float(points[:, 1].min()),
                col1=float(points[:, 0].max()),
                row1=float(points[:, 1].max()),
            )
        )
    return rois
