"""ONNX-related command-line pieces: ``bundle export-onnx``, the ``--runtime`` option, the full-build check.

``npc-desktop bundle export-onnx DIR``
    Add one ONNX graph per member to an existing bundle (each checked against Keras within 1e-4;
    refused otherwise) and record their SHA-256 in the manifest.
``--runtime onnx|tf`` (``stage``, ``report``)
    ONNX Runtime (default; TensorFlow is then never imported) or the TensorFlow fused graph.

In the inference-only build (no TensorFlow installed), ``train`` and ``bundle export-onnx`` stop
with one line saying they need the full build.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

__all__ = ["add_runtime_option", "require_full_build", "cmd_export_onnx"]


def add_runtime_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--runtime onnx|tf`` (default onnx) to a staging command."""
    parser.add_argument(
        "--runtime", choices=("onnx", "tf"), default="onnx",
        help="onnx: ONNX Runtime (default; CUDA/DirectML when available, else CPU); tf: the TensorFlow fused graph",
    )


def tensorflow_installed() -> bool:
    """Whether this installation has TensorFlow (the full build) without importing it."""
    return importlib.util.find_spec("tensorflow") is not None


def require_full_build(command: str) -> None:
    """Stop with one line if ``command`` needs TensorFlow and this is the inference-only build."""
    from npc_desktop.cli.main import UsageError

    if not tensorflow_installed():
        raise UsageError(f"{command} needs the full build with TensorFlow; this is the inference-only build")


def cmd_export_onnx(args: argparse.Namespace) -> int:
    """``npc-desktop bundle export-onnx DIR``."""
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.models.errors import ModelError

    require_full_build("bundle export-onnx")
    from npc_desktop.core.models.onnx_bundle import add_onnx_graphs
    from npc_desktop.core.models.runtime import configure_tensorflow

    configure_tensorflow()
    try:
        manifest = add_onnx_graphs(Path(args.dir))
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    for member in manifest.members:
        onnx = member.onnx or {}
        print(f"{member.name}: {onnx.get('file')} {onnx.get('size_bytes')} bytes sha256 {str(onnx.get('sha256'))[:16]}")
    print(f"{args.dir}: {len(manifest.members)} ONNX graph(s) written, each equal to Keras within 1e-4")
    return 0
