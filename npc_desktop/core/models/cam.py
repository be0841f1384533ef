"""Grad-CAM (Selvaraju et al.) with injected upsampling and normalisation, MONAI style.

The heat map of a class c on a convolutional layer with activations ``A`` (rows, cols, channels) is
``relu(sum_k alpha_k A_k)`` with ``alpha_k`` the spatial mean of ``d score_c / d A_k``; the score is
the pre-softmax class score (the member's "logits" layer). :func:`grad_cam_map` does that
arithmetic on arrays; the fused ensemble (:mod:`npc_desktop.core.models.fused`) computes it inside
its one graph for all members, and :class:`GradCAM` is the plain eager version for one model (the
reference implementation and the benchmark's naive baseline).

Maps then go through an *upsampler* (coarse map -> output size) and a *postprocessing* step
(normalisation), both plain callables given to the constructor as in MONAI's ``GradCAM``:
:class:`BilinearUpsampler` and :class:`MinMaxNormaliser` are the defaults. :func:`map_to_box`
brings a map onto the patch box in slice pixels and :func:`paste_into_slice` places it on a slice.
TensorFlow is imported inside :class:`GradCAM` only.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

import cv2
import numpy as np

__all__ = [
    "grad_cam_map",
    "BilinearUpsampler",
    "MinMaxNormaliser",
    "GradCAM",
    "map_to_box",
    "paste_into_slice",
]

Upsampler = Callable[[np.ndarray, tuple[int, int]], np.ndarray]
Postprocessing = Callable[[np.ndarray], np.ndarray]


def grad_cam_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM from a layer's activations and the score's gradients with respect to them.

    Parameters
    ----------
    activations, gradients
        ``(n, rows, cols, channels)`` (or without the batch axis).

    Returns
    -------
    numpy.ndarray
        ``(n, rows, cols)`` float32, >= 0 (not normalised).
    """
    a = np.asarray(activations, dtype=np.float32)
    g = np.asarray(gradients, dtype=np.float32)
    if a.shape != g.shape or a.ndim not in (3, 4):
        raise ValueError(f"activations and gradients must share a (n,) rows, cols, channels shape: {a.shape}, {g.shape}")
    alpha = g.mean(axis=(-3, -2), keepdims=True)
    return np.maximum((alpha * a).sum(axis=-1), 0.0).astype(np.float32)


