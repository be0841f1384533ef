"""Build the report's TNM section (:class:`~.tnm_content.TnmSection`) and the measurement overlays
of its key slices from a study's annotations.

The categories, the stage and the reasons come from
:func:`~npc_desktop.core.tnm.study.assess_study`, the comparison with the ensemble from
:func:`~npc_desktop.core.tnm.discordance.compare_with_ensemble`: the report says what the TNM
dock and ``npc-desktop tnm STUDY`` say.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.colours import roi_colour_rgb
from npc_desktop.core.annotation.cricoid import slice_index_of
from npc_desktop.core.annotation.measurements import NodeAxes, Ruler
from npc_desktop.core.annotation.patches import pixel_spacing
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.dicom.volume import Volume
from npc_desktop.core.reports.content import ReportContentError
from npc_desktop.core.reports.figures import RULER_RGB, LineOverlay
from npc_desktop.core.reports.tnm_content import CategoryOverride, MeasurementRow, TnmCategory, TnmSection
from npc_desktop.core.tnm.derivation import CategoryCall
from npc_desktop.core.tnm.discordance import compare_with_ensemble
from npc_desktop.core.tnm.errors import TnmError
from npc_desktop.core.tnm.study import assess_study, node_label, node_rois

__all__ = ["measurement_overlays", "measurement_rows", "series_label", "tnm_section"]


def series_label(volume: Optional[Volume]) -> str:
    """The series' name as the report shows it (also the key the de-identified variant replaces)."""
    if volume is None:
        return "series"
    return volume.meta.series_description or f"Se {volume.meta.series_number or '?'}"


def _category(call: CategoryCall) -> TnmCategory:
    override = None
    if call.override is not None:
        override = CategoryOverride(call.override.category, call.derived, call.override.note)
    return TnmCategory(call.axis.value, call.value, call.reasons + tuple(f"caveat: {c}" for c in call.caveats),
                       override)


def tnm_section(annotations: AnnotationSet, volumes: Mapping[str, Volume], *, ensemble_class: str,
                class_names: Sequence[str], study: Any = None) -> Optional[TnmSection]:
    """The TNM section of a study's report; None when the study has no saved TNM form.

    Parameters
    ----------
    annotations
        The study's annotations (saved form, node ROIs and axes, cricoid level, rulers).
    volumes
        Loaded series by SeriesInstanceUID: node series decide the cricoid rule, ruler series
        give the rulers' pixel spacing.
    ensemble_class, class_names
        The ensemble's patient-level class and the bundle's classes.
    study
        The study's StudyInfo (or StudyIndex): frames of reference and image planes of node
        series that are not loaded, as the TNM dock uses them.

    Raises
    ------
    ReportContentError
        When the saved form is not valid (naming its field).
    """
    if annotations.tnm_form is None:
        return None
    try:
        assessment = assess_study(annotations, volumes, study)
    except TnmError as exc:
        raise ReportContentError(f"saved TNM form: {exc}") from None
    calls = (assessment.t, assessment.n, assessment.m)
    explained = sum(len(call.explanation()) for call in calls)
    comparison = compare_with_ensemble(assessment.stage, ensemble_class, class_names=tuple(class_names))
    return TnmSection(
        edition=assessment.table.title,
        categories=tuple(_category(call) for call in calls),
        stage=assessment.stage,
        stage_reasons=assessment.reasons[explained:],
        measurements=measurement_rows(annotations, volumes),
        comparison=comparison.text,
        discordant=comparison.discordant,
    )


def _where(volume: Optional[Volume], sop_instance_uid: str, frame: Optional[int]) -> str:
    if volume is None:
        return "series not loaded"
    try:
        index = slice_index_of(volume, sop_instance_uid, frame)
    except AnnotationError:
        return "image not in the series"
    return f"slice {index + 1}/{volume.voxels.shape[0]}"


def measurement_rows(annotations: AnnotationSet, volumes: Mapping[str, Volume]) -> tuple[MeasurementRow, ...]:
    """The rulers (length), node axes (long × short) and cricoid level (its S coordinate) in mm."""
    rows = []
    labels = {roi.id: node_label(k) for k, roi in enumerate(node_rois(annotations))}
    ruler_number = 0
    for item in annotations.measurements:
        volume = volumes.get(item.series_instance_uid)
        where = _where(volume, item.sop_instance_uid, item.frame_number)
        if isinstance(item, Ruler):
            ruler_number += 1
            value = f"{item.length_mm(pixel_spacing(volume)):.1f} mm" if volume is not None else "not loaded"
            rows.append(MeasurementRow(f"Ruler {ruler_number}", series_label(volume), where, value))
        elif isinstance(item, NodeAxes):
            what = f"{labels.get(item.roi_id, 'node')}: long × short axis"
            rows.append(MeasurementRow(what, series_label(volume), where,
                                       f"{item.long_mm:.1f} × {item.short_mm:.1f} mm"))
    cricoid = annotations.cricoid_level
    if cricoid is not None:
        volume = volumes.get(cricoid.series_instance_uid)
        rows.append(MeasurementRow("Cricoid level (caudal border)", series_label(volume),
                                   _where(volume, cricoid.sop_instance_uid, cricoid.frame_number),
                                   f"S {cricoid.superior_mm:+.1f} mm (patient axis)"))
    return tuple(rows)


def measurement_overlays(annotations: AnnotationSet, volume: Volume, sop_instance_uid: str,
                         frame_number: Optional[int]) -> list[LineOverlay]:
    """The rulers and node axes drawn on one image, labelled with their lengths in mm.

    Rulers take the ruler colour, node axes their node's (the lymph-node ROI colour).
    """
    overlays = []
    for item in annotations.measurements_on(sop_instance_uid, frame_number):
        if isinstance(item, Ruler):
            length = item.length_mm(pixel_spacing(volume))
            overlays.append(LineOverlay(item.start, item.end, RULER_RGB, f"{length:.1f} mm"))
        elif isinstance(item, NodeAxes):
            colour = roi_colour_rgb(RoiKind.LYMPH_NODE)
            overlays.append(LineOverlay(item.long_axis.start, item.long_axis.end, colour, f"{item.long_mm:.1f} mm"))
            overlays.append(LineOverlay(item.short_axis.start, item.short_axis.end, colour,
                                        f"{item.short_mm:.1f} mm"))
    return overlays
