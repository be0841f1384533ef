"""The staging engine the ``--bundle DIR | --demo-bundle`` and ``--runtime`` options ask for.

Shared by ``stage``, ``report`` and ``cohort stage``. The hidden ``--demo-input-size N`` shrinks the
demo members to side N (never below an architecture's minimum), which tests and benchmarks use.
"""

from __future__ import annotations

import argparse
from typing import Any, Optional

__all__ = ["demo_input_sizes", "engine_from_args"]


def demo_input_sizes(side: Optional[int]) -> Optional[dict[str, int]]:
    """Per-member input sides for a demo of side ``side`` (None: the native sizes)."""
    if not side:
        return None
    from npc_desktop.core.models.specs import ENSEMBLE_ARCHITECTURES, get_spec

    return {a: max(int(side), get_spec(a).min_size) for a in ENSEMBLE_ARCHITECTURES}


def engine_from_args(args: argparse.Namespace, **options: Any) -> Any:
    """The :class:`~npc_desktop.core.staging.engine.StagingEngine` of ``args`` (``options`` go to it).

    At native sizes an empty ONNX demo cache does not hold up the first result: staging uses
    TensorFlow while the cache is filled in the background (see ``StagingEngine.demo``).
    """
    from npc_desktop.core.staging.engine import StagingEngine

    runtime = getattr(args, "runtime", "onnx")
    if args.bundle:
        return StagingEngine.load(args.bundle, runtime=runtime, **options)
    return StagingEngine.demo(input_sizes=demo_input_sizes(args.demo_input_size), runtime=runtime,
                              build_onnx_in_background=True, **options)
