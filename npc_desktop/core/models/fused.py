"""All members in one TensorFlow graph: probabilities, soft vote and Grad-CAM in a single call.

:class:`FusedEnsemble` wraps the members in one ``tf.function`` with a fixed input signature (one
``(None, rows, cols, 3)`` float32 tensor per distinct input size, shared by the members of that
size, plus a ``(None,)`` int32 tensor of Grad-CAM target classes, -1 meaning "the ensemble's
class"), batched over patches. One call runs every member's forward pass up to its logits, the
calibrated member probabilities ``softmax(logits / T)`` (exactly
:func:`~npc_desktop.core.models.voting.calibrated_probabilities`, tested for equality), the weighted soft vote,
the gradient of each member's class score (pre-softmax "logits") with respect to its Grad-CAM layer
and the coarse maps ``relu(sum_k mean(dS/dA_k) A_k)``. The graph is traced once; XLA is off
(``jit_compile=False``: slower on CPU here). Upsampling and normalisation of the coarse maps
happen afterwards in NumPy (:mod:`npc_desktop.core.models.cam`), so they stay injectable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from npc_desktop.core.models.architectures import member_info
from npc_desktop.core.models.voting import normalised_weights

__all__ = ["FusedOutput", "FusedEnsemble"]


@dataclass(frozen=True)
class FusedOutput:
    """What one fused call returns, as NumPy arrays.

    Attributes
    ----------
    member_probabilities
        ``(m, n, k)`` float32: each member's calibrated probabilities, ``softmax(logits / T)``.
    probabilities
        ``(n, k)`` float32: the weighted soft vote computed in the graph.
    cam_classes
        ``(n,)`` class index each Grad-CAM explains.
    cams
        One ``(n, h_i, w_i)`` float32 coarse map array per member (None when CAMs were not asked for).
    """

    member_probabilities: np.ndarray
    probabilities: np.ndarray
    cam_classes: np.ndarray
    cams: Optional[list[np.ndarray]]


class FusedEnsemble:
    """The members of a bundle fused into one graph (see the module docstring).

    Parameters
    ----------
    models
        Members built by :func:`~.architectures.build_member` (or loaded from a bundle).
    cam_layers
        Grad-CAM layer per member; read from the models when None.
    vote_weights
        Soft-voting weights per member (equal when None).
    temperatures
        Calibration temperature per member (1: the member's own softmax).
    ensemble_temperature
        The soft vote's temperature (:func:`~.voting.calibrated_vote`).
    """

    def __init__(
        self,
        models: Sequence[Any],
        *,
        cam_layers: Optional[Sequence[str]] = None,
        vote_weights: Optional[Sequence[float]] = None,
        temperatures: Optional[Sequence[float]] = None,
        ensemble_temperature: float = 1.0,
    ) -> None:
        import keras
        import tensorflow as tf

        if not models:
            raise ValueError("a fused ensemble needs at least one member")
        infos = [member_info(m) for m in models]
        layers = list(cam_layers) if cam_layers is not None else [i.cam_layer for i in infos]
        if len(layers) != len(models):
            raise ValueError("one CAM layer is needed per member")
        self.models = list(models)
        self.member_names = tuple(m.name for m in models)
        self.class_names = infos[0].class_names
        self.weights = normalised_weights(len(models), vote_weights).astype(np.float32)
        scales = np.ones(len(models)) if temperatures is None else np.asarray(temperatures, dtype=np.float64)
        if scales.shape != (len(models),) or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError(f"temperatures must be {len(models)} positive numbers, got {list(np.ravel(scales))}")
        self.temperatures = scales.astype(np.float32)
        if not (np.isfinite(ensemble_temperature) and ensemble_temperature > 0):
            raise ValueError(f"the vote's temperature must be a positive number, got {ensemble_temperature}")
        self.ensemble_temperature = float(ensemble_temperature)
        self.input_sizes: tuple[tuple[int, int], ...] = tuple(dict.fromkeys(i.input_size for i in infos))
        self.member_size_index = tuple(self.input_sizes.index(i.input_size) for i in infos)
        # Split each member at its CAM layer: the tape then covers only the small part after it,
        # which keeps the traced gradient graph small and works whether or not the base is frozen.
        self._fronts = [keras.Model(m.input, m.get_layer(layer).output) for m, layer in zip(models, layers)]
        self._backs = [
            keras.Model(m.get_layer(layer).output, m.get_layer("logits").output) for m, layer in zip(models, layers)
        ]
        self._logits = [keras.Model(m.input, m.get_layer("logits").output) for m in models]
        signature = [
            tf.TensorSpec([None, r, c, 3], tf.float32, name=f"patches_{r}x{c}") for r, c in self.input_sizes
        ]
        target = tf.TensorSpec([None], tf.int32, name="cam_class")
        self._with_cam = tf.function(self._graph_with_cam, input_signature=[*signature, target], jit_compile=False)
        self._predict = tf.function(self._graph_predict, input_signature=signature, jit_compile=False)

    # -- graphs -----------------------------------------------------------------------------------

    def _vote(self, probabilities: Any) -> Any:
        import tensorflow as tf

        vote = tf.tensordot(tf.constant(self.weights), probabilities, axes=1)
        if self.ensemble_temperature == 1.0:
            return vote
        return tf.nn.softmax(tf.math.log(tf.maximum(vote, 1e-30)) / self.ensemble_temperature, axis=-1)

    def _calibrated(self, logits: Sequence[Any]) -> Any:
        """``(m, n, k)`` softmax(logits_i / T_i): the graph form of ``voting.calibrated_probabilities``."""
        import tensorflow as tf

        return tf.stack([tf.nn.softmax(z / float(t), axis=-1) for z, t in zip(logits, self.temperatures)])

    def _graph_predict(self, *inputs: Any) -> tuple[Any, Any]:
        probabilities = self._calibrated(
            [m(inputs[i], training=False) for m, i in zip(self._logits, self.member_size_index)]
        )
        return probabilities, self._vote(probabilities)

    def _graph_with_cam(self, *args: Any) -> tuple[Any, ...]:
        import tensorflow as tf

        inputs, target = args[:-1], args[-1]
        activations = [front(inputs[i], training=False) for front, i in zip(self._fronts, self.member_size_index)]
        with tf.GradientTape() as tape:
            tape.watch(activations)
            logits = [back(a, training=False) for back, a in zip(self._backs, activations)]
            probabilities = self._calibrated(logits)
            ensemble = self._vote(probabilities)
            predicted = tf.argmax(ensemble, axis=-1, output_type=tf.int32)
            classes = tf.where(target >= 0, target, predicted)
            score = tf.add_n(
                [tf.reduce_sum(tf.gather(z, classes, axis=1, batch_dims=1)) for z in logits]
            )
        gradients = tape.gradient(score, activations)
        cams = [
            tf.nn.relu(tf.reduce_sum(tf.reduce_mean(g, axis=(1, 2), keepdims=True) * a, axis=-1))
            for a, g in zip(activations, gradients)
        ]
        return (probabilities, ensemble, classes, *cams)

    # -- calls ------------------------------------------------------------------------------------

    def _tensors(self, inputs: Sequence[np.ndarray]) -> list[Any]:
        import tensorflow as tf

        if len(inputs) != len(self.input_sizes):
            raise ValueError(f"expected {len(self.input_sizes)} input arrays (one per size {self.input_sizes})")
        counts = {len(x) for x in inputs}
        if len(counts) != 1:
            raise ValueError("every input array must hold the same patches")
        return [tf.convert_to_tensor(np.asarray(x, dtype=np.float32)) for x in inputs]

    def __call__(
        self, inputs: Sequence[np.ndarray], *, cam: bool = True, cam_class: Optional[Sequence[int]] = None
    ) -> FusedOutput:
        """Run the fused graph on one batch.

        Parameters
        ----------
        inputs
            One ``(n, rows, cols, 3)`` float32 array per size in :attr:`input_sizes` (from
            :func:`~.inputs.batch_inputs`).
        cam
            Compute Grad-CAM maps too (otherwise the prediction-only graph runs).
        cam_class
            Class index per patch for the maps; the ensemble's class when None (or -1).

        Returns
        -------
        FusedOutput
        """
        import tensorflow as tf

        tensors = self._tensors(inputs)
        n = int(tensors[0].shape[0])
        if not cam:
            probabilities, ensemble = self._predict(*tensors)
            return FusedOutput(probabilities.numpy(), ensemble.numpy(), np.argmax(ensemble.numpy(), -1), None)
        target = np.full(n, -1, dtype=np.int32) if cam_class is None else np.asarray(cam_class, dtype=np.int32)
        out = self._with_cam(*tensors, tf.constant(target))
        return FusedOutput(out[0].numpy(), out[1].numpy(), out[2].numpy(), [c.numpy() for c in out[3:]])

    def warm_up(self) -> None:
        """Trace both graphs with a one-patch batch so the first real call is fast."""
        zeros = [np.zeros((1, r, c, 3), np.float32) for r, c in self.input_sizes]
        self(zeros, cam=True)
        self(zeros, cam=False)
