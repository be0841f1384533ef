"""Build a :class:`~.content.ReportContent` from a staging result, the annotations and the series.

The same function serves the GUI's "Export report" and ``npc-desktop report``, so the two cannot
disagree about what a report shows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Mapping, Optional

import numpy as np

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel, Stage
from npc_desktop.core.dicom.geometry import edge_labels
from npc_desktop.core.dicom.volume import Volume
from npc_desktop.core.models.calibration import describe_calibration
from npc_desktop.core.models.results import PatchStaging, StagingResult
from npc_desktop.core.reports.content import (
    Institution,
    KeyImage,
    ModelDetails,
    PatchRow,
    PatientDetails,
    ReportContent,
    ReportContentError,
    SeriesUsed,
    SignOff,
)
from npc_desktop.core.reports.figures import BoxOverlay, HeatmapOverlay, render_key_image
from npc_desktop.core.reports.tnm_assemble import measurement_overlays, series_label, tnm_section

KIND_WORDS = {"tumour": "tumour", "lymph_node": "node"}


def display_names(result: StagingResult, manifest: Optional[Any] = None) -> dict[str, str]:
    """Member name -> the architecture's display name ("vgg16" -> "VGG16"), else the name itself."""
    from npc_desktop.core.models.specs import ARCHITECTURES

    architecture_of = {m.name: m.architecture for m in manifest.members} if manifest is not None else {}
    names = {}
    for member in result.member_names:
        architecture = architecture_of.get(member, member)
        spec = ARCHITECTURES.get(architecture)
        if spec is None:
            names[member] = member
        elif architecture == member:
            names[member] = spec.display_name
        else:
            names[member] = f"{member} ({spec.display_name})"
    return names


def flatten_metrics(metrics: Mapping[str, Any], *, limit: int = 8) -> dict[str, float]:
    """Numeric validation figures from a bundle's provenance, nested keys joined with a space."""
    flat: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if len(flat) >= limit:
            return
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)) and np.isfinite(value):
            flat[prefix] = float(value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix} {key}".strip(), item)

    walk("", metrics)
    return flat


def display_window(volume: Volume) -> tuple[float, float]:
    """The header window, or the automatic one when the series has none (it is optional in MR)."""
    window = volume.window
    if window is None or not window[1] > 0:
        return volume.auto_window()
    return window


def _patient_details(volume: Volume, study: Optional[Any]) -> PatientDetails:
    meta = volume.meta
    return PatientDetails(
        name=meta.patient_name,
        patient_id=meta.patient_id,
        birth_date=meta.patient_birth_date,
        sex=meta.patient_sex,
        study_date=meta.study_date,
        study_description=meta.study_description,
        accession_number=getattr(study, "accession_number", "") or "",
        study_instance_uid=meta.study_instance_uid,
        study_time=getattr(study, "time", "") or "",
    )


