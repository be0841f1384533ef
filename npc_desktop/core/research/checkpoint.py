"""Per-epoch checkpoints of a training phase, so an interrupted training resumes where it stopped.

A phase (a member's head on cached features, its fine-tuning, or the Basic CNN) keeps in its
folder the model weights, the optimizer's variables (Adam's moments and step), the epochs done
and the history so far, plus a hash of the configuration: a checkpoint made with other settings
is ignored rather than mixed in. Files are written to temporary names and renamed, the state last,
so a crash leaves either the previous or the new checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional

import numpy as np

__all__ = ["PhaseCheckpoint"]


class PhaseCheckpoint:
    """Checkpoints of one training phase in ``folder``.

    Parameters
    ----------
    folder
        The phase's folder (created on first save).
    config_hash
        Identifies the settings; a checkpoint with another hash is not resumed.
    """

    def __init__(self, folder: Path, config_hash: str) -> None:
        self.folder = Path(folder)
        self.config_hash = config_hash

    @property
    def _state(self) -> Path:
        return self.folder / "state.json"

    def state(self) -> Optional[dict[str, Any]]:
        """The saved state ``{"epochs_done", "history", ...}``, or None (absent or other settings)."""
        try:
            state = json.loads(self._state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if state.get("config_hash") != self.config_hash:
            return None
        return state

    def save(self, model: Any, optimizer: Any, epochs_done: int, history: dict[str, list[float]]) -> None:
        """Save weights, optimizer variables and progress after a completed epoch."""
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = self.folder / "model.weights.h5"
        temporary = self.folder / "model.tmp.weights.h5"
        model.save_weights(str(temporary))
        os.replace(temporary, weights)
        values = {f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
        with open(self.folder / "optimizer.tmp.npz", "wb") as stream:
            np.savez(stream, **values)
        os.replace(self.folder / "optimizer.tmp.npz", self.folder / "optimizer.npz")
        state = {"config_hash": self.config_hash, "epochs_done": epochs_done, "history": history}
        (self.folder / "state.tmp.json").write_text(json.dumps(state), encoding="utf-8")
        os.replace(self.folder / "state.tmp.json", self._state)

    def restore(self, model: Any, optimizer: Any) -> Optional[dict[str, Any]]:
        """Load the checkpoint into ``model`` and ``optimizer`` (built on the model's variables).

        Returns
        -------
        dict or None
            The state, or None when there is nothing to resume (then nothing was changed).
        """
        state = self.state()
        if state is None or not (self.folder / "model.weights.h5").is_file():
            return None
        try:
            saved = np.load(self.folder / "optimizer.npz")
            optimizer.build(model.trainable_variables)
            variables = optimizer.variables
            values = [saved[f"v{index}"] for index in range(len(saved.files))]
            if len(values) != len(variables) or any(
                tuple(v.shape) != tuple(var.shape) for v, var in zip(values, variables)
            ):
                return None  # another optimizer or model: the phase starts again
            model.load_weights(str(self.folder / "model.weights.h5"))
        except (OSError, ValueError, KeyError):
            return None  # a damaged checkpoint: the phase starts again
        for variable, value in zip(variables, values):
            variable.assign(value)
        return state

    def clear(self) -> None:
        """Remove the phase's checkpoint (after the phase finished and its result was saved)."""
        shutil.rmtree(self.folder, ignore_errors=True)
