"""The members' ONNX graphs under ONNX Runtime: probabilities, soft vote and NumPy Grad-CAM.

:class:`OnnxEnsemble` is the ONNX Runtime counterpart of :class:`~.fused.FusedEnsemble` and returns
the same :class:`~.fused.FusedOutput`. Each member's graph (:mod:`.onnx_export`) gives its logits,
the Grad-CAM layer's activations and the head's hidden layer; the probabilities are
:func:`~.voting.calibrated_probabilities` of the logits (the manifest's temperatures, 1 when
uncalibrated), the vote is :func:`~.voting.soft_vote` scaled by :func:`~.voting.calibrated_vote`, and the maps come from
:func:`~.numpy_cam.numpy_grad_cam`. Neither TensorFlow nor Keras is imported.

Execution providers: CUDA (Linux) or DirectML (Windows) when the installed onnxruntime package has
them, else the CPU provider (:func:`choose_providers`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from npc_desktop.core.models.errors import BundleError
from npc_desktop.core.models.fused import FusedOutput
from npc_desktop.core.models.manifest import BundleManifest
from npc_desktop.core.models.numpy_cam import HeadGeometry, numpy_grad_cam
from npc_desktop.core.models.onnx_bundle import require_onnx_entries, verify_onnx_member
from npc_desktop.core.models.onnx_export import decode_array
from npc_desktop.core.models.voting import calibrated_probabilities, calibrated_vote, normalised_weights, soft_vote

__all__ = ["GPU_PROVIDERS", "choose_providers", "ort_device_description", "OnnxEnsemble"]

GPU_PROVIDERS: tuple[str, ...] = ("CUDAExecutionProvider", "DmlExecutionProvider")
"""Accelerated providers used when the installed onnxruntime has them, in preference order."""

_OUTPUTS = ["logits", "cam_activations", "head_hidden"]


def choose_providers(available: Optional[Sequence[str]] = None) -> list[str]:
    """The providers to ask for: the first available GPU provider (if any), then the CPU provider."""
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    gpu = [p for p in GPU_PROVIDERS if p in available][:1]
    return [*gpu, "CPUExecutionProvider"]


def ort_device_description(provider: str) -> str:
    """One line for status bars and reports: ``"CPU: ONNX Runtime 1.x, CPUExecutionProvider, 4 threads"``."""
    import onnxruntime

    kind = "CPU" if provider == "CPUExecutionProvider" else "GPU"
    text = f"{kind}: ONNX Runtime {onnxruntime.__version__}, {provider}"
    if kind == "CPU":
        cores = os.cpu_count() or 1
        text += f", {cores} thread{'s' if cores != 1 else ''}"
    return text


class _Member:
    """One member's session and the constants its Grad-CAM needs."""

    def __init__(self, path: Path, providers: Sequence[str]) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # Waiting threads sleep instead of spinning: on a busy or small CPU, spinning steals the cores
        # the other pool threads need (1.6x slower per patch on 2 shared cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=list(providers))
            meta = self.session.get_modelmeta().custom_metadata_map
            self.geometry = HeadGeometry.from_json(meta["npc_desktop.head_geometry"])
            shape = self.session.get_inputs()[0].shape
            self.input_size = (int(shape[1]), int(shape[2]))
            # Converted once here: head_gradient works in float64, and converting the dense kernel
            # (features x units) at every call cost about a fifth of a patch's staging time.
            self.dense_kernel = decode_array(meta["npc_desktop.head_dense_kernel"]).astype(np.float64)
            self.logits_kernel = decode_array(meta["npc_desktop.logits_kernel"]).astype(np.float64)
        except Exception as exc:  # onnxruntime raises its own exception types; name the file
            text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise BundleError(path, f"cannot be used as a member's ONNX graph ({text})",
                              "export it again with npc-desktop bundle export-onnx DIR") from None
        self.provider = self.session.get_providers()[0]


class OnnxEnsemble:
    """The bundle's members as ONNX Runtime sessions (see the module docstring).

    Parameters
    ----------
    directory
        The bundle folder. Each graph's size and SHA-256 are checked against the manifest right
        before its session is made; the next graph is hashed meanwhile, on another thread.
    manifest
        Its manifest.
    vote_weights
        Soft-voting weights (normalised); the manifest's when None.
    temperatures
        Per-member temperatures; the manifest's when None.
    providers
        Execution providers; :func:`choose_providers` when None.
    """

    def __init__(
        self,
        directory: Path,
        manifest: BundleManifest,
        *,
        vote_weights: Optional[Sequence[float]] = None,
        temperatures: Optional[Sequence[float]] = None,
        providers: Optional[Sequence[str]] = None,
    ) -> None:
        self.providers = list(providers) if providers is not None else choose_providers()
        require_onnx_entries(Path(directory), manifest)
        with ThreadPoolExecutor(1) as hashing:
            checked = [hashing.submit(verify_onnx_member, Path(directory), m) for m in manifest.members]
            self.members = [_Member(future.result(), self.providers) for future in checked]
        for member, entry in zip(self.members, manifest.members):
            if member.input_size != entry.input_size:
                raise BundleError(Path(directory) / entry.onnx["file"],  # type: ignore[index]
                                  f"input size {member.input_size}, manifest {entry.input_size}")
        self.member_names = manifest.member_names
        self.class_names = manifest.class_names
        self.weights = normalised_weights(len(self.members), vote_weights or manifest.vote_weights)
        self.temperatures = tuple(temperatures) if temperatures is not None else manifest.temperatures()
        self.ensemble_temperature = manifest.ensemble_temperature
        self.input_sizes: tuple[tuple[int, int], ...] = tuple(dict.fromkeys(m.input_size for m in self.members))
        self.member_size_index = tuple(self.input_sizes.index(m.input_size) for m in self.members)
        self.provider = self.members[0].provider
        self.device = ort_device_description(self.provider)

    def __call__(
        self, inputs: Sequence[np.ndarray], *, cam: bool = True, cam_class: Optional[Sequence[int]] = None
    ) -> FusedOutput:
        """Run every member on one batch (arguments and result as :meth:`.fused.FusedEnsemble.__call__`)."""
        if len(inputs) != len(self.input_sizes):
            raise ValueError(f"expected {len(self.input_sizes)} input arrays (one per size {self.input_sizes})")
        arrays = [np.ascontiguousarray(x, dtype=np.float32) for x in inputs]
        wanted = _OUTPUTS if cam else _OUTPUTS[:1]
        outputs = [m.session.run(wanted, {"patch": arrays[i]}) for m, i in zip(self.members, self.member_size_index)]
        logits = np.stack([out[0] for out in outputs])
        probabilities = calibrated_probabilities(logits, self.temperatures).astype(np.float32)
        ensemble = calibrated_vote(soft_vote(probabilities, self.weights), self.ensemble_temperature).astype(np.float32)
        predicted = np.argmax(ensemble, axis=-1).astype(np.int32)
        if not cam:
            return FusedOutput(probabilities, ensemble, predicted, None)
        target = predicted if cam_class is None else np.asarray(cam_class, dtype=np.int32)
        classes = np.where(target >= 0, target, predicted).astype(np.int32)
        cams = [
            numpy_grad_cam(out[1], out[2], m.dense_kernel, m.logits_kernel, classes, m.geometry)
            for m, out in zip(self.members, outputs)
        ]
        return FusedOutput(probabilities, ensemble, classes, cams)

    def warm_up(self) -> None:
        """Nothing to do: ONNX Runtime has no graph to trace, and its first call is as fast as the next."""
