"""Rulers, node axes and the cricoid level in a TID 1500 Measurement Report, and back.

The encodings follow what OHIF reads through the Cornerstone3D adapters of dcmjs
(``dcmjs/src/adapters/Cornerstone3D/Length.js``, ``Bidirectional.js`` and
``dcmjs/src/utilities/TID300/Length.js``, ``Bidirectional.js``, ``Point.js``):

- **Ruler**: a TID 1501 measurement group whose Tracking Identifier is
  ``"Cornerstone3DTools@^0.1.0:Length"`` (how OHIF picks its Length tool) and whose Tracking UID
  is the ruler's id (``2.25.<UUID>``). It holds one NUM "Length" (SCT 410668003) in mm, INFERRED
  FROM a two-point SCOORD POLYLINE ``[col0, row0, col1, row1]`` SELECTED FROM the image.
- **Node axes**: a TID 1501 group with Tracking Identifier
  ``"Cornerstone3DTools@^0.1.0:Bidirectional"``, finding type "Lymph node" (SCT 59441001) and
  its own Tracking UID, derived from the axes' id like every other group's. It holds NUM
  "Long Axis" (SCT 103339001) and "Short Axis" (SCT 103340004), each INFERRED FROM a two-point
  POLYLINE. The link to the node's ROI is the long-axis NUM's own TID 4108 Tracking Identifier
  and Tracking Unique Identifier (HAS OBS CONTEXT, which TID 300 allows on a measurement and
  highdicom writes through ``Measurement(tracking_identifier=...)``): they are the ROI group's,
  so the long axis names the tracked node it measures.

  Why not the group's Tracking UID: OHIF's SR handler (extension ``cornerstone-dicom-sr``,
  ``getMergedContentSequencesByTrackingUniqueIdentifiers``) merges the content of all
  measurement groups that share a group-level Tracking Unique Identifier into one measurement,
  so a node ROI and its axes under one UID became one measurement and the Bidirectional tool
  did not rehydrate. OHIF and the dcmjs Cornerstone3D ``Bidirectional`` adapter look at the
  group's own items only and find the long axis by its concept name and its SCOORD child,
  so the tracking items nested under the NUM do not disturb them.

  Files written before this layout gave the axes group the ROI's Tracking UID and put the axes'
  own id on the long axis; :func:`read_sr_measurements` still reads them (an axes group whose
  Tracking UID is also another group's is in that layout).
- **Cricoid level**: a TID 1410 planar group whose image region is an SCOORD **POINT** on the
  image it was marked on (PS3.3 C.18.6.1.2: a single location), finding type "Caudal border of
  cricoid cartilage" in this product's private coding scheme ``99NPCD`` (PS3.16 section 8
  allows private schemes whose designator starts with ``99``), Tracking Identifier and UID its id.
  The position in patient space is the point mapped through the image's geometry, so reading
  it back needs that image's header.

Coordinates are (column, row) in DICOM's sub-pixel convention, the annotations' own; the SR
stores them as 32-bit floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from npc_desktop.core.annotation.measurements import CricoidLevel, LineSegment, Measurement, NodeAxes, Ruler
from npc_desktop.core.annotation.rois import new_roi_id
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.interop.image_plane import image_plane
from npc_desktop.core.interop.sr_common import SrError, first_frame, id_from_tracking, tracking_uid
from npc_desktop.core.interop.sr_common import children as _children
from npc_desktop.core.interop.sr_common import concept as _concept
from npc_desktop.core.interop.sr_common import imaging_measurement_groups as _groups

if TYPE_CHECKING:
    import highdicom as hd

__all__ = [
    "BIDIRECTIONAL_TRACKING_IDENTIFIER",
    "CRICOID_FINDING",
    "LENGTH_TRACKING_IDENTIFIER",
    "SrMeasurements",
    "measurement_groups",
    "read_sr_measurements",
]

LENGTH_TRACKING_IDENTIFIER = "Cornerstone3DTools@^0.1.0:Length"
"""Tracking Identifier of a ruler's group: the Cornerstone3D tag and tool name OHIF matches."""

