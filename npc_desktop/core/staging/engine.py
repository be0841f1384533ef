"""The Qt-free staging engine: bundle in, patches in, plain results out.

Usage::

    engine = StagingEngine.load("models/my-bundle")     # or StagingEngine.demo()
    result = engine.stage_annotations(annotations, {series_uid: volume}, progress=cb, cancel=event)
    result.patient.predicted, result.patches[0].cams["vgg16"], result.label

:meth:`StagingEngine.stage` takes :class:`StagingItem` objects (an 8-bit patch and its box on the
slice); :meth:`StagingEngine.stage_annotations` crops them from an :class:`AnnotationSet`'s ROIs on
loaded volumes with the bundle's patch settings. Patches go through ONNX Runtime (the default,
:mod:`npc_desktop.core.models.onnx_ensemble`) or the TensorFlow fused graph
(:mod:`npc_desktop.core.models.fused`), see :mod:`.runtimes`, in batches of ``batch_size``; ``progress(done, total)``
counts patch x member units and is reported after each batch, and the cancel token is checked
before each batch. Every TensorFlow call happens on the calling thread (the GUI's inference
worker keeps one engine on its own thread). TensorFlow is imported only when a ``"tf"`` engine is
made, never on the ONNX path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.patches import ContextMargin, PatchError
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.dicom.volume import Volume
from npc_desktop.core.models.bundle import ModelBundle
from npc_desktop.core.models.calibration import patient_decision
from npc_desktop.core.models.cam import BilinearUpsampler, MinMaxNormaliser, Postprocessing, Upsampler
from npc_desktop.core.models.inputs import batch_inputs
from npc_desktop.core.models.manifest import PATIENT_AGGREGATIONS
from npc_desktop.core.models.patch_preprocessing import PatchPreprocessing, PreparedPatch, prepare_patches
from npc_desktop.core.models.results import PatchStaging, PatientStaging, StagingResult
from npc_desktop.core.models.voting import (
    aggregate_patient,
    agreement,
    calibrated_vote,
    member_votes,
    normalised_weights,
    soft_vote,
    vote_class,
)
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.staging.runtimes import DEFAULT_RUNTIME, demo_bundle_for, load_bundle_for, make_ensemble

log = logging.getLogger(__name__)

__all__ = ["StagingItem", "StagingEngine", "StagingInputError"]


class StagingInputError(ValueError):
    """Nothing to stage, or a ROI whose series is not loaded or cannot be cropped."""


@dataclass(frozen=True, eq=False)
class StagingItem:
    """One patch to stage.

    Attributes
    ----------
    image
        The 8-bit preprocessed patch (or anything :func:`~.models.inputs.to_model_input` accepts).
    box
        ``(row0, col0, row1, col1)`` of the patch on its slice (pixels, end-exclusive); the
        Grad-CAM maps are returned on it. Defaults to the image's own extent.
    roi_id, kind, series_instance_uid, sop_instance_uid, slice_index
        Where it came from (carried into the result).
    """

    image: np.ndarray
    box: Optional[tuple[int, int, int, int]] = None
    roi_id: str = ""
    kind: str = "tumour"
    series_instance_uid: str = ""
    sop_instance_uid: str = ""
    slice_index: int = -1

    @property
    def patch_box(self) -> tuple[int, int, int, int]:
        """The box, or ``(0, 0, rows, cols)`` of the image."""
        if self.box is not None:
            return tuple(int(v) for v in self.box)  # type: ignore[return-value]
        rows, cols = np.shape(self.image)[:2]
        return (0, 0, int(rows), int(cols))

    @classmethod
    def from_prepared(cls, prepared: PreparedPatch) -> "StagingItem":
        """An item from :func:`npc_desktop.core.models.patch_preprocessing.prepare_patch` output."""
        patch = prepared.patch
        box = patch.box
        return cls(
            image=prepared.image,
            box=(box.row0, box.col0, box.row1, box.col1),
            roi_id=patch.roi.id,
            kind=patch.roi.kind.value,
            series_instance_uid=patch.roi.series_instance_uid,
            sop_instance_uid=patch.sop_instance_uid,
            slice_index=patch.slice_index,
        )


class StagingEngine:
    """A loaded ensemble that stages patches (see the module docstring).

    Parameters
    ----------
    bundle
        The loaded bundle (:func:`~.models.bundle.load_bundle` or :func:`~.models.bundle.demo_bundle`).
    batch_size
        Patches per fused call.
    patient_aggregation
        ``"mean"``, ``"median"`` or ``"vote"``; the bundle's choice when None.
    upsampler, postprocessing
        Grad-CAM map upsampling and normalisation (MONAI style); bilinear and min-max by default.
    device
        Description of the device for the results; the runtime's own line when None.
    runtime
        ``"onnx"`` or ``"tf"``; ``"tf"`` when the bundle holds Keras members, else ``"onnx"``.
    """

    def __init__(
        self,
        bundle: ModelBundle,
        *,
        batch_size: int = 8,
        patient_aggregation: Optional[str] = None,
        upsampler: Optional[Upsampler] = None,
        postprocessing: Optional[Postprocessing] = None,
        device: Optional[str] = None,
        runtime: Optional[str] = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        aggregation = patient_aggregation or bundle.manifest.patient_aggregation
        if aggregation not in PATIENT_AGGREGATIONS:
            raise ValueError(f"patient_aggregation must be one of {', '.join(PATIENT_AGGREGATIONS)}, got {aggregation!r}")
        self.bundle = bundle
        self.batch_size = int(batch_size)
        self.patient_aggregation = aggregation
        self.upsampler = upsampler or BilinearUpsampler()
        self.postprocessing = postprocessing or MinMaxNormaliser()
        manifest = bundle.manifest
        self.member_names = manifest.member_names
        self.class_names = manifest.class_names
        self.vote_weights = tuple(float(w) for w in normalised_weights(len(manifest.members), manifest.vote_weights))
        self.fused, runtime_device, self.runtime = make_ensemble(bundle, self.vote_weights, runtime)
        self.device = device or runtime_device

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: Union[str, Path],
        *,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
        runtime: str = DEFAULT_RUNTIME,
        **options: Any,
    ) -> "StagingEngine":
        """Load and verify a bundle folder for ``runtime``, then build the engine (``options`` go to ``__init__``)."""
        bundle = load_bundle_for(path, runtime, progress=progress, cancel=cancel)
        return cls(bundle, runtime=runtime, **options)

    @classmethod
    def demo(
        cls,
        *,
        input_sizes: Optional[Mapping[str, Any]] = None,
        seed: int = 0,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
        runtime: str = DEFAULT_RUNTIME,
        build_onnx_in_background: bool = False,
        **options: Any,
    ) -> "StagingEngine":
        """The untrained demo engine: the five members with random weights (marked as such).

        With ONNX Runtime the members come from the cached demo bundle (made once, with TensorFlow).
        ``build_onnx_in_background``: when the native-size cache is empty, stage on TensorFlow this
        time and fill the cache in a low-priority child process (:mod:`.demo_onnx_background`) instead
        of exporting for minutes before the first result.
        """
        if build_onnx_in_background and runtime == "onnx" and not input_sizes and _fall_back_to_tf(seed):
            runtime = "tf"
        bundle = demo_bundle_for(runtime, input_sizes=input_sizes, seed=seed, progress=progress, cancel=cancel)
        return cls(bundle, runtime=runtime, **options)

    @property
    def untrained_demo(self) -> bool:
        """Whether outputs must be marked "UNTRAINED DEMO - not a prediction"."""
        return self.bundle.untrained_demo

    def describe(self) -> str:
        """One line: bundle and device."""
        return f"{self.bundle.describe()} on {self.device}"

    def warm_up(self) -> None:
        """Trace the graphs now so the first staging request is fast."""
        self.fused.warm_up()

    # -- staging ----------------------------------------------------------------------------------

    def stage(
        self,
        items: Sequence[StagingItem],
        *,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
        cams: bool = True,
    ) -> StagingResult:
        """Stage patches: member probabilities, soft vote, agreement, Grad-CAM, patient result.

        Parameters
        ----------
        items
            The patches (at least one).
        progress
            ``progress(done, total)`` in patch x member units, after each batch.
        cancel
            Checked before each batch.
        cams
            Compute Grad-CAM maps (in the same graph call).

        Returns
        -------
        StagingResult

        Raises
        ------
        StagingInputError
            If ``items`` is empty or an image is unusable.
        OperationCancelled
            If ``cancel`` was set.
        """
        from npc_desktop.core.models.inputs import InputError

        if not items:
            raise StagingInputError("nothing to stage: draw at least one tumour or lymph node ROI")
        started = time.perf_counter()
        members = len(self.member_names)
        total = len(items) * members
        if progress is not None:
            progress(0, total)
        member_probabilities: list[np.ndarray] = []
        coarse: list[list[np.ndarray]] = [[] for _ in range(members)]
        cam_classes: list[np.ndarray] = []
        for start in range(0, len(items), self.batch_size):
            check_cancelled(cancel)
            batch = items[start : start + self.batch_size]
            try:
                inputs = [batch_inputs([it.image for it in batch], size) for size in self.fused.input_sizes]
            except InputError as exc:
                raise StagingInputError(f"patch {start + 1}+: {exc}") from None
            out = self.fused(inputs, cam=cams)
            member_probabilities.append(out.member_probabilities)
            cam_classes.append(out.cam_classes)
            if out.cams is not None:
                for index, maps in enumerate(out.cams):
                    coarse[index].extend(maps)
            if progress is not None:
                progress(min(start + len(batch), len(items)) * members, total)
        probs = np.concatenate(member_probabilities, axis=1).astype(np.float64)  # (m, n, k)
        patches = self._patch_results(items, probs, np.concatenate(cam_classes), coarse if cams else None)
        patient = self._patient_result(probs)
        return StagingResult(
            patches=tuple(patches), patient=patient, class_names=self.class_names,
            member_names=self.member_names, vote_weights=self.vote_weights,
            bundle_name=self.bundle.manifest.name, bundle_version=self.bundle.manifest.version,
            bundle_hash=self.bundle.sha256, untrained_demo=self.untrained_demo, device=self.device,
            runtime=self.runtime,
            elapsed_s=time.perf_counter() - started,
        )

    def _patch_results(
        self, items: Sequence[StagingItem], probs: np.ndarray, cam_classes: np.ndarray,
        coarse: Optional[list[list[np.ndarray]]],
    ) -> list[PatchStaging]:
        ensemble = calibrated_vote(soft_vote(probs, self.vote_weights), self.bundle.manifest.ensemble_temperature)
        classes = vote_class(ensemble)
        agree = agreement(probs, classes, self.vote_weights)
        votes = member_votes(probs)
        results = []
        for n, item in enumerate(items):
            box = item.patch_box
            shape = (box[2] - box[0], box[3] - box[1])
            maps: dict[str, np.ndarray] = {}
            mean = None
            if coarse is not None:
                for index, name in enumerate(self.member_names):
                    maps[name] = self.postprocessing(self.upsampler(coarse[index][n], shape))
                mean = np.tensordot(np.asarray(self.vote_weights, np.float32), np.stack(list(maps.values())), axes=1)
            results.append(PatchStaging(
                roi_id=item.roi_id, kind=item.kind, series_instance_uid=item.series_instance_uid,
                sop_instance_uid=item.sop_instance_uid, slice_index=item.slice_index, box=box,
                member_probabilities=probs[:, n, :], probabilities=ensemble[n],
                predicted_index=int(classes[n]), predicted=self.class_names[int(classes[n])],
                member_votes=tuple(self.class_names[int(v)] for v in votes[:, n]),
                agreement=float(agree[n]), cam_class=self.class_names[int(cam_classes[n])],
                cams=maps, cam_mean=None if mean is None else mean.astype(np.float32),
            ))
        return results

    def _patient_result(self, probs: np.ndarray) -> PatientStaging:
        ensemble = calibrated_vote(soft_vote(probs, self.vote_weights), self.bundle.manifest.ensemble_temperature)
        patient = aggregate_patient(ensemble, self.patient_aggregation)
        per_member = np.stack([aggregate_patient(p, self.patient_aggregation) for p in probs])
        predicted = int(patient_decision(patient, self.class_names, self.bundle.manifest.patient_threshold))
        return PatientStaging(
            probabilities=patient, predicted_index=predicted, predicted=self.class_names[predicted],
            aggregation=self.patient_aggregation, patch_count=probs.shape[1],
            member_probabilities=per_member,
            member_votes=tuple(self.class_names[int(v)] for v in vote_class(per_member)),
            agreement=float(agreement(per_member, np.asarray(predicted), self.vote_weights)),
        )

    # -- from annotations -------------------------------------------------------------------------

    def patch_settings(self) -> tuple[ContextMargin, PatchPreprocessing]:
        """The margin and preprocessing the bundle was trained with (the app's defaults if unrecorded)."""
        patch = self.bundle.manifest.patch or {}
        margin = ContextMargin(**patch["margin"]) if patch.get("margin") else ContextMargin()
        return margin, PatchPreprocessing.from_dict(patch.get("preprocessing") or {})

    def items_from_annotations(
        self,
        annotations: AnnotationSet,
        volumes: Mapping[str, Volume],
        *,
        margin: Optional[ContextMargin] = None,
        preprocessing: Optional[PatchPreprocessing] = None,
        roi_ids: Optional[Sequence[str]] = None,
    ) -> list[StagingItem]:
        """Crop and preprocess the ROIs (all, or ``roi_ids``) of loaded series into items.

        Raises
        ------
        StagingInputError
            No ROI, a ROI on a series not in ``volumes``, or a ROI that cannot be cropped.
        """
        default_margin, default_pre = self.patch_settings()
        margin = margin or default_margin
        preprocessing = preprocessing or default_pre
        rois: list[RectRoi] = [r for r in annotations.rois if roi_ids is None or r.id in roi_ids]
        if not rois:
            raise StagingInputError("nothing to stage: draw at least one tumour or lymph node ROI")
        items: list[StagingItem] = []
        by_series: dict[str, list[RectRoi]] = {}
        for roi in rois:
            by_series.setdefault(roi.series_instance_uid, []).append(roi)
        prepared: dict[str, PreparedPatch] = {}
        for series_uid, series_rois in by_series.items():
            volume = volumes.get(series_uid)
            if volume is None:
                raise StagingInputError(f"ROI {series_rois[0].id[:8]} is on series {series_uid}, which is not loaded")
            try:
                for item in prepare_patches(volume, series_rois, margin=margin, preprocessing=preprocessing):
                    prepared[item.patch.roi.id] = item
            except PatchError as exc:
                raise StagingInputError(str(exc)) from None
        for roi in rois:
            items.append(StagingItem.from_prepared(prepared[roi.id]))
        return items

    def stage_annotations(
        self,
        annotations: AnnotationSet,
        volumes: Mapping[str, Volume],
        *,
        margin: Optional[ContextMargin] = None,
        preprocessing: Optional[PatchPreprocessing] = None,
        roi_ids: Optional[Sequence[str]] = None,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
    ) -> StagingResult:
        """Stage every ROI of an annotation set (one patient) on its loaded series.

        Parameters
        ----------
        annotations
            The study's ROIs.
        volumes
            Loaded series by SeriesInstanceUID.
        margin, preprocessing
            Patch settings; the bundle's (or the app's defaults) when None.
        roi_ids
            Stage only these ROIs.
        progress, cancel
            As :meth:`stage`.

        Raises
        ------
        StagingInputError
            See :meth:`items_from_annotations`.
        """
        items = self.items_from_annotations(
            annotations, volumes, margin=margin, preprocessing=preprocessing, roi_ids=roi_ids
        )
        return self.stage(items, progress=progress, cancel=cancel)


def _fall_back_to_tf(seed: int) -> bool:
    """Whether the native-size ONNX demo cache is empty while TensorFlow is here (then start filling it)."""
    import importlib.util

    from npc_desktop.core.models.demo_onnx_background import demo_onnx_ready, start_demo_onnx_build

    if demo_onnx_ready(None, seed) or importlib.util.find_spec("tensorflow") is None:
        return False
    if not start_demo_onnx_build(seed):
        return False
    log.warning("the ONNX demo models are not built yet: staging on TensorFlow this time while they are "
                "built in the background for the next start")
    return True

