"""Batched calls of Keras models for training and evaluation (TensorFlow imported lazily).

A ``tf.function`` with a fixed input signature per model, called on fixed-size batches, avoids
``model.predict``'s per-call setup and retracing for every batch shape.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from npc_desktop.core.models.inputs import to_model_input
from npc_desktop.core.progress import CancelToken, check_cancelled

__all__ = ["compiled_call", "grey_inputs", "three_channels", "predict_grey", "logits_model", "head_logits_model"]


def logits_model(model: Any) -> Any:
    """The member's pre-softmax scores (its ``"logits"`` layer) as a model of the same input."""
    import keras

    return keras.Model(model.inputs, model.get_layer("logits").output, name=f"{model.name}_logits")


def head_logits_model(head: Any, feature_dim: int) -> Any:
    """``pooled features -> logits`` sharing the head's layers (:func:`~.architectures.member_parts`)."""
    import keras

    inputs = keras.Input(shape=(feature_dim,), dtype="float32", name="features")
    x = inputs
    for name in ("head_dense", "head_dropout", "logits"):
        x = head.get_layer(name)(x)
    return keras.Model(inputs, x, name=f"{head.name}_logits")


def compiled_call(model: Any, input_shape: Sequence[int]) -> Callable[[np.ndarray], np.ndarray]:
    """``batch -> model(batch, training=False)`` as a traced function with a fixed signature."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, *input_shape], tf.float32)], reduce_retracing=True)
    def call(batch: Any) -> Any:
        return model(batch, training=False)

    return lambda batch: call(tf.convert_to_tensor(batch, tf.float32)).numpy()


def grey_inputs(images: Sequence[np.ndarray], input_size: Sequence[int]) -> np.ndarray:
    """``(n, rows, cols)`` float32 grey model inputs via the one patch pipeline (:func:`to_model_input`)."""
    rows, cols = int(input_size[0]), int(input_size[1])
    out = np.empty((len(images), rows, cols), dtype=np.float32)
    for index, image in enumerate(images):
        out[index] = to_model_input(image, (rows, cols))[:, :, 0]
    return out


def three_channels(grey: np.ndarray) -> np.ndarray:
    """``(n, rows, cols)`` -> ``(n, rows, cols, 3)``: the grey value in every channel."""
    return np.repeat(grey[..., None], 3, axis=-1)


def predict_grey(
    call: Callable[[np.ndarray], np.ndarray],
    grey: np.ndarray,
    *,
    batch_size: int = 32,
    cancel: Optional[CancelToken] = None,
    on_batch: Optional[Callable[[int], None]] = None,
) -> np.ndarray:
    """Outputs of ``call`` for grey inputs, batch by batch."""
    outputs = []
    for start in range(0, grey.shape[0], batch_size):
        check_cancelled(cancel)
        batch = grey[start:start + batch_size]
        outputs.append(np.asarray(call(three_channels(batch))))
        if on_batch is not None:
            on_batch(batch.shape[0])
    return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)