BIDIRECTIONAL_TRACKING_IDENTIFIER = "Cornerstone3DTools@^0.1.0:Bidirectional"
"""Tracking Identifier of a node-axes group (Cornerstone3D's long/short axis tool)."""

CRICOID_FINDING = Code("CRICOID-CAUDAL", "99NPCD", "Caudal border of cricoid cartilage")
"""Finding type of the cricoid level (private coding scheme, see the module notes)."""

_TRACKING_ID = ("112039", "DCM")
_TRACKING_UID = ("112040", "DCM")
_FINDING = ("121071", "DCM")
_LENGTH = (codes.SCT.Length.value, "SCT")
_LONG = (codes.SCT.LongAxis.value, "SCT")
_SHORT = (codes.SCT.ShortAxis.value, "SCT")
# dcmjs' Cornerstone3D Bidirectional adapter finds the axes by the exact code meanings "Long Axis"
# and "Short Axis" (the DICOM PS3.16 spelling); pydicom's concept dictionary capitalises them
# "Long axis", so the codes are written with the meanings OHIF looks for.
LONG_AXIS = Code(codes.SCT.LongAxis.value, "SCT", "Long Axis")
SHORT_AXIS = Code(codes.SCT.ShortAxis.value, "SCT", "Short Axis")


@dataclass(frozen=True)
class SrMeasurements:
    """The measurements read back from an SR (ids kept; times are those of the import)."""

    rulers: tuple[Ruler, ...] = ()
    node_axes: tuple[NodeAxes, ...] = ()
    cricoid_level: Optional[CricoidLevel] = None


# --------------------------------------------------------------------------------------------------
# Writing


def _source(header: Dataset, frame: Optional[int]) -> "hd.sr.SourceImageForRegion":
    import highdicom as hd

    return hd.sr.SourceImageForRegion(
        referenced_sop_class_uid=header.SOPClassUID,
        referenced_sop_instance_uid=header.SOPInstanceUID,
        referenced_frame_numbers=[frame] if frame is not None else None,
    )


def _length(name: Code, line: LineSegment, mm: float, header: Dataset, frame: Optional[int],
            tracking: Optional["hd.sr.TrackingIdentifier"] = None) -> "hd.sr.Measurement":
    import highdicom as hd

    points = np.array([[line.start[1], line.start[0]], [line.end[1], line.end[0]]], dtype=np.float64)
    return hd.sr.Measurement(
        name=name, value=round(mm, 6), unit=codes.UCUM.Millimeter, tracking_identifier=tracking,
        referenced_coordinates=[hd.sr.CoordinatesForMeasurement(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=points, source_image=_source(header, frame)
        )],
    )


def _header(headers: Mapping[str, Dataset], item: Any, what: str) -> Dataset:
    header = headers.get(item.sop_instance_uid)
    if header is None:
        raise SrError(f"{what} {item.id}: no header was given for its image {item.sop_instance_uid}")
    if (str(header.StudyInstanceUID), str(header.SeriesInstanceUID)) != (item.study_instance_uid,
                                                                         item.series_instance_uid):
        raise SrError(f"{what} {item.id}: its image belongs to another study or series than the {what}'s")
    return header


