"""TensorFlow start-up: quiet logs, GPU memory growth, thread pools, and which device is used.

Call :func:`configure_tensorflow` once, before the first model is built (the inference worker,
the CLI and the benchmark do). Thread settings only take effect before TensorFlow's runtime has
started; later calls keep what is there and report it.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Optional

__all__ = ["DeviceInfo", "configure_tensorflow"]

_lock = threading.Lock()
_info: Optional["DeviceInfo"] = None


@dataclass(frozen=True)
class DeviceInfo:
    """Where the ensemble runs.

    Attributes
    ----------
    kind
        ``"GPU"`` or ``"CPU"``.
    name
        TensorFlow's device name (``/GPU:0``, ``/CPU:0``).
    description
        One line for a status bar (``"GPU: NVIDIA ..."`` or ``"CPU: 2 threads, oneDNN on"``).
    intra_op_threads, inter_op_threads
        TensorFlow's thread pools (0: TensorFlow's default).
    """

    kind: str
    name: str
    description: str
    intra_op_threads: int
    inter_op_threads: int


def configure_tensorflow(
    *, intra_op_threads: Optional[int] = None, inter_op_threads: Optional[int] = None
) -> DeviceInfo:
    """Import TensorFlow with quiet logs, turn on GPU memory growth, set threads; report the device.

    Parameters
    ----------
    intra_op_threads, inter_op_threads
        Thread pool sizes; None keeps TensorFlow's defaults (all cores). Ignored (and the
        current values reported) once TensorFlow's runtime is running.

    Returns
    -------
    DeviceInfo
    """
    global _info
    with _lock:
        if "tensorflow" not in sys.modules:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                pass  # already initialised: growth was set (or not) by the first caller
        try:
            if intra_op_threads is not None:
                tf.config.threading.set_intra_op_parallelism_threads(int(intra_op_threads))
            if inter_op_threads is not None:
                tf.config.threading.set_inter_op_parallelism_threads(int(inter_op_threads))
        except RuntimeError:
            pass
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0]) or {}
            label = details.get("device_name", gpus[0].name)
            more = f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else ""
            _info = DeviceInfo("GPU", "/GPU:0", f"GPU: {label}{more}", intra, inter)
        else:
            cores = os.cpu_count() or 1
            onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
            threads = intra or cores
            _info = DeviceInfo(
                "CPU", "/CPU:0",
                f"CPU: {threads} thread{'s' if threads != 1 else ''}, oneDNN {'on' if onednn else 'off'}",
                intra, inter,
            )
        return _info
