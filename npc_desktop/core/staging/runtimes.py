"""Which runtime stages: ONNX Runtime (the default) or the TensorFlow fused graph (the fallback).

``"onnx"`` loads only the manifest and the members' ONNX graphs (hash-checked) and never imports
TensorFlow or Keras; ``"tf"`` loads the Keras members in safe mode and fuses them into one
TensorFlow graph. Both return an ensemble with the same call (:class:`~.models.fused.FusedOutput`)
and a device line that names the runtime, e.g. ``"CPU: ONNX Runtime 1.20.1, CPUExecutionProvider,
2 threads"`` or ``"CPU: TensorFlow 2.21.0, 2 threads, oneDNN on"``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from npc_desktop.core.models.bundle import ModelBundle
from npc_desktop.core.models.errors import ModelError
from npc_desktop.core.models.manifest import manifest_sha256, read_manifest
from npc_desktop.core.progress import CancelToken, ProgressCallback

__all__ = ["RUNTIMES", "DEFAULT_RUNTIME", "RUNTIME_NAMES", "check_runtime", "load_bundle_for", "demo_bundle_for",
           "make_ensemble"]

RUNTIMES: tuple[str, ...] = ("onnx", "tf")
"""The runtime identifiers (``--runtime``, the GUI setting)."""

DEFAULT_RUNTIME = "onnx"

RUNTIME_NAMES: dict[str, str] = {"onnx": "ONNX Runtime", "tf": "TensorFlow"}
"""What each runtime is called in menus, status bars and reports."""


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is one of :data:`RUNTIMES` and installed, else an error naming the problem.

    Raises
    ------
    ValueError
        An unknown runtime.
    ModelError
        ``"tf"`` in the inference-only build (no TensorFlow installed).
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "tf" and importlib.util.find_spec("tensorflow") is None:
        raise ModelError("the TensorFlow runtime needs the full build with TensorFlow; this is the inference-only "
                         "build: use the ONNX runtime")
    return runtime


def load_bundle_for(
    path: Union[str, Path], runtime: str, *,
    progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
) -> ModelBundle:
    """Load a bundle folder for ``runtime``: the ONNX graphs only (``"onnx"``) or the Keras members.

    Raises
    ------
    BundleError
        As :func:`~.models.bundle.load_bundle`, or :func:`~.models.onnx_bundle.verify_onnx_files`
        (a bundle without ONNX graphs says how to add them).
    """
    if check_runtime(runtime) == "tf":
        from npc_desktop.core.models.bundle import load_bundle
        from npc_desktop.core.models.runtime import configure_tensorflow

        configure_tensorflow()
        return load_bundle(path, progress=progress, cancel=cancel)
    from npc_desktop.core.models.onnx_bundle import require_onnx_entries

    # Each graph's size and SHA-256 are checked just before its session is made (OnnxEnsemble).
    root = Path(path)
    manifest = require_onnx_entries(root, read_manifest(root))
    return ModelBundle(manifest, [], root, manifest_sha256(root))


def demo_bundle_for(
    runtime: str, *, input_sizes: Optional[Mapping[str, Any]] = None, seed: int = 0,
    progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
) -> ModelBundle:
    """The untrained demo bundle for ``runtime``: the cached ONNX bundle, or Keras members in memory."""
    if check_runtime(runtime) == "tf":
        from npc_desktop.core.models.bundle import demo_bundle
        from npc_desktop.core.models.runtime import configure_tensorflow

        configure_tensorflow()
        return demo_bundle(input_sizes=input_sizes, seed=seed, progress=progress, cancel=cancel)
    from npc_desktop.core.models.demo_onnx import ensure_demo_onnx_bundle

    path = ensure_demo_onnx_bundle(input_sizes=input_sizes, seed=seed, progress=progress, cancel=cancel)
    return load_bundle_for(path, "onnx")


def make_ensemble(
    bundle: ModelBundle, vote_weights: Sequence[float], runtime: Optional[str] = None
) -> tuple[Any, str, str]:
    """The ensemble for a loaded bundle: ``(ensemble, device line, runtime)``.

    ``runtime`` defaults to ``"tf"`` when the bundle holds Keras members, else ``"onnx"``.
    """
    runtime = check_runtime(runtime or ("tf" if bundle.models else "onnx"))
    if runtime == "onnx":
        from npc_desktop.core.models.onnx_ensemble import OnnxEnsemble

        if bundle.path is None:
            raise ValueError("the ONNX runtime needs a bundle folder with ONNX graphs")
        ensemble = OnnxEnsemble(bundle.path, bundle.manifest, vote_weights=vote_weights)
        return ensemble, ensemble.device, runtime
    import tensorflow as tf

    from npc_desktop.core.models.fused import FusedEnsemble
    from npc_desktop.core.models.runtime import configure_tensorflow

    kind, _, detail = configure_tensorflow().description.partition(":")
    ensemble = FusedEnsemble(
        bundle.models, cam_layers=[m.cam_layer for m in bundle.manifest.members], vote_weights=vote_weights,
        temperatures=bundle.manifest.temperatures(), ensemble_temperature=bundle.manifest.ensemble_temperature,
    )
    return ensemble, f"{kind}: TensorFlow {tf.__version__},{detail}", runtime
