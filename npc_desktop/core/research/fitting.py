"""The epoch loop shared by every training phase: checkpointed, cancellable, scheduled.

Each epoch is one ``model.fit`` call on that epoch's (shuffled, possibly augmented) data, with
``keras.callbacks.LearningRateScheduler`` setting the rate; after it the weights, the optimizer
state and the history are checkpointed (:class:`.checkpoint.PhaseCheckpoint`), so a run resumes
at the next epoch. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.research.checkpoint import PhaseCheckpoint
from npc_desktop.core.research.config import TrainingConfig

__all__ = ["Tracker", "fit_epochs", "epoch_maker", "unfreeze_top"]


class Tracker:
    """Progress in steps (feature batches and epochs) across the whole run."""

    def __init__(self, total: int, progress: Optional[ProgressCallback]) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def step(self, count: int = 1) -> None:
        """Count ``count`` steps done and report."""
        self.done = min(self.total, self.done + count)
        if self.progress is not None:
            self.progress(self.done, self.total)


def _cancel_callback(cancel: Optional[CancelToken]) -> Any:
    import keras

    class StopOnCancel(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if cancel is not None and cancel.is_set():
                self.model.stop_training = True

    return StopOnCancel()


def fit_epochs(
    model: Any,
    make_epoch: Callable[[int], tuple[np.ndarray, np.ndarray]],
    *,
    epochs: int,
    learning_rate: float,
    config: TrainingConfig,
    checkpoint: PhaseCheckpoint,
    strategy: Any,
    validation: Optional[tuple[np.ndarray, np.ndarray]],
    class_weight: Optional[dict[int, float]],
    on_epoch: Callable[[int, dict[str, float]], None],
    cancel: Optional[CancelToken],
) -> tuple[dict[str, list[float]], bool]:
    """Train ``model`` for ``epochs`` epochs, resuming from ``checkpoint`` if it holds some.

    Parameters
    ----------
    model
        The Keras model to compile (Adam, categorical cross-entropy, accuracy) and fit.
    make_epoch
        ``epoch -> (x, y)``: that epoch's shuffled (and possibly augmented) data.
    epochs, learning_rate
        Total epochs and Adam's initial rate (scheduled by ``config.lr_decay``).
    config
        Batch size and the schedule's decay.
    checkpoint
        Saved after every epoch; restored first.
    strategy
        ``tf.distribute`` strategy whose scope builds the optimizer and compiles.
    validation
        ``(x, y)`` for validation curves, or None.
    class_weight
        Loss weight per class index, or None.
    on_epoch
        Called with ``(epoch, logs)`` after each completed epoch.
    cancel
        Checked between epochs and batches.

    Returns
    -------
    history, resumed
        Every epoch's logs (including those before a resume) and whether it resumed.

    Raises
    ------
    OperationCancelled
        If cancelled; the last completed epoch stays checkpointed.
    """
    import keras

    with strategy.scope():
        optimizer = keras.optimizers.Adam(learning_rate)
        model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
        state = checkpoint.restore(model, optimizer)
    start = int(state["epochs_done"]) if state else 0
    history: dict[str, list[float]] = {k: list(v) for k, v in (state["history"] if state else {}).items()}
    decay = config.lr_decay
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: learning_rate * decay ** epoch)
    stopper = _cancel_callback(cancel)
    for epoch in range(start, epochs):
        check_cancelled(cancel)
        x, y = make_epoch(epoch)
        fitted = model.fit(
            x, y, batch_size=config.batch_size, epochs=epoch + 1, initial_epoch=epoch, shuffle=False,
            verbose=0, validation_data=validation, callbacks=[scheduler, stopper], class_weight=class_weight,
        )
        check_cancelled(cancel)
        logs = {k: float(v[-1]) for k, v in fitted.history.items() if v}
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        checkpoint.save(model, optimizer, epoch + 1, history)
        on_epoch(epoch, logs)
    return history, start > 0


def unfreeze_top(model: Any, count: int) -> None:
    """Make the top ``count`` weighted layers of the base trainable; BatchNorm stays frozen."""
    import keras

    names = [layer.name for layer in model.layers]
    base = model.layers[names.index("preprocess") + 1:names.index("pool")]
    for layer in base:
        layer.trainable = False
    weighted = [layer for layer in base if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)]
    for layer in weighted[-count:]:
        layer.trainable = True


def epoch_maker(
    x: np.ndarray, y: np.ndarray, seed: int, *, augment: Optional[Callable[[int], np.ndarray]] = None
) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    """``epoch -> (x, y)`` shuffled by a generator seeded with ``(seed, epoch)``.

    With ``augment``, each epoch's inputs are ``augment(epoch)`` (same order as ``x``) instead of ``x``.
    """
    def make(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.random.default_rng([seed, epoch, 7]).permutation(y.shape[0])
        data = augment(epoch) if augment is not None else x
        return data[order], y[order]

    return make
