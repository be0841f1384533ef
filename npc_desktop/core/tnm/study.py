"""TNM of one study: its saved form joined with the evidence its annotations hold.

The workstation, the report, the SR and ``npc-desktop tnm STUDY`` all stage a study through
:func:`assess_study`, so they give the same categories, stage and reasons.
"""

from __future__ import annotations

from typing import Mapping, Optional

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.cricoid import roi_extends_below_cricoid
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.annotation.validation import AnnotationError
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


def study_node_evidence(annotations: AnnotationSet, form: TnmForm,
                        volumes: Mapping[str, Volume]) -> list[NodeEvidence]:
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
        Loaded series by SeriesInstanceUID. A node whose series is not among them, or a study
        without a cricoid level, gets ``below_cricoid=None``: the N category then says what is
        unknown instead of assuming it.
    """
    cricoid = annotations.cricoid_level
    evidence = []
    for index, roi in enumerate(node_rois(annotations)):
        axes = annotations.axes_for_roi(roi.id)
        below: Optional[bool] = None
        volume = volumes.get(roi.series_instance_uid)
        if cricoid is not None and volume is not None:
            try:
                below = roi_extends_below_cricoid(roi, volume, cricoid)
            except AnnotationError:
                below = None  # another frame of reference or study: unknown, and N says so
        evidence.append(form.node_evidence(roi.id, label=node_label(index),
                                           long_axis_mm=axes.long_mm if axes is not None else None,
                                           below_cricoid=below))
    return evidence


def assess_study(annotations: AnnotationSet, volumes: Mapping[str, Volume]) -> TnmAssessment:
    """Stage a study from its saved form and its annotations (see :func:`study_node_evidence`).

    Raises
    ------
    TnmError
        If the saved form is not valid; the message names the field.
    """
    form = study_form(annotations)
    return assess(form, study_node_evidence(annotations, form, volumes))
