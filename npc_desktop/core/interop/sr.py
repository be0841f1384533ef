"""Rectangular ROIs as a DICOM Structured Report (TID 1500 Measurement Report), with highdicom.

Each ROI becomes one "Planar ROI Measurements" group (TID 1410) whose image region is a closed
POLYLINE of five (column, row) points on the source image, in DICOM's pixel-edge convention
(the same as :class:`~npc_desktop.core.annotation.rois.RectRoi`'s). The finding type says tumour or
lymph node; the tracking identifier is the ROI id and the tracking UID is derived from it
(``2.25.<the UUID as an integer>``), so a re-import keeps the ids.

Rulers, node axes and the cricoid level are added as described in :mod:`.sr_measurements`
(the Length / Bidirectional encodings OHIF reads); :func:`build_sr` also takes ``extra_groups``,
further TID 1500 measurement groups, such as the TNM categories and stage group of
:func:`.sr_tnm.study_tnm_groups`, which :func:`read_sr` reads back.

The SR references the source images by SOP Class and Instance UID and copies the patient and
study attributes from their headers, which are read without pixel data. The source files are
only ever opened for reading.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence, Union

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.measurements import CricoidLevel, Measurement
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import utc_now
from npc_desktop.core.dicom.index import StudyIndex
from npc_desktop.core.dicom.sources import FileRef
from npc_desktop.core.interop.sr_common import SrError, first_frame, id_from_tracking, series_of_instances, tracking_uid
from npc_desktop.core.interop.sr_measurements import SrMeasurements, measurement_groups, read_sr_measurements
from npc_desktop.core.interop.sr_tnm import SrTnm, read_sr_tnm

if TYPE_CHECKING:
    import highdicom as hd

__all__ = [
    "FINDING_CODES",
    "SrContent",
    "SrError",
    "annotated_images",
    "build_sr",
    "read_sr",
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
_OnImage = Union[RectRoi, Measurement, CricoidLevel]


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


def annotated_images(annotations: AnnotationSet) -> list[_OnImage]:
    """Every ROI, measurement and the cricoid level of a set: what :func:`source_headers_for`
    needs to find the headers of all the images an SR of the set references."""
    items: list[_OnImage] = [*annotations.rois, *annotations.measurements]
    if annotations.cricoid_level is not None:
        items.append(annotations.cricoid_level)
    return items


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


def source_headers_for(index: StudyIndex, rois: Iterable[_OnImage]) -> list[Dataset]:
    """Headers of the images the ROIs (or measurements, see :func:`annotated_images`) are drawn
    on, found through a study index.

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
    extra_groups: Sequence[Any] = (),
) -> hd.sr.Comprehensive3DSR:
    """Build a Comprehensive 3D SR (TID 1500) with one image region per ROI, then the
    measurements and the cricoid level of an annotation set, then ``extra_groups``.

    Parameters
    ----------
    annotations
        An annotation set (ROIs, measurements, cricoid level) or ROIs of one study.
    source_headers
        Headers of (at least) every image a ROI is drawn on, e.g. from
        :func:`source_headers_for`; only those referenced become evidence.
    series_number, instance_number
        Of the new SR.
    series_instance_uid, sop_instance_uid
        Of the new SR; new UIDs by default.
    series_description, manufacturer
        Written into the SR.
    extra_groups
        Further highdicom measurement groups (TID 1410/1411/1501), e.g. qualitative evaluations,
        appended after the annotations' groups.

    Returns
    -------
    highdicom.sr.Comprehensive3DSR

    Raises
    ------
    SrError
        If there is nothing to export, an image has no header, or the ROIs span several studies.
    """
    import highdicom as hd  # imported on use: it adds 0.4 s to the start-up of anything importing this

    rois = list(annotations.rois if isinstance(annotations, AnnotationSet) else annotations)
    measurements = list(annotations.measurements) if isinstance(annotations, AnnotationSet) else []
    cricoid = annotations.cricoid_level if isinstance(annotations, AnnotationSet) else None
    if not rois and not measurements and cricoid is None and not extra_groups:
        raise SrError("there are no ROIs or measurements to export")
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
                tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(roi.id), identifier=roi.id),
                referenced_region=region,
                finding_type=FINDING_CODES[roi.kind],
            )
        )
    groups.extend(measurement_groups(measurements, cricoid, by_uid))
    groups.extend(extra_groups)
    on_images: list[_OnImage] = [*rois, *measurements, *([cricoid] if cricoid is not None else [])]
    studies = {str(by_uid[r.sop_instance_uid].StudyInstanceUID) for r in on_images}
    if len(studies) != 1:
        raise SrError(f"the annotations span {len(studies)} studies; export one study per SR")
    evidence = [by_uid[uid] for uid in dict.fromkeys(r.sop_instance_uid for r in on_images)]
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


def _roi_id(group: "hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations") -> str:
    return id_from_tracking(group.tracking_identifier, group.tracking_uid) or str(uuid.uuid4())


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

    dataset, name = _open(source)
    try:
        sr = hd.sr.Comprehensive3DSR.from_dataset(dataset, copy=False)
        reports = sr.content.get_planar_roi_measurement_groups()
    except Exception as exc:  # highdicom/pydicom raise many types for a foreign object
        raise SrError(f"{name} is not a readable measurement report: {exc}") from exc
    series_of = series_of_instances(dataset)
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
        frame = first_frame(source_image.get("ReferencedFrameNumber"))
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


def _open(source: Union[_PathLike, Dataset]) -> tuple[Dataset, str]:
    if isinstance(source, Dataset):
        return source, "the SR dataset"
    try:
        return pydicom.dcmread(source), str(source)
    except Exception as exc:  # pydicom raises many types for a foreign file
        raise SrError(f"{source} is not a readable measurement report: {exc}") from exc


@dataclass(frozen=True)
class SrContent:
    """Everything :func:`read_sr` reads back: the ROIs, the measurements and the TNM evaluations."""

    rois: tuple[RectRoi, ...]
    measurements: SrMeasurements
    tnm: Optional[SrTnm] = None
    """The T, N, M categories and stage group (:mod:`.sr_tnm`); None when the SR has none."""


def read_sr(source: Union[_PathLike, Dataset], source_headers: Sequence[Dataset] = ()) -> SrContent:
    """Read ROIs, rulers, node axes, the cricoid level and the TNM evaluations back from a TID 1500 SR.

    Parameters
    ----------
    source
        An SR file or dataset.
    source_headers
        Headers of the images the measurements are on, e.g. ``source_headers_for(index,
        ...)`` for the SR's evidence; needed for node axes (their pixel spacing) and the cricoid
        level (its patient position), not for ROIs and rulers.

    Raises
    ------
    SrError
        If the object is not a readable measurement report or a needed header is missing.
    """
    dataset, name = _open(source)
    rois = read_sr_rois(dataset)
    headers = {str(ds.SOPInstanceUID): ds for ds in source_headers}
    measurements = read_sr_measurements(dataset, series_of_instances(dataset), headers, name=name)
    return SrContent(tuple(rois), measurements, read_sr_tnm(dataset))