def measurement_groups(
    measurements: Iterable[Measurement], cricoid_level: Optional[CricoidLevel], headers: Mapping[str, Dataset]
) -> list[Any]:
    """TID 1500 measurement groups for rulers, node axes and the cricoid level.

    Parameters
    ----------
    measurements
        Rulers and node axes.
    cricoid_level
        The study's cricoid level, or None.
    headers
        SOP Instance UID -> header (without pixel data) of every image they are drawn on.

    Raises
    ------
    SrError
        If an image's header is missing or lacks its geometry.
    """
    import highdicom as hd

    groups: list[Any] = []
    for item in measurements:
        if isinstance(item, Ruler):
            header = _header(headers, item, "ruler")
            spacing = image_plane(header, item.frame_number).pixel_spacing
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(item.id),
                                                             identifier=LENGTH_TRACKING_IDENTIFIER),
                measurements=[_length(codes.SCT.Length, item.segment, item.length_mm(spacing), header,
                                      item.frame_number)],
            ))
        elif isinstance(item, NodeAxes):
            header = _header(headers, item, "node axes")
            # the long axis carries the node ROI's tracking identity (the ROI group's identifier and
            # UID); the group has its own UID so OHIF does not merge it with the ROI (module notes)
            node = hd.sr.TrackingIdentifier(uid=tracking_uid(item.roi_id), identifier=item.roi_id)
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(item.id),
                                                             identifier=BIDIRECTIONAL_TRACKING_IDENTIFIER),
                finding_type=codes.SCT.LymphNode,
                measurements=[
                    _length(LONG_AXIS, item.long_axis, item.long_mm, header, item.frame_number, node),
                    _length(SHORT_AXIS, item.short_axis, item.short_mm, header, item.frame_number),
                ],
            ))
        else:
            raise TypeError(f"not a measurement: {item!r}")
    if cricoid_level is not None:
        header = _header(headers, cricoid_level, "cricoid level")
        row, col = image_plane(header, cricoid_level.frame_number).to_pixel(cricoid_level.position)
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uid(cricoid_level.id),
                                                         identifier=cricoid_level.id),
            referenced_region=hd.sr.ImageRegion(
                graphic_type=hd.sr.GraphicTypeValues.POINT, graphic_data=np.array([[col, row]], dtype=np.float64),
                source_image=_source(header, cricoid_level.frame_number),
            ),
            finding_type=CRICOID_FINDING,
        ))
    return groups


# --------------------------------------------------------------------------------------------------
# Reading


def _tracking(items: Sequence[Dataset]) -> tuple[Optional[str], Optional[str]]:
    text = next((str(i.TextValue) for i in items if _concept(i) == _TRACKING_ID and i.ValueType == "TEXT"), None)
    uid = next((str(i.UID) for i in items if _concept(i) == _TRACKING_UID and i.ValueType == "UIDREF"), None)
    return text, uid


def _scoord(item: Dataset, where: str) -> tuple[np.ndarray, str, Optional[int]]:
    scoord = next((c for c in _children(item) if c.ValueType == "SCOORD"), item if item.ValueType == "SCOORD" else None)
    if scoord is None:
        raise SrError(f"{where} has no SCOORD graphic")
    image = next((c for c in _children(scoord) if c.ValueType == "IMAGE"), None)
    if image is None:
        raise SrError(f"{where} does not say which image its graphic is on")
    ref = image.ReferencedSOPSequence[0]
    points = np.asarray(scoord.GraphicData, dtype=float).reshape(-1, 2)
    return points, str(ref.ReferencedSOPInstanceUID), first_frame(ref.get("ReferencedFrameNumber"))


def _line(points: np.ndarray, where: str) -> LineSegment:
    if points.shape != (2, 2):
        raise SrError(f"{where} is not a two-point line")
    return LineSegment((float(points[0, 1]), float(points[0, 0])), (float(points[1, 1]), float(points[1, 0])))


