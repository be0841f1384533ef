"""Grad-CAM without autodiff: the class score's gradient through a member's head, in NumPy.

A member's head after its Grad-CAM layer ``A`` (``(n, h, w, c)``) is fixed (see
:mod:`~.architectures`): optional max-pooling layers (VGG16's ``block5_pool``, the Basic CNN's
``maxpool3``), then global average pooling (or Flatten for the Basic CNN), ``Dense(relu)``,
dropout (off at inference) and the ``logits`` Dense layer. The gradient of logit ``c`` is therefore
``W2[:, c]``, masked where the hidden ReLU was inactive, times ``W1``, spread evenly over the
positions by the average pooling (or reshaped by Flatten) and sent back through each max pool to
the position that held the window's maximum. The maps are ``relu(sum_k mean_ij(dS/dA_ijk) A_ijk)``,
the same formula as :func:`~.cam.grad_cam_map`.

:class:`HeadGeometry` says which pooling sits between the Grad-CAM layer and the head; it is read
from the Keras member at export time (:func:`head_geometry`) and stored in the ONNX file's metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["HeadGeometry", "head_geometry", "maxpool_forward", "maxpool_backward", "head_gradient", "numpy_grad_cam"]


@dataclass(frozen=True)
class HeadGeometry:
    """The layers between the Grad-CAM layer and the hidden dense layer.

    Attributes
    ----------
    max_pools
        ``(pool_rows, pool_cols, stride_rows, stride_cols)`` of each "valid" max-pooling layer, in order.
    pool
        ``"gap"`` (global average pooling) or ``"flatten"``.
    """

    max_pools: tuple[tuple[int, int, int, int], ...] = ()
    pool: str = "gap"

    def to_json(self) -> str:
        """The metadata string stored in the ONNX file."""
        return json.dumps({"max_pools": [list(p) for p in self.max_pools], "pool": self.pool})

    @classmethod
    def from_json(cls, text: str) -> "HeadGeometry":
        """Parse :meth:`to_json` output (ValueError if malformed)."""
        data = json.loads(text)
        pools = tuple(tuple(int(v) for v in p) for p in data["max_pools"])
        if data["pool"] not in ("gap", "flatten") or any(len(p) != 4 or min(p) < 1 for p in pools):
            raise ValueError(f"not a head geometry: {text[:120]}")
        return cls(pools, str(data["pool"]))  # type: ignore[arg-type]


def head_geometry(model: Any, cam_layer: str) -> HeadGeometry:
    """Read the pooling between ``cam_layer`` and the member's ``pool`` layer from a Keras member.

    Raises
    ------
    ValueError
        If a layer other than "valid" max pooling sits there (the NumPy gradient would be wrong).
    """
    names = [layer.name for layer in model.layers]
    start, end = names.index(cam_layer), names.index("pool")
    pools = []
    for layer in model.layers[start + 1 : end]:
        config = layer.get_config()
        if type(layer).__name__ != "MaxPooling2D" or config.get("padding") != "valid":
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) between {cam_layer!r} and the head "
                             "is not a 'valid' max pooling; Grad-CAM cannot be computed without autodiff")
        pool_size, strides = config["pool_size"], config["strides"] or config["pool_size"]
        pools.append((int(pool_size[0]), int(pool_size[1]), int(strides[0]), int(strides[1])))
    kind = type(model.get_layer("pool")).__name__
    return HeadGeometry(tuple(pools), "flatten" if kind == "Flatten" else "gap")


def _windows(x: np.ndarray, pool: tuple[int, int, int, int]) -> tuple[np.ndarray, int, int]:
    """``(n, out_h, out_w, pr*pc, c)`` windows of a "valid" max pool, and the output size."""
    pr, pc, sr, sc = pool
    n, h, w, c = x.shape
    out_h, out_w = (h - pr) // sr + 1, (w - pc) // sc + 1
    rows = (np.arange(out_h) * sr)[:, None, None, None] + np.arange(pr)[None, None, :, None]
    cols = (np.arange(out_w) * sc)[None, :, None, None] + np.arange(pc)[None, None, None, :]
    windows = x[:, rows, cols, :]  # (n, out_h, out_w, pr, pc, c)
    return windows.reshape(n, out_h, out_w, pr * pc, c), out_h, out_w


def maxpool_forward(x: np.ndarray, pool: tuple[int, int, int, int]) -> np.ndarray:
    """A "valid" max pool of ``(n, h, w, c)`` with ``(pool_rows, pool_cols, stride_rows, stride_cols)``."""
    windows, _, _ = _windows(x, pool)
    return windows.max(axis=3)


def maxpool_backward(x: np.ndarray, grad_out: np.ndarray, pool: tuple[int, int, int, int]) -> np.ndarray:
    """Route ``grad_out`` (the pooled shape) to the position of each window's maximum in ``x``.

    Ties go to the first maximum in row-major window order; overlapping windows add up.
    """
    pr, pc, sr, sc = pool
    n, h, w, c = x.shape
    windows, out_h, out_w = _windows(x, pool)
    first_max = windows.argmax(axis=3)  # (n, out_h, out_w, c)
    rows = np.arange(out_h)[None, :, None, None] * sr + first_max // pc
    cols = np.arange(out_w)[None, None, :, None] * sc + first_max % pc
    grad = np.zeros_like(x, dtype=np.float64)
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, None, None, :]
    np.add.at(grad, (batch, rows, cols, channel), grad_out)
    return grad


def head_gradient(
    activations: np.ndarray,
    hidden: np.ndarray,
    dense_kernel: np.ndarray,
    logits_kernel: np.ndarray,
    classes: np.ndarray,
    geometry: HeadGeometry,
) -> np.ndarray:
    """``d logits[n, classes[n]] / d activations`` for each patch.

    Parameters
    ----------
    activations
        ``(n, h, w, c)`` Grad-CAM layer output.
    hidden
        ``(n, units)`` output of the hidden ``Dense(relu)`` layer (its positive entries are the mask).
    dense_kernel, logits_kernel
        ``(features, units)`` and ``(units, classes)`` kernels.
    classes
        ``(n,)`` class index per patch.
    geometry
        The pooling between the Grad-CAM layer and the head.

    Returns
    -------
    numpy.ndarray
        ``(n, h, w, c)`` float64 gradient.
    """
    a = np.asarray(activations, dtype=np.float64)
    grad_hidden = np.asarray(logits_kernel, np.float64).T[np.asarray(classes, int)] * (np.asarray(hidden) > 0)
    # einsum's own loop, not BLAS: a BLAS product wakes the BLAS thread pool, whose threads then spin
    # on the cores ONNX Runtime needs for the next patch (that slowed staging by a fifth on 2 cores).
    grad_features = np.einsum("nu,fu->nf", grad_hidden, np.asarray(dense_kernel, np.float64), optimize=False)
    inputs = [a]
    for pool in geometry.max_pools:
        inputs.append(maxpool_forward(inputs[-1], pool))
    pooled = inputs[-1]
    if geometry.pool == "flatten":
        grad = grad_features.reshape(pooled.shape)
    else:
        grad = np.broadcast_to(grad_features[:, None, None, :] / (pooled.shape[1] * pooled.shape[2]), pooled.shape)
    for pool, x in zip(reversed(geometry.max_pools), reversed(inputs[:-1])):
        grad = maxpool_backward(x, grad, pool)
    return np.asarray(grad)


def numpy_grad_cam(
    activations: np.ndarray,
    hidden: np.ndarray,
    dense_kernel: np.ndarray,
    logits_kernel: np.ndarray,
    classes: np.ndarray,
    geometry: HeadGeometry,
) -> np.ndarray:
    """Coarse Grad-CAM maps ``(n, h, w)`` float32 (arguments as :func:`head_gradient`)."""
    a = np.asarray(activations, dtype=np.float64)
    grad = head_gradient(a, hidden, dense_kernel, logits_kernel, classes, geometry)
    alpha = grad.mean(axis=(1, 2), keepdims=True)
    return np.maximum((alpha * a).sum(axis=-1), 0.0).astype(np.float32)
