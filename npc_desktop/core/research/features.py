"""Cached frozen-base features: each patch and augmented copy goes through the base once.

With the base frozen, a member's head sees only the pooled base features, so the features of
every training patch and of each of its augmented copies are computed once and kept on disk;
the head then trains on the cache in a fraction of the time a ``model.fit`` through the base
takes (``benchmarks/bench_training.py``).

Cache layout::

    <cache dir>/<namespace>/<key[:2]>/<key>.npy     float32 (copies, feature_dim)

``namespace`` hashes the architecture, input size, a fingerprint of the base's weights, the
augmentation settings and seed; ``key`` is the SHA-256 of the patch's model input bytes. Row
``c`` of a file is copy ``c`` (0 = unaugmented); asking for more copies later computes only the
missing rows. Files are written atomically, so an interrupted run leaves a usable cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from npc_desktop.core.progress import CancelToken, check_cancelled
from npc_desktop.core.research.augment import Augmentation, augment_inputs

__all__ = ["FeatureCache", "cache_for", "input_keys", "weights_fingerprint", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``<user cache dir>/npc-desktop/features``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("npc-desktop", appauthor=False)) / "features"


def input_keys(inputs: np.ndarray) -> list[str]:
    """SHA-256 of each (grey) model input's bytes (float32, C order): the content part of the cache key."""
    return [hashlib.sha256(np.ascontiguousarray(x, dtype=np.float32).tobytes()).hexdigest() for x in inputs]


def weights_fingerprint(model: Any) -> str:
    """SHA-256 over a model's weight arrays: features of differently initialised bases never mix."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight)
        digest.update(str(value.shape).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class FeatureCache:
    """Features of one frozen base under one augmentation setting.

    Parameters
    ----------
    root
        Cache folder (see :func:`default_cache_dir`).
    architecture, input_size, fingerprint
        Which base: name, ``(rows, cols)`` and :func:`weights_fingerprint` of its weights.
    augmentation, seed
        Augmented copies ``c > 0`` depend on them.
    """

    root: Path
    architecture: str
    input_size: tuple[int, int]
    fingerprint: str
    augmentation: Augmentation
    seed: int

    @property
    def namespace(self) -> str:
        """Hash of everything but the patch content."""
        spec = json.dumps({
            "architecture": self.architecture, "input_size": list(self.input_size),
            "weights": self.fingerprint, "augmentation": self.augmentation.to_dict(), "seed": self.seed,
            "version": 1,
        }, sort_keys=True)
        return hashlib.sha256(spec.encode()).hexdigest()[:32]

    @property
    def folder(self) -> Path:
        """Where this namespace's files live."""
        return Path(self.root) / self.namespace

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def _read(self, key: str) -> Optional[np.ndarray]:
        path = self._path(key)
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # missing or damaged: recomputed
        return array if array.ndim == 2 else None

    def _write(self, key: str, array: np.ndarray) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def missing(self, keys: Sequence[str], copies: int) -> int:
        """How many (patch, copy) features are not cached yet."""
        count = 0
        for key in keys:
            cached = self._read(key)
            count += copies - (0 if cached is None else min(copies, cached.shape[0]))
        return count

    def features(
        self,
        inputs: np.ndarray,
        keys: Sequence[str],
        copies: int,
        extract: Callable[[np.ndarray], np.ndarray],
        *,
        batch_size: int = 32,
        on_batch: Optional[Callable[[int], None]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> np.ndarray:
        """Features of every input and copy, computing and caching what is missing.

        Parameters
        ----------
        inputs
            ``(n, rows, cols)`` float32 grey model inputs (unaugmented).
        keys
            :func:`input_keys` of ``inputs``.
        copies
            Copies per input: copy 0 is the input itself, copies 1.. are augmented.
        extract
            ``(b, rows, cols, 3) -> (b, feature_dim)``: the frozen base up to its pooled output
            (called with the grey value in all three channels).
        batch_size
            Inputs per ``extract`` call.
        on_batch
            Called with the number of (patch, copy) features after each computed batch.
        cancel
            Checked between batches; what was computed so far stays cached.

        Returns
        -------
        numpy.ndarray
            ``(copies, n, feature_dim)`` float32.
        """
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        cached: list[Optional[np.ndarray]] = [self._read(key) for key in keys]
        result: list[list[Optional[np.ndarray]]] = [[None] * len(keys) for _ in range(copies)]
        for index, array in enumerate(cached):
            for copy in range(min(copies, 0 if array is None else array.shape[0])):
                result[copy][index] = array[copy]  # type: ignore[index]
        for copy in range(copies):
            todo = [i for i in range(len(keys)) if result[copy][i] is None]
            for start in range(0, len(todo), batch_size):
                check_cancelled(cancel)
                chunk = todo[start:start + batch_size]
                batch = augment_inputs(inputs[chunk], [keys[i] for i in chunk],
                                       augmentation=self.augmentation, seed=self.seed, copy=copy)
                values = np.asarray(extract(np.repeat(batch[..., None], 3, axis=-1)), dtype=np.float32)
                for row, index in enumerate(chunk):
                    result[copy][index] = values[row]
                for index in chunk:
                    self._store(index, keys, result, copy)
                if on_batch is not None:
                    on_batch(len(chunk))
        return np.stack([np.stack(row) for row in result]).astype(np.float32)  # type: ignore[arg-type]

    def _store(self, index: int, keys: Sequence[str], result: list[list[Optional[np.ndarray]]], copy: int) -> None:
        # a file holds copies 0..c contiguously; write once this patch's prefix is complete
        rows = []
        for c in range(copy + 1):
            if result[c][index] is None:
                return
            rows.append(result[c][index])
        self._write(keys[index], np.stack(rows))  # type: ignore[arg-type]


def cache_for(
    root: Union[str, Path], architecture: str, input_size: tuple[int, int], base: Any,
    augmentation: Augmentation, seed: int,
) -> FeatureCache:
    """A :class:`FeatureCache` for a feature model, fingerprinting its weights."""
    return FeatureCache(Path(root), architecture, tuple(input_size), weights_fingerprint(base), augmentation, seed)  # type: ignore[arg-type]
