"""How the staging controller makes its engines: the untrained demo members, or a bundle folder
(checked by its manifest before the worker loads it), on the chosen runtime (ONNX Runtime or
TensorFlow, :data:`~npc_desktop.core.staging.runtimes.RUNTIMES`). Tests inject tiny models here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from npc_desktop.gui.staging.inference_worker import (
    EngineFactory,
    bundle_engine_factory,
    demo_engine_factory,
)

BATCH_SIZE = 1
"""Patches per fused call in the GUI: progress is then reported after every patch."""


@dataclass(frozen=True)
class EngineFactories:
    """How the controller makes engines: the untrained demo, and a bundle folder (tests pass tiny ones).

    ``demo`` / ``bundle`` left as None build the real engines on ``runtime`` (``"onnx"`` or ``"tf"``).
    """

    demo: Optional[Callable[[], EngineFactory]] = None
    bundle: Optional[Callable[[str], EngineFactory]] = None
    runtime: str = "onnx"

    def demo_factory(self) -> EngineFactory:
        """The factory of the untrained demo engine."""
        if self.demo is not None:
            return self.demo()
        return demo_engine_factory(batch_size=BATCH_SIZE, runtime=self.runtime, build_onnx_in_background=True)

    def bundle_factory(self, path: str) -> EngineFactory:
        """The factory of a bundle folder's engine."""
        if self.bundle is not None:
            return self.bundle(path)
        return bundle_engine_factory(path, batch_size=BATCH_SIZE, runtime=self.runtime)


def check_bundle_folder(path: str) -> Optional[str]:
    """Why ``path`` is not a model bundle (a one-line message naming it), or None.

    Only the manifest is read (fast, on the GUI thread); hashes and models are checked when the
    worker loads the bundle.
    """
    from npc_desktop.core.models.errors import ModelError
    from npc_desktop.core.models.manifest import read_manifest

    folder = Path(path)
    if not folder.is_dir():
        return f"{folder}: no such folder"
    try:
        read_manifest(folder)
    except (ModelError, OSError, ValueError) as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else f"{folder}: not a model bundle"
    return None
