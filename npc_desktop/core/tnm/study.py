"""TNM of one study: its saved form joined with the evidence its annotations hold.

The workstation, the report, the SR and ``npc-desktop tnm STUDY`` all stage a study through
:func:`assess_study`, so they give the same categories, stage and reasons.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Optional, Union

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.cricoid import roi_extends_below_cricoid, roi_in_frame_extends_below_cricoid
from npc_desktop.core.annotation.measurements import CricoidLevel
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.dicom.headers import FrameHeader
from npc_desktop.core.dicom.index import SeriesInfo, StudyIndex, StudyInfo
from npc_desktop.core.dicom.volume import Volume
from npc_desktop.core.tnm.assessment import TnmAssessment, assess
from npc_desktop.core.tnm.form import TnmForm
from npc_desktop.core.tnm.nodes import NodeEvidence


def node_rois(annotations: AnnotationSet) -> list[RectRoi]:
    """The study's lymph-node ROIs in the order reasons number them ("node 1", "node 2", ...)."""
    return [roi for roi in annotations.rois if roi.kind is RoiKind.LYMPH_NODE]


def node_label(index: int) -> str:
    """How reasons and panels name the ``index``-th node ROI (counted from 0)."""
    return f"node {index + 1}"


def study_form(annotations: AnnotationSet) -> TnmForm:
    """The study's saved TNM form (an empty 8th-edition form when none is saved).

    Raises
    ------
    TnmError
        If the saved form is not valid; the message names the field.
    """
    saved = annotations.tnm_form
    return TnmForm() if saved is None else TnmForm.from_dict(saved, where="tnm_form")


Headers = Union[StudyIndex, StudyInfo]
"""The index of a study (or its StudyInfo): series headers with their image planes and frames of reference."""


def _series(index: Optional[Headers]) -> list[SeriesInfo]:
    if index is None:
        return []
    return index.all_series() if isinstance(index, StudyIndex) else list(index.series)


def _frame_of_reference(series_uid: str, volumes: Mapping[str, Volume], index: Optional[Headers]) -> Optional[str]:
    volume = volumes.get(series_uid)
    if volume is not None:
        return volume.meta.frame_of_reference_uid
    for series in _series(index):
        if series.series_instance_uid == series_uid:
            return series.frame_of_reference_uid
    return None


def _frame_header(roi: RectRoi, index: Optional[Headers]) -> Optional[FrameHeader]:
    for series in _series(index):
        if series.series_instance_uid != roi.series_instance_uid:
            continue
        for frame in series.frames:
            number = None if frame.frame_index is None else frame.frame_index + 1
            if frame.sop_instance_uid == roi.sop_instance_uid and number == roi.frame_number:
                return frame
    return None


def _below_cricoid(roi: RectRoi, cricoid: Optional[CricoidLevel], volumes: Mapping[str, Volume],
                   index: Optional[Headers]) -> tuple[Optional[bool], Optional[str]]:
    """Whether ``roi`` extends below the level, and why that is unknown when it is (None: no level)."""
    if cricoid is None:
        return None, None
    cricoid_for = _frame_of_reference(cricoid.series_instance_uid, volumes, index)
    try:
        volume = volumes.get(roi.series_instance_uid)
        if volume is not None:
            return roi_extends_below_cricoid(roi, volume, cricoid, cricoid_frame_of_reference=cricoid_for), None
        frame = _frame_header(roi, index)
        if frame is None:
            return None, "its image is not in the study as opened"
        return roi_in_frame_extends_below_cricoid(
            roi, frame, cricoid, frame_of_reference=_frame_of_reference(roi.series_instance_uid, volumes, index),
            cricoid_frame_of_reference=cricoid_for), None
    except AnnotationError as exc:
        return None, exc.problem


def study_node_evidence(annotations: AnnotationSet, form: TnmForm, volumes: Mapping[str, Volume],
                        index: Optional[Headers] = None) -> list[NodeEvidence]:
    """One piece of evidence per lymph-node ROI.

    Side and retropharyngeal flag come from the form, the long axis from the node's axes, and
    whether it extends below the cricoid from the study's cricoid level and the ROI's series.

    Parameters
    ----------
    annotations
        The study's annotations (ROIs, node axes, cricoid level).
    form
        The study's TNM form (node flags).
    volumes
        Loaded series by SeriesInstanceUID: their geometry places the node's box.
    index
        The study's index (or its StudyInfo): for a node whose series is not loaded, the image plane in its header
        places the box, and the series' frames of reference are read from it. Without a cricoid
        level, or when the node's image is in neither, ``below_cricoid`` is None; a node and a
        level in different frames of reference are not compared (None, with a note saying so),
        so the N category says what is unknown instead of assuming it.
    """
    cricoid = annotations.cricoid_level
    evidence = []
    for number, roi in enumerate(node_rois(annotations)):
        axes = annotations.axes_for_roi(roi.id)
        below, note = _below_cricoid(roi, cricoid, volumes, index)
        node = form.node_evidence(roi.id, label=node_label(number),
                                  long_axis_mm=axes.long_mm if axes is not None else None, below_cricoid=below)
        evidence.append(replace(node, cricoid_note=note) if note else node)
    return evidence


def assess_study(annotations: AnnotationSet, volumes: Mapping[str, Volume],
                 index: Optional[Headers] = None) -> TnmAssessment:
    """Stage a study from its saved form and its annotations (see :func:`study_node_evidence`).

    Raises
    ------
    TnmError
        If the saved form is not valid; the message names the field.
    """
    form = study_form(annotations)
    return assess(form, study_node_evidence(annotations, form, volumes, index))
