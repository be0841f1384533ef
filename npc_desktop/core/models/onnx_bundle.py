"""ONNX graphs in a bundle: adding them to an existing bundle and checking them before use.

``add_onnx_graphs(directory)`` loads the bundle's Keras members (verified as usual), exports each
to ``<member>.onnx`` (:func:`~.onnx_export.export_member_onnx`, refused unless ONNX Runtime
reproduces Keras within 1e-4) and rewrites ``manifest.json`` with each member's optional
``onnx`` object (file, SHA-256, size). The Keras files stay: they are the training format and
the TensorFlow runtime's input. ``verify_onnx_files`` checks the graphs' presence, sizes and
hashes without TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from npc_desktop.core.fileio import write_bytes_atomically
from npc_desktop.core.models.errors import BundleError, BundleIntegrityError
from npc_desktop.core.models.manifest import MANIFEST_NAME, BundleManifest, MemberEntry, file_sha256, read_manifest
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled

__all__ = ["NO_ONNX_HINT", "add_onnx_graphs", "export_models_onnx", "verify_onnx_files", "verify_onnx_member",
           "require_onnx_entries", "has_onnx_graphs"]

NO_ONNX_HINT = "add them with: npc-desktop bundle export-onnx DIR, or stage with --runtime tf"


def has_onnx_graphs(manifest: BundleManifest) -> bool:
    """Whether every member names an ONNX graph."""
    return all(m.onnx for m in manifest.members)


def export_models_onnx(
    directory: Union[str, Path],
    manifest: BundleManifest,
    models: Union[Sequence[Any], Mapping[str, Any]],
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> BundleManifest:
    """Export ``models`` (in manifest order, or by member name) into the bundle folder; rewrite its manifest.

    Returns
    -------
    BundleManifest
        The manifest with each member's ``onnx`` entry.
    """
    from npc_desktop.core.models.onnx_export import export_member_onnx

    root = Path(directory)
    if isinstance(models, Mapping):
        models = [models[m.name] for m in manifest.members]
    members = []
    for index, (entry, model) in enumerate(zip(manifest.members, models)):
        check_cancelled(cancel)
        target = root / f"{entry.name}.onnx"
        export_member_onnx(model, target, cam_layer=entry.cam_layer, seed=index)
        onnx = {"file": target.name, "sha256": file_sha256(target), "size_bytes": target.stat().st_size}
        members.append(dataclasses.replace(entry, onnx=onnx))
        if progress is not None:
            progress(index + 1, len(manifest.members))
    # The rewrite is a schema-2 manifest: it no longer says it was read from schema 1.
    calibration = {k: v for k, v in manifest.calibration.items() if k != "migrated_from"}
    updated = dataclasses.replace(manifest, members=tuple(members), calibration=calibration)
    text = json.dumps(updated.to_dict(), indent=2) + "\n"
    write_bytes_atomically(root / MANIFEST_NAME, text.encode("utf-8"), sync_dir=True)
    return updated


def add_onnx_graphs(
    directory: Union[str, Path],
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> BundleManifest:
    """Load a bundle's Keras members and add one checked ONNX graph per member (see the module doc).

    Raises
    ------
    BundleError
        The bundle cannot be loaded, or a member's export fails or does not reproduce Keras
        (:class:`~.onnx_export.OnnxExportError`); the manifest is then left as it was.
    """
    from npc_desktop.core.models.bundle import load_bundle

    bundle = load_bundle(directory, cancel=cancel)
    return export_models_onnx(directory, bundle.manifest, bundle.models, progress=progress, cancel=cancel)


def verify_onnx_files(
    directory: Union[str, Path], manifest: Optional[BundleManifest] = None,
    *, on_file: Optional[Callable[[int, int], None]] = None,
) -> BundleManifest:
    """Check that every member has an ONNX graph with the manifest's size and SHA-256.

    Raises
    ------
    BundleError
        A member without a graph (the message says how to add them).
    BundleIntegrityError
        A missing, truncated or altered graph file, named.
    """
    root = Path(directory)
    manifest = require_onnx_entries(root, manifest or read_manifest(root))
    total = len(manifest.members)
    for index, member in enumerate(manifest.members):
        verify_onnx_member(root, member)
        if on_file is not None:
            on_file(index + 1, total)
    return manifest


def require_onnx_entries(directory: Path, manifest: BundleManifest) -> BundleManifest:
    """``manifest`` if every member names an ONNX graph, else BundleError saying how to add them."""
    for member in manifest.members:
        if not member.onnx:
            raise BundleError(Path(directory) / MANIFEST_NAME, f"member {member.name!r} has no ONNX graph",
                              NO_ONNX_HINT)
    return manifest


def verify_onnx_member(directory: Path, member: MemberEntry) -> Path:
    """The member's ONNX graph file, checked for presence, size and SHA-256 (BundleIntegrityError otherwise)."""
    path = Path(directory) / member.onnx["file"]  # type: ignore[index]
    if not path.is_file():
        raise BundleIntegrityError(path, f"ONNX graph of member {member.name!r} is missing", NO_ONNX_HINT)
    if path.stat().st_size != member.onnx["size_bytes"] or file_sha256(path) != member.onnx["sha256"]:  # type: ignore[index]
        raise BundleIntegrityError(
            path, "size or SHA-256 does not match the manifest (the file was altered or is damaged)",
            "refusing to load it; copy the bundle again or run npc-desktop bundle export-onnx DIR",
        )
    return path