def _key_images(
    result: StagingResult,
    annotations: AnnotationSet,
    volumes: Mapping[str, Volume],
    count: int,
    measured: AnnotationSet,
) -> tuple[KeyImage, ...]:
    """The ``count`` slices whose patches speak most for the patient class, with ROIs, the mean CAM,
    and the rulers and node axes of ``measured`` drawn on them with their lengths."""
    assert result.patient is not None
    winner = result.patient.predicted_index
    groups: dict[tuple[str, int], list[PatchStaging]] = defaultdict(list)
    for patch in result.patches:
        if patch.series_instance_uid in volumes and patch.slice_index >= 0:
            groups[(patch.series_instance_uid, patch.slice_index)].append(patch)
    ranked = sorted(groups.items(), key=lambda item: -max(p.probabilities[winner] for p in item[1]))
    images = []
    for (series_uid, slice_index), patches in ranked[:count]:
        volume = volumes[series_uid]
        pixels = volume.voxels[slice_index]
        ref = volume.slices[slice_index]
        boxes = [BoxOverlay(roi.box, roi.kind.value) for roi in annotations.for_instance(ref.sop_instance_uid,
                                                                                          ref.frame_number)]
        heatmaps = [HeatmapOverlay(p.cam_mean, p.box) for p in patches if p.cam_mean is not None]
        lines = measurement_overlays(measured, volume, ref.sop_instance_uid, ref.frame_number)
        rows = [p.box[0] for p in patches] + [p.box[2] for p in patches]
        cols = [p.box[1] for p in patches] + [p.box[3] for p in patches]
        for line in lines:  # the whole of every ruler on the slice stays in the picture
            rows += [int(line.start[0]), int(line.end[0]) + 1]
            cols += [int(line.start[1]), int(line.end[1]) + 1]
        r0, r1, c0, c1 = min(rows), max(rows), min(cols), max(cols)
        # Enough surrounding anatomy to place the lesion, without shrinking it to a dot.
        pad = max(32, int(0.75 * max(r1 - r0, c1 - c0)))
        crop = (r0 - pad, c0 - pad, r1 + pad, c1 + pad)
        rgb = render_key_image(pixels, window=display_window(volume), boxes=boxes, heatmaps=heatmaps, lines=lines,
                               crop_to=crop,
                               orientation=edge_labels(volume.direction))
        best = max(p.probabilities[winner] for p in patches)
        kinds = ", ".join(sorted({KIND_WORDS.get(p.kind, p.kind) for p in patches}))
        detail = (
            f"slice {slice_index + 1}/{volume.voxels.shape[0]}: {kinds}; "
            f"P({result.class_names[winner]}) = {best:.2f}; heatmap explains {patches[0].cam_class}"
        )
        images.append(KeyImage(rgb, series_label(volume), detail))
    return tuple(images)


