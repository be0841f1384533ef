"""Export one Keras member to an ONNX graph for ONNX Runtime, checked against Keras.

The graph is made with Keras' own ``model.export(path, format="onnx")`` (which drives the pinned
tf2onnx) from a view of the member with these outputs, in order (:data:`ONNX_OUTPUTS`):

``probabilities`` ``(n, k)``, ``logits`` ``(n, k)`` (pre-softmax), ``cam_activations``
``(n, h, w, c)`` (the Grad-CAM layer) and ``head_hidden`` ``(n, units)`` (the hidden
``Dense(relu)`` output: its mask). The input is ``patch`` ``(n, rows, cols, 3)`` float32 grey values
0..255, as for the Keras member. The file's metadata records the architecture, the Grad-CAM layer,
the :class:`~.numpy_cam.HeadGeometry` and the two head kernels (:func:`encode_array`), so that
:mod:`.numpy_cam` can take the class score's gradient without TensorFlow and without running the
graph to read them.

Before the file is accepted, ONNX Runtime runs it on random patches and every output must equal
Keras' within ``1e-4`` (absolute, or relative to the output's magnitude for large activations);
otherwise :class:`OnnxExportError` is raised and nothing is written.
"""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from npc_desktop.core.models.errors import BundleError
from npc_desktop.core.models.numpy_cam import head_geometry

__all__ = ["ONNX_OUTPUTS", "HEAD_KERNELS", "EXPORT_TOLERANCE", "OnnxExportError", "ExportCheck", "export_member_onnx",
           "encode_array", "decode_array"]

ONNX_OUTPUTS: tuple[str, ...] = ("probabilities", "logits", "cam_activations", "head_hidden")
"""Output names of every member graph, in order."""

HEAD_KERNELS: tuple[str, ...] = ("head_dense", "logits")
"""Layers whose kernels the metadata holds, as ``npc_desktop.<layer>_kernel``."""

EXPORT_TOLERANCE = 1e-4
"""Largest accepted difference between ONNX Runtime and Keras outputs."""


class OnnxExportError(BundleError):
    """A member could not be exported, or its ONNX graph does not reproduce Keras."""


@dataclass(frozen=True)
class ExportCheck:
    """How closely the exported graph reproduced Keras on the check patches.

    Attributes
    ----------
    max_abs_diff
        Largest absolute difference per output name.
    patches
        How many random patches were compared.
    """

    max_abs_diff: dict[str, float]
    patches: int


def encode_array(array: np.ndarray) -> str:
    """A float32 array as metadata text: ``"rows,cols:"`` then base64 of its little-endian bytes."""
    value = np.ascontiguousarray(array, dtype="<f4")
    return ",".join(str(n) for n in value.shape) + ":" + base64.b64encode(value.tobytes()).decode("ascii")


def decode_array(text: str) -> np.ndarray:
    """The array of :func:`encode_array` text (ValueError if malformed)."""
    shape_text, _, data = text.partition(":")
    shape = tuple(int(n) for n in shape_text.split(","))
    return np.frombuffer(base64.b64decode(data, validate=True), dtype="<f4").reshape(shape).astype(np.float32)


def _multi_output_view(model: Any, cam_layer: str) -> Any:
    import keras

    outputs = [model.output, model.get_layer("logits").output, model.get_layer(cam_layer).output,
               model.get_layer("head_dense").output]
    return keras.Model(model.input, outputs, name=model.name)


def _finish_graph(raw: Path, target: Path, model: Any, architecture: str, cam_layer: str) -> None:
    """Rename the input and outputs, add the metadata (with the head kernels); write ``target``."""
    import onnx

    graph_model = onnx.load(str(raw))
    graph = graph_model.graph
    renames = {out.name: name for out, name in zip(graph.output, ONNX_OUTPUTS[:4])}
    renames[graph.input[0].name] = "patch"
    for node in graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
        node.input[:] = [renames.get(name, name) for name in node.input]
    for value in (*graph.output, graph.input[0]):
        value.name = renames[value.name]
    metadata = {"npc_desktop.architecture": architecture, "npc_desktop.cam_layer": cam_layer,
                "npc_desktop.head_geometry": head_geometry(model, cam_layer).to_json()}
    for layer in HEAD_KERNELS:
        metadata[f"npc_desktop.{layer}_kernel"] = encode_array(model.get_layer(layer).get_weights()[0])
    for key, value in metadata.items():
        entry = graph_model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(target))


def _compare(path: Path, view: Any, input_size: tuple[int, int], seed: int, patches: int) -> ExportCheck:
    import onnxruntime

    x = np.random.default_rng(seed).uniform(0, 255, (patches, input_size[0], input_size[1], 3)).astype(np.float32)
    reference = [np.asarray(r) for r in view.predict(x, verbose=0)]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    produced = session.run(list(ONNX_OUTPUTS), {"patch": x})
    diffs: dict[str, float] = {}
    for name, ref, out in zip(ONNX_OUTPUTS, reference, produced):
        if ref.shape != out.shape:
            raise OnnxExportError(path, f"output {name!r} has shape {out.shape}, Keras gives {ref.shape}")
        diffs[name] = float(np.max(np.abs(ref - out))) if ref.size else 0.0
        limit = EXPORT_TOLERANCE * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
        if diffs[name] > limit:
            raise OnnxExportError(
                path, f"output {name!r} differs from Keras by {diffs[name]:.3g} (more than {limit:.3g})",
                "the ONNX graph was not written; keep using the TensorFlow runtime for this bundle",
            )
    return ExportCheck(diffs, patches)


def export_member_onnx(
    model: Any, target: Union[str, Path], *, cam_layer: str, seed: int = 0, check_patches: int = 2
) -> ExportCheck:
    """Export a member built by :func:`~.architectures.build_member` to ``target`` and check it.

    Parameters
    ----------
    model
        The Keras member.
    target
        The ``.onnx`` file to write (replaced atomically once the check has passed).
    cam_layer
        The Grad-CAM layer whose activations the graph outputs.
    seed, check_patches
        Random check patches (grey values 0..255) compared between Keras and ONNX Runtime.

    Returns
    -------
    ExportCheck

    Raises
    ------
    OnnxExportError
        If the export fails or any output differs from Keras by more than :data:`EXPORT_TOLERANCE`.
    """
    from npc_desktop.core.models.architectures import member_info

    target = Path(target)
    info = member_info(model)
    view = _multi_output_view(model, cam_layer)
    view(np.zeros((1, info.input_size[0], info.input_size[1], 3), np.float32))
    with tempfile.TemporaryDirectory(prefix=".onnx-export-", dir=target.parent) as scratch:
        raw, finished = Path(scratch) / "raw.onnx", Path(scratch) / "member.onnx"
        try:
            view.export(str(raw), format="onnx", verbose=False)
            _finish_graph(raw, finished, model, info.architecture, cam_layer)
        except OnnxExportError:
            raise
        except Exception as exc:  # tf2onnx and onnx raise many types; the first line says enough
            text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise OnnxExportError(target, f"ONNX export of member {model.name!r} failed ({text})") from None
        check = _compare(finished, view, info.input_size, seed, check_patches)
        os.replace(finished, target)
    return check
