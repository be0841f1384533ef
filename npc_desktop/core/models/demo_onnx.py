"""The untrained demo bundle with ONNX graphs, made once and kept in the user's cache folder.

``ensure_demo_onnx_bundle()`` returns ``<cache>/demo-onnx-<key>``, where ``<cache>`` is
``$NPC_DESKTOP_CACHE_DIR`` or ``platformdirs.user_cache_dir("npc-desktop")`` and ``<key>`` is a
SHA-256 prefix of everything that determines the bundle (member architectures and input sizes,
seed, class names, this app's version and the graph format). A complete copy (its manifest valid,
every ONNX graph present with its recorded size; the hashes are checked as the graphs load) is
reused without TensorFlow; otherwise the members are built
with random weights, written as a bundle, exported to ONNX (each checked against Keras) and
renamed into place, so a half-written copy is never used. Only that first build needs TensorFlow.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from npc_desktop.core.models.errors import BundleError
from npc_desktop.core.models.specs import DEFAULT_CLASS_NAMES, ENSEMBLE_ARCHITECTURES, normalise_input_size
from npc_desktop.core.progress import CancelToken, ProgressCallback

__all__ = ["CACHE_ENV", "DEMO_ONNX_FORMAT", "demo_cache_dir", "demo_onnx_key", "ensure_demo_onnx_bundle"]

CACHE_ENV = "NPC_DESKTOP_CACHE_DIR"
"""Environment variable that overrides the cache folder (tests, portable installs)."""

DEMO_ONNX_FORMAT = 2
"""Bumped whenever the member graphs' layout changes, so older cached copies are rebuilt."""


def demo_cache_dir() -> Path:
    """``$NPC_DESKTOP_CACHE_DIR``, else the platform's user cache folder for npc-desktop."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("npc-desktop"))


def demo_onnx_key(
    input_sizes: Optional[Mapping[str, Any]] = None,
    *, architectures: Sequence[str] = ENSEMBLE_ARCHITECTURES, seed: int = 0,
    class_names: Sequence[str] = DEFAULT_CLASS_NAMES,
) -> str:
    """The 16-hex-digit key of a demo bundle (see the module docstring)."""
    from npc_desktop import __version__

    sizes = dict(input_sizes or {})
    recipe = {
        "format": DEMO_ONNX_FORMAT, "app": __version__, "seed": int(seed), "classes": list(class_names),
        "members": [[a, list(normalise_input_size(a, sizes.get(a)))] for a in architectures],
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def _complete(folder: Path) -> bool:
    """Whether the manifest is valid and every graph it names is there with its recorded size.

    The SHA-256 of each graph is checked when ONNX Runtime loads it (:class:`~.onnx_ensemble.OnnxEnsemble`),
    so a launch hashes the graphs once.
    """
    from npc_desktop.core.models.manifest import read_manifest
    from npc_desktop.core.models.onnx_bundle import require_onnx_entries

    try:
        manifest = require_onnx_entries(folder, read_manifest(folder))
    except BundleError:
        return False
    return all((folder / m.onnx["file"]).is_file()  # type: ignore[index]
               and (folder / m.onnx["file"]).stat().st_size == m.onnx["size_bytes"]  # type: ignore[index]
               for m in manifest.members)


def _build(folder: Path, sizes: Mapping[str, Any], architectures: Sequence[str], seed: int,
           class_names: Sequence[str], progress: Optional[ProgressCallback], cancel: Optional[CancelToken]) -> None:
    from npc_desktop.core.models.bundle import demo_bundle
    from npc_desktop.core.models.bundle_writer import write_bundle
    from npc_desktop.core.models.onnx_bundle import export_models_onnx
    from npc_desktop.core.models.runtime import configure_tensorflow

    configure_tensorflow()
    total = 2 * len(architectures)

    def built(done: int, _total: int) -> None:
        if progress is not None:
            progress(done, total)

    def exported(done: int, _total: int) -> None:
        if progress is not None:
            progress(len(architectures) + done, total)

    demo = demo_bundle(input_sizes=sizes, architectures=architectures, class_names=class_names, seed=seed,
                       progress=built, cancel=cancel)
    manifest = write_bundle(
        folder, demo.models, name=demo.manifest.name, version=demo.manifest.version,
        description=demo.manifest.description, untrained_demo=True,
        provenance={"training_data": {"note": "none: random weights"}},
    )
    export_models_onnx(folder, manifest, demo.models, progress=exported, cancel=cancel)


def ensure_demo_onnx_bundle(
    *,
    input_sizes: Optional[Mapping[str, Any]] = None,
    architectures: Sequence[str] = ENSEMBLE_ARCHITECTURES,
    seed: int = 0,
    class_names: Sequence[str] = DEFAULT_CLASS_NAMES,
    cache_dir: Optional[Path] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> Path:
    """The cached demo bundle folder with ONNX graphs, built the first time (see the module doc).

    Parameters
    ----------
    input_sizes
        Per architecture ``(rows, cols)`` or a square side; native sizes by default.
    architectures, seed, class_names
        As :func:`~.bundle.demo_bundle`.
    cache_dir
        The cache folder; :func:`demo_cache_dir` when None.
    progress, cancel
        Only used when the bundle has to be built: one step per member built and per member exported.

    Returns
    -------
    pathlib.Path
        The bundle folder.
    """
    sizes = dict(input_sizes or {})
    key = demo_onnx_key(sizes, architectures=architectures, seed=seed, class_names=class_names)
    parent = Path(cache_dir) if cache_dir is not None else demo_cache_dir()
    target = parent / f"demo-onnx-{key}"
    if _complete(target):
        return target
    if importlib.util.find_spec("tensorflow") is None:
        raise BundleError(target, "the untrained demo models are made once with TensorFlow, which this "
                          "inference-only build does not have", "run the full build once, or open a model bundle "
                          "with ONNX graphs")
    parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".demo-onnx-{key}.tmp-", dir=parent))
    try:
        _build(scratch / "bundle", sizes, architectures, seed, class_names, progress, cancel)
        if _complete(target):  # another process finished first: keep its copy, which may be in use
            return target
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(scratch / "bundle", target)
        except OSError:
            if not _complete(target):  # another process may have put a complete copy in place
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