def report_content(
    result: StagingResult,
    annotations: AnnotationSet,
    volumes: Mapping[str, Volume],
    *,
    manifest: Optional[Any] = None,
    study: Optional[Any] = None,
    institution: Optional[Institution] = None,
    key_image_count: int = 4,
    created: Optional[datetime] = None,
    label: Optional[PatientLabel] = None,
    current: Optional[AnnotationSet] = None,
) -> ReportContent:
    """The report for one staging run.

    Parameters
    ----------
    result
        The ensemble's output (:class:`~npc_desktop.core.models.results.StagingResult`).
    annotations
        The study's ROIs and patient label (reviewer, note and the clinician's stage).
    volumes
        The loaded series by SeriesInstanceUID; the patient details come from the first one used.
    manifest
        The bundle manifest, for member display names and validation metrics.
    study
        The study's :class:`~npc_desktop.core.dicom.index.StudyInfo` for accession number and time.
    institution
        Header; NPC Desktop's when None.
    key_image_count
        Slices to show with their ROIs and Grad-CAM.
    created
        Report time; now when None.
    label
        The patient label to sign off with; ``annotations.label`` when None. Pass the current one
        when the report is written after staging, so a note typed since then is not lost.
    current
        The study's annotations as they are now, for the TNM section (see
        :func:`~.tnm_assemble.tnm_section`) and the rulers and node axes of the key slices: the
        TNM form is usually filled in after staging. ``annotations`` when None. Series in
        ``volumes`` that were not staged still serve these (rulers' spacing, the cricoid rule).

    Raises
    ------
    ReportContentError
        When the result has no patches or none of its series is in ``volumes``, or the saved
        TNM form is not valid.
    """
    if result.patient is None or not result.patches:
        raise ReportContentError("staging result: no staged patches to report")
    used = [uid for uid in dict.fromkeys(p.series_instance_uid for p in result.patches) if uid in volumes]
    if not used:
        raise ReportContentError("staging result: none of its series is loaded")
    names = display_names(result, manifest)
    rows = []
    for patch in result.patches:
        volume = volumes.get(patch.series_instance_uid)
        rows.append(PatchRow(
            series_label(volume),
            f"s{patch.slice_index + 1} {KIND_WORDS.get(patch.kind, patch.kind)}",
            {names[m]: tuple(map(float, p)) for m, p in zip(result.member_names, patch.member_probabilities)},
            tuple(map(float, patch.probabilities)),
        ))
    counts = defaultdict(int)
    for patch in result.patches:
        counts[patch.series_instance_uid] += 1
    series = tuple(
        SeriesUsed(volumes[uid].meta.series_description, volumes[uid].meta.modality, volumes[uid].meta.series_number,
                   int(volumes[uid].voxels.shape[0]), counts[uid])
        for uid in used
    )
    label = label if label is not None else annotations.label
    clinician_stage = "" if label.stage is Stage.UNKNOWN else label.stage.value
    metrics = flatten_metrics(manifest.provenance.get("metrics", {})) if manifest is not None else {}
    model = ModelDetails(
        name=result.bundle_name,
        version=result.bundle_version,
        sha256=result.bundle_hash,
        members=tuple(names[m] for m in result.member_names),
        validation_metrics=metrics,
        untrained_demo=result.untrained_demo,
        calibration=tuple(describe_calibration(manifest)) if manifest is not None else (),
        device=result.device,
    )
    aggregation = {"mean": "mean of the patch probabilities", "median": "median of the patch probabilities",
                   "vote": "majority of the patch classes"}.get(result.patient.aggregation, result.patient.aggregation)
    optional: dict[str, Any] = {"created": created} if created is not None else {}
    measured = current if current is not None else annotations
    tnm = tnm_section(measured, volumes, ensemble_class=result.class_names[result.patient.predicted_index],
                      class_names=result.class_names, study=study)
    return ReportContent(
        institution=institution or Institution(),
        patient=_patient_details(volumes[used[0]], study),
        series=series,
        class_names=tuple(result.class_names),
        patches=tuple(rows),
        patient_probabilities=tuple(map(float, result.patient.probabilities)),
        patient_member_probabilities={
            names[m]: tuple(map(float, p)) for m, p in zip(result.member_names, result.patient.member_probabilities)
        },
        model=model,
        sign_off=SignOff(reviewer=label.reviewer or "", note=label.note or "", clinician_stage=clinician_stage),
        key_images=_key_images(result, annotations, volumes, key_image_count, measured),
        tnm=tnm,
        aggregation=aggregation,
        non_voting=tuple(names[m] for m, w in zip(result.member_names, result.vote_weights) if w <= 0),
        **optional,
    )


def source_images(result: StagingResult, volumes: Mapping[str, Volume], index: Optional[Any] = None) -> list:
    """The staged slices as :class:`~.dicom_pdf.SourceImage` (SOP class from the study index, else MR)."""
    from npc_desktop.core.reports.dicom_pdf import SourceImage

    mr_image_storage = "1.2.840.10008.5.1.4.1.1.4"
    classes: dict[str, str] = {}
    if index is not None:
        for patient in index.patients:
            for study in patient.studies:
                for series in study.series:
                    for instance in series.instances:
                        classes[instance.sop_instance_uid] = instance.sop_class_uid
    seen = dict.fromkeys(p.sop_instance_uid for p in result.patches if p.sop_instance_uid)
    return [SourceImage(classes.get(uid, mr_image_storage), uid) for uid in seen]


def stage_label_text(result: StagingResult, *, selected_only: bool = False) -> str:
    """One line for status bars and logs: the result's headline, e.g.
    "Stage IVa (p = 0.57) - split: 1 of 5 members agree", after the untrained mark when it applies;
    with ``selected_only`` (a run on the selected ROIs) it says so, as the panel's headline does."""
    if result.patient is None:
        return "no patches staged"
    text = result.headline(selected_only=selected_only)
    return f"{result.label}: {text}" if result.untrained_demo else text

