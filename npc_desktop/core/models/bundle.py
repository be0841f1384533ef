"""Writing and loading model bundles (DESIGN.md section 5; manifest format in :mod:`.manifest`).

Public API
----------
``write_bundle(directory, models, *, name, version="1", ...) -> BundleManifest``
    Save members built by :func:`~.architectures.build_member` (trained or not) as a bundle folder:
    one ``<member>.keras`` file each plus ``manifest.json`` with their SHA-256. Architecture, input
    size, preprocessing, Grad-CAM layer and class names are read from the models themselves. The
    folder is written next to its destination and renamed into place, so a bundle is never half
    written.
``load_bundle(path, *, progress=None, cancel=None) -> ModelBundle``
    Validate the manifest, verify every weights file's size and SHA-256 *before* deserialising
    any of them, load each with ``keras.saving.load_model(..., safe_mode=True, compile=False)``,
    and check that each model's architecture, input size and class names match its manifest entry.
    Every refusal is a :class:`~.errors.BundleError` subclass whose message names the file.
``verify_bundle(path, *, deep=True) -> BundleManifest``
    The same checks without keeping the models (``deep=False``: manifest and hashes only, no TF).
``demo_bundle(*, input_sizes=None, seed=0, class_names=...) -> ModelBundle``
    The untrained demo: the five members with random weights, in memory, ``untrained_demo`` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from npc_desktop.core.models.bundle_writer import check_replaceable, utc_timestamp, write_bundle
from npc_desktop.core.models.errors import BundleError, BundleMismatchError
from npc_desktop.core.models.manifest import (
    UNTRAINED_LABEL,
    BundleManifest,
    MemberEntry,
    default_provenance,
    manifest_sha256,
    read_manifest,
    verify_files,
)
from npc_desktop.core.models.specs import DEFAULT_CLASS_NAMES, ENSEMBLE_ARCHITECTURES
from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled

__all__ = [
    "ModelBundle",
    "load_bundle",
    "verify_bundle",
    "demo_bundle",
    "write_bundle",  # written by bundle_writer; kept here, the bundle API's documented home
    "check_replaceable",
]


@dataclass
class ModelBundle:
    """A loaded bundle: its manifest and one Keras model per member, in manifest order.

    Attributes
    ----------
    manifest
        The validated manifest.
    models
        The members (``keras.Model``), in ``manifest.members`` order.
    path
        The bundle folder, or None for an in-memory (demo) bundle.
    sha256
        SHA-256 of ``manifest.json`` (which covers every weights file's hash); for an in-memory
        bundle, a description of how it was made.
    """

    manifest: BundleManifest
    models: list[Any]
    path: Optional[Path] = None
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def untrained_demo(self) -> bool:
        """Whether the members have random weights (outputs are marked :data:`UNTRAINED_LABEL`)."""
        return self.manifest.untrained_demo

    @property
    def class_names(self) -> tuple[str, ...]:
        """The output classes."""
        return self.manifest.class_names

    def describe(self) -> str:
        """``name version (hash prefix)`` for status bars and reports."""
        ident = self.sha256[:12] if self.path is not None else self.sha256
        text = f"{self.manifest.name} {self.manifest.version} ({ident})"
        return f"{text} - {UNTRAINED_LABEL}" if self.untrained_demo else text


def _load_member(path: Path, entry: MemberEntry, class_names: tuple[str, ...]) -> Any:
    import keras

    from npc_desktop.core.models.architectures import custom_objects, member_info

    try:
        model = keras.saving.load_model(str(path), custom_objects=custom_objects(), compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types; the first line is the useful part
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise BundleError(path, f"cannot be loaded as a Keras model in safe mode ({text})") from None
    try:
        info = member_info(model)
    except Exception as exc:
        raise BundleMismatchError(path, str(exc)) from None
    problems = []
    if info.architecture != entry.architecture:
        problems.append(f"architecture {info.architecture}, manifest {entry.architecture}")
    if info.input_size != entry.input_size:
        problems.append(f"input size {list(info.input_size)}, manifest {list(entry.input_size)}")
    if info.class_names != class_names:
        problems.append(f"classes {list(info.class_names)}, manifest {list(class_names)}")
    if info.cam_layer != entry.cam_layer:
        problems.append(f"CAM layer {info.cam_layer}, manifest {entry.cam_layer}")
    if problems:
        raise BundleMismatchError(path, "the model does not match its manifest entry: " + "; ".join(problems))
    return model


def load_bundle(
    path: Union[str, Path],
    *,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> ModelBundle:
    """Load a bundle folder, refusing anything that does not match its manifest.

    Parameters
    ----------
    path
        The bundle folder.
    progress
        ``progress(done, total)``: the hash checks count one step per member, loading another.
    cancel
        Cancel token checked between files.

    Returns
    -------
    ModelBundle

    Raises
    ------
    ManifestError, BundleIntegrityError, BundleMismatchError, BundleError
        Naming the file.
    OperationCancelled
        If ``cancel`` was set.
    """
    root = Path(path)
    manifest = read_manifest(root)
    digest = manifest_sha256(root)
    total = 2 * len(manifest.members)

    def hashed(done: int, _total: int) -> None:
        check_cancelled(cancel)
        if progress is not None:
            progress(done, total)

    verify_files(root, manifest, on_file=hashed)
    models = []
    for index, entry in enumerate(manifest.members):
        check_cancelled(cancel)
        models.append(_load_member(root / entry.weights_file, entry, manifest.class_names))
        if progress is not None:
            progress(len(manifest.members) + index + 1, total)
    return ModelBundle(manifest, models, root, digest)


def verify_bundle(path: Union[str, Path], *, deep: bool = True) -> BundleManifest:
    """Check a bundle without keeping it: manifest and hashes, and with ``deep`` each model too.

    Raises
    ------
    BundleError
        As :func:`load_bundle`.
    """
    if deep:
        return load_bundle(path).manifest
    manifest = read_manifest(Path(path))
    verify_files(Path(path), manifest)
    return manifest


def demo_bundle(
    *,
    input_sizes: Optional[Mapping[str, Any]] = None,
    architectures: Sequence[str] = ENSEMBLE_ARCHITECTURES,
    class_names: Sequence[str] = DEFAULT_CLASS_NAMES,
    seed: int = 0,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
) -> ModelBundle:
    """The untrained demo bundle: the members with random weights, in memory.

    Parameters
    ----------
    input_sizes
        Per architecture ``(rows, cols)`` or a square side; native sizes by default (tests pass
        small ones).
    architectures
        Which members (the paper's five by default).
    class_names
        Output classes.
    seed
        Random initialisation seed (reproducible outputs).
    progress, cancel
        One step per member built.

    Returns
    -------
    ModelBundle
        ``untrained_demo`` is set: every output is marked :data:`UNTRAINED_LABEL`.
    """
    from npc_desktop.core.models.architectures import build_member, member_info

    sizes = dict(input_sizes or {})
    models = []
    for index, arch in enumerate(architectures):
        check_cancelled(cancel)
        models.append(build_member(arch, input_size=sizes.get(arch), class_names=class_names, seed=seed + index))
        if progress is not None:
            progress(index + 1, len(architectures))
    entries = []
    for model in models:
        info = member_info(model)
        entries.append(MemberEntry(
            name=model.name, architecture=info.architecture, input_size=info.input_size,
            preprocess=info.preprocess, cam_layer=info.cam_layer, weights_file=f"{model.name}.keras",
            sha256="0" * 64, size_bytes=1,
        ))
    created = utc_timestamp()
    manifest = BundleManifest(
        name="untrained-demo", version=f"seed-{seed}", class_names=tuple(class_names), members=tuple(entries),
        untrained_demo=True, created=created,
        description="Random weights for trying the workflow. " + UNTRAINED_LABEL,
        provenance=default_provenance({"training_data": {"note": "none: random weights"}}, created),
    )
    return ModelBundle(manifest, models, None, f"random weights, seed {seed}")