def read_sr_measurements(
    dataset: Dataset, series_of: Mapping[str, str], headers: Mapping[str, Dataset], *, name: str = "the SR"
) -> SrMeasurements:
    """Read rulers, node axes and the cricoid level from a TID 1500 dataset.

    Prefer :func:`npc_desktop.core.interop.sr.read_sr`, which opens the file and reads the
    ROIs too.

    Parameters
    ----------
    dataset
        The SR.
    series_of
        SOP Instance UID -> Series Instance UID, from the SR's evidence.
    headers
        SOP Instance UID -> header of the images the measurements are on (their pixel spacing
        gives the node axes' spacing; their geometry places the cricoid level in patient space).
    name
        How errors name the SR.

    Raises
    ------
    SrError
        If a measurement is malformed, its image is not in the evidence or has no header.
    """
    study = str(dataset.StudyInstanceUID)
    rulers: list[Ruler] = []
    axes: list[NodeAxes] = []
    cricoid: Optional[CricoidLevel] = None
    groups = _groups(dataset)
    # group-level Tracking UIDs of everything but node axes: an axes group sharing one is in the old layout
    other_uids = {uid for text, uid in map(_tracking, map(_children, groups))
                  if uid and text != BIDIRECTIONAL_TRACKING_IDENTIFIER}
    for number, group in enumerate(groups, start=1):
        items = _children(group)
        text, uid = _tracking(items)
        finding = next((_concept(i, "ConceptCodeSequence") for i in items if _concept(i) == _FINDING), None)
        where = f"{name}, measurement group {number}"
        numbers = {_concept(i): i for i in items if i.ValueType == "NUM"}
        try:
            if text == LENGTH_TRACKING_IDENTIFIER and _LENGTH in numbers:
                points, sop, frame = _scoord(numbers[_LENGTH], where)
                line = _line(points, where)
                rulers.append(Ruler(id=id_from_tracking(None, uid) or new_roi_id(), study_instance_uid=study,
                                    series_instance_uid=_series(series_of, sop, where), sop_instance_uid=sop,
                                    frame_number=frame, start=line.start, end=line.end))
            elif text == BIDIRECTIONAL_TRACKING_IDENTIFIER and _LONG in numbers and _SHORT in numbers:
                long_points, sop, frame = _scoord(numbers[_LONG], where)
                short_points, _, _ = _scoord(numbers[_SHORT], where)
                axes_id, roi_id = _axes_ids(uid, _tracking(_children(numbers[_LONG])), other_uids)
                if roi_id is None:
                    raise SrError(f"{where}: the node axes do not name their ROI's tracking UID")
                axes.append(NodeAxes(
                    id=axes_id, roi_id=roi_id, study_instance_uid=study,
                    series_instance_uid=_series(series_of, sop, where), sop_instance_uid=sop, frame_number=frame,
                    long_axis=_line(long_points, where), short_axis=_line(short_points, where),
                    pixel_spacing=image_plane(_header_of(headers, sop, where), frame).pixel_spacing,
                ))
            elif finding == (CRICOID_FINDING.value, CRICOID_FINDING.scheme_designator):
                region = next((i for i in items if i.ValueType == "SCOORD"), None)
                if region is None or region.GraphicType != "POINT":
                    raise SrError(f"{where}: the cricoid level is not an SCOORD POINT")
                points, sop, frame = _scoord(region, where)
                plane = image_plane(_header_of(headers, sop, where), frame)
                position = plane.to_patient(float(points[0, 1]), float(points[0, 0]))
                cricoid = CricoidLevel(
                    id=id_from_tracking(text, uid) or new_roi_id(), study_instance_uid=study,
                    series_instance_uid=_series(series_of, sop, where), sop_instance_uid=sop, frame_number=frame,
                    position=tuple(float(v) for v in position),
                )
        except AnnotationError as exc:
            raise SrError(f"{where}: {exc}") from exc
    return SrMeasurements(tuple(rulers), tuple(axes), cricoid)


def _axes_ids(group_uid: Optional[str], long_tracking: tuple[Optional[str], Optional[str]],
              other_uids: set[str]) -> tuple[str, Optional[str]]:
    """``(axes id, ROI id)`` of a node-axes group from its Tracking UID and its long axis's tracking.

    The current layout: the group's UID is the axes' own, the long axis names the ROI. The
    layout written before: the group shared its UID with the ROI's group (``other_uids`` holds
    the UIDs of the groups that are not node axes) and the long axis carried the axes' own id.
    """
    nested = id_from_tracking(*long_tracking)
    if group_uid is not None and group_uid in other_uids:
        return nested or new_roi_id(), id_from_tracking(None, group_uid)
    return id_from_tracking(None, group_uid) or new_roi_id(), nested


def _series(series_of: Mapping[str, str], sop: str, where: str) -> str:
    if sop not in series_of:
        raise SrError(f"{where}: image {sop} is referenced but not listed in the evidence")
    return series_of[sop]


def _header_of(headers: Mapping[str, Dataset], sop: str, where: str) -> Dataset:
    header = headers.get(sop)
    if header is None:
        raise SrError(f"{where}: the header of image {sop} is needed to read this measurement; "
                      "give the source headers of the study")
    return header