class BilinearUpsampler:
    """Resize a 2-D map to ``(rows, cols)`` with bilinear interpolation (pixel centres aligned)."""

    def __call__(self, cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Return ``cam`` resized to ``size`` as float32."""
        rows, cols = int(size[0]), int(size[1])
        cam = np.asarray(cam, dtype=np.float32)
        if cam.shape == (rows, cols):
            return cam.copy()
        return cv2.resize(cam, (cols, rows), interpolation=cv2.INTER_LINEAR)


class MinMaxNormaliser:
    """Scale a map to 0..1 (min -> 0, max -> 1); a flat map becomes all zeros.

    Parameters
    ----------
    eps
        A range below ``eps * max(|max|, 1e-30)`` counts as flat (interpolation leaves float noise
        of about 1e-7 relative on a constant map, which must not be stretched to 0..1).
    """

    def __init__(self, eps: float = 1e-5) -> None:
        self.eps = float(eps)

    def __call__(self, cam: np.ndarray) -> np.ndarray:
        """Return the normalised map (float32)."""
        cam = np.asarray(cam, dtype=np.float32)
        low, high = float(cam.min()), float(cam.max())
        if high - low <= self.eps * max(abs(high), abs(low), 1e-30):
            return np.zeros_like(cam)
        return (cam - low) / (high - low)


class GradCAM:
    """Grad-CAM for one Keras model, computed eagerly with a ``tf.GradientTape``.

    Parameters
    ----------
    model
        A member from :func:`npc_desktop.core.models.architectures.build_member` (or any Keras
        functional model with the named layers).
    target_layer
        The convolutional layer whose activations are weighted.
    score_layer
        The layer whose output is the class score (pre-softmax); "logits" for members.
    upsampler
        ``upsampler(cam, (rows, cols))``; :class:`BilinearUpsampler` by default.
    postprocessing
        ``postprocessing(cam)`` after upsampling; :class:`MinMaxNormaliser` by default.
    """

    def __init__(
        self,
        model: Any,
        target_layer: str,
        *,
        score_layer: str = "logits",
        upsampler: Optional[Upsampler] = None,
        postprocessing: Optional[Postprocessing] = None,
    ) -> None:
        import keras

        self.model = model
        self.target_layer = target_layer
        self.upsampler = upsampler or BilinearUpsampler()
        self.postprocessing = postprocessing or MinMaxNormaliser()
        activations = model.get_layer(target_layer).output
        # Split at the layer so the gradient reaches it whether or not the layers before are frozen.
        self._front = keras.Model(model.input, activations)
        self._back = keras.Model(activations, model.get_layer(score_layer).output)

    def compute_map(
        self, x: np.ndarray, class_idx: Union[None, int, Sequence[int]] = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Coarse maps and class scores.

        Parameters
        ----------
        x
            Model input batch ``(n, rows, cols, 3)``.
        class_idx
            Class per sample, one class for all, or None for each sample's top-scoring class.

        Returns
        -------
        (maps, scores)
            ``(n, h, w)`` coarse Grad-CAM maps and ``(n, k)`` class scores.
        """
        import tensorflow as tf

        x = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
        activations = self._front(x, training=False)
        with tf.GradientTape() as tape:
            tape.watch(activations)
            scores = self._back(activations, training=False)
            if class_idx is None:
                target = tf.argmax(scores, axis=-1, output_type=tf.int32)
            else:
                target = tf.broadcast_to(tf.constant(class_idx, dtype=tf.int32), tf.shape(scores)[:1])
            chosen = tf.gather(scores, target, axis=1, batch_dims=1)
        gradients = tape.gradient(chosen, activations)
        return grad_cam_map(activations.numpy(), gradients.numpy()), scores.numpy()

    def __call__(
        self,
        x: np.ndarray,
        class_idx: Union[None, int, Sequence[int]] = None,
        *,
        output_size: Optional[tuple[int, int]] = None,
    ) -> np.ndarray:
        """Upsampled, normalised maps ``(n, rows, cols)``; the input size unless ``output_size``."""
        maps, _ = self.compute_map(x, class_idx)
        size = output_size or (int(np.shape(x)[1]), int(np.shape(x)[2]))
        return np.stack([self.postprocessing(self.upsampler(m, size)) for m in maps])


def map_to_box(
    cam: np.ndarray,
    box_shape: tuple[int, int],
    *,
    upsampler: Optional[Upsampler] = None,
    postprocessing: Optional[Postprocessing] = None,
) -> np.ndarray:
    """A coarse map of a patch brought onto the patch box: ``(box rows, box cols)`` float32.

    The model saw the patch resized to its input, so the coarse map covers the whole box.
    """
    up = (upsampler or BilinearUpsampler())(cam, box_shape)
    return (postprocessing or MinMaxNormaliser())(up)


def paste_into_slice(
    cam: np.ndarray, box: Sequence[int], slice_shape: tuple[int, int], *, fill: float = np.nan
) -> np.ndarray:
    """A slice-sized float32 array holding ``cam`` at ``box`` (row0, col0, row1, col1), ``fill`` elsewhere."""
    row0, col0, row1, col1 = (int(v) for v in box)
    if cam.shape != (row1 - row0, col1 - col0):
        raise ValueError(f"map shape {cam.shape} does not fit box {tuple(box)}")
    out = np.full(slice_shape, fill, dtype=np.float32)
    r0, c0 = max(row0, 0), max(col0, 0)
    r1, c1 = min(row1, slice_shape[0]), min(col1, slice_shape[1])
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = cam[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0]
    return out
