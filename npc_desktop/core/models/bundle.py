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

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from npc_desktop.core.progress import CancelToken, ProgressCallback, check_cancelled
from npc_desktop.core.models.errors import BundleError, BundleMismatchError
from npc_desktop.core.models.manifest import (
    MANIFEST_NAME,
    UNTRAINED_LABEL,
    BundleManifest,
    MemberEntry,
    check_member_names,
    default_provenance,
    file_sha256,
    manifest_sha256,
    read_manifest,
    verify_files,
)
from npc_desktop.core.models.specs import DEFAULT_CLASS_NAMES, ENSEMBLE_ARCHITECTURES

__all__ = [
    "ModelBundle", "write_bundle", "check_replaceable", "load_bundle", "verify_bundle", "demo_bundle",
    "UNTRAINED_LABEL",
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


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _entries_from_models(
    models: Sequence[Any], names: Sequence[str], vote_weights: Sequence[float],
    member_metrics: Mapping[str, Mapping[str, Any]],
) -> tuple[list[MemberEntry], tuple[str, ...]]:
    from npc_desktop.core.models.architectures import member_info

    entries: list[MemberEntry] = []
    classes: Optional[tuple[str, ...]] = None
    for model, name, weight in zip(models, names, vote_weights):
        info = member_info(model)
        if classes is None:
            classes = info.class_names
        elif info.class_names != classes:
            raise ValueError(f"member {name!r} has classes {info.class_names}, others {classes}")
        entries.append(MemberEntry(
            name=name, architecture=info.architecture, input_size=info.input_size,
            preprocess=info.preprocess, cam_layer=info.cam_layer, weights_file=f"{name}.keras",
            sha256="0" * 64, size_bytes=1, vote_weight=float(weight),
            metrics=dict(member_metrics.get(name, {})),
        ))
    assert classes is not None
    return entries, classes


def write_bundle(
    directory: Union[str, Path],
    models: Union[Sequence[Any], Mapping[str, Any]],
    *,
    name: str,
    version: str = "1",
    description: str = "",
    untrained_demo: bool = False,
    provenance: Optional[Mapping[str, Any]] = None,
    patch: Optional[Mapping[str, Any]] = None,
    vote_weights: Optional[Sequence[float]] = None,
    member_metrics: Optional[Mapping[str, Mapping[str, Any]]] = None,
    patient_aggregation: str = "mean",
    overwrite: bool = False,
    protected: Sequence[Union[str, Path]] = (),
) -> BundleManifest:
    """Write members as a bundle folder.

    Parameters
    ----------
    directory
        The bundle folder to create. It must not exist unless ``overwrite`` (then it is replaced).
    models
        Members from :func:`~.architectures.build_member`; a mapping gives member names, a sequence
        uses each model's ``name``. All must have the same class names.
    name, version, description
        Identify the bundle.
    untrained_demo
        Mark the bundle as random weights.
    provenance
        ``training_data``, ``split``, ``metrics`` and any other keys; ``date`` defaults to now and
        ``software`` gets the Python/NumPy/TensorFlow/Keras/NPC Desktop versions.
    patch
        The patch pipeline used for training: ``{"margin": ContextMargin.to_dict(),
        "preprocessing": PatchPreprocessing.to_dict()}``; None means the app's defaults.
    vote_weights
        Soft-voting weights per member (default all 1).
    member_metrics
        Per-member evaluation figures by member name.
    patient_aggregation
        ``"mean"`` (default), ``"median"`` or ``"vote"``.
    overwrite
        Replace an existing folder, if it is empty or holds an earlier bundle and nothing else
        (see :func:`check_replaceable`).
    protected
        Paths the replaced folder must not be or hold (the training data, say).

    Returns
    -------
    BundleManifest
        What was written (as :func:`load_bundle` will read it).

    Raises
    ------
    ValueError
        For inconsistent members or arguments.
    FileExistsError
        If ``directory`` exists and ``overwrite`` is False.
    BundleError
        If ``overwrite`` is set but the existing folder must not be replaced.
    """
    directory = Path(directory)
    if directory.exists() or directory.is_symlink():
        if not overwrite:
            raise FileExistsError(f"{directory}: already exists (choose another folder or overwrite)")
        check_replaceable(directory, protected=protected)
    items = list(models.items()) if isinstance(models, Mapping) else [(m.name, m) for m in models]
    if not items:
        raise ValueError("a bundle needs at least one member")
    names = [str(n) for n, _ in items]
    check_member_names(names)
    weights = list(vote_weights) if vote_weights is not None else [1.0] * len(items)
    if len(weights) != len(items) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"vote_weights must be one non-negative weight per member, not all 0: {weights}")
    entries, classes = _entries_from_models([m for _, m in items], names, weights, member_metrics or {})
    created = _now()
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        for index, (entry, (_, model)) in enumerate(zip(entries, items)):
            target = staging / entry.weights_file
            model.save(str(target))
            entries[index] = replace(entry, sha256=file_sha256(target), size_bytes=target.stat().st_size)
        manifest = BundleManifest(
            name=name, version=version, class_names=classes, members=tuple(entries),
            untrained_demo=untrained_demo, created=created, description=description,
            patch=dict(patch) if patch is not None else None,
            voting={"method": "soft", "patient_aggregation": patient_aggregation},
            provenance=default_provenance(provenance, created),
        )
        BundleManifest.from_dict(manifest.to_dict())  # what we write must read back
        import json

        (staging / MANIFEST_NAME).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
        _replace_folder(staging, directory, protected)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _replace_folder(staging: Path, directory: Path, protected: Sequence[Union[str, Path]]) -> None:
    if not (directory.exists() or directory.is_symlink()):
        os.replace(staging, directory)
        return
    check_replaceable(directory, protected=protected)  # again: it may have changed while we wrote
    # Move the old bundle aside first: the new one is in place before anything is deleted.
    aside = Path(tempfile.mkdtemp(prefix=f".{directory.name}-old-", dir=directory.parent))
    os.replace(directory, aside / "bundle")
    try:
        os.replace(staging, directory)
    except BaseException:
        os.replace(aside / "bundle", directory)
        aside.rmdir()
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _bundle_files(directory: Path) -> Optional[set[str]]:
    """Names of the files an earlier bundle in ``directory`` consists of, or None if it is no bundle."""
    import json

    try:
        data = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
        members = data["members"]
        files = {str(member["weights_file"]) for member in members}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(data.get("class_names"), list):
        return None
    if any("/" in f or "\\" in f or f in ("", ".", "..") for f in files):
        return None
    return files | {MANIFEST_NAME}


def check_replaceable(directory: Union[str, Path], *, protected: Sequence[Union[str, Path]] = ()) -> None:
    """Refuse to replace ``directory`` unless it is an empty folder or an earlier bundle and nothing else.

    A bundle folder here is ``manifest.json`` plus the weights files its members name; anything
    else in the folder (DICOM, a dataset, notes) means it is not only a bundle, and replacing it
    would delete that. Whatever the content, the current directory, the home directory, folders
    holding either of them and folders that are or hold a ``protected`` path are never replaced.

    Parameters
    ----------
    directory
        The folder that would be replaced.
    protected
        Paths the folder must not be or hold (a training dataset, a cache, a report folder...).

    Raises
    ------
    BundleError
        Naming the folder and why it is kept.
    """
    folder = Path(directory)
    hint = "choose a new folder for the bundle"
    if folder.is_symlink():
        raise BundleError(folder, "is a symbolic link; it is not replaced", hint)
    if not folder.is_dir():
        raise BundleError(folder, "exists and is not a folder; it is not replaced", hint)
    resolved = folder.resolve()
    for place, what in ((Path.cwd(), "the current directory"), (Path.home(), "the home directory"),
                        *((Path(p), str(p)) for p in protected)):
        place = place.resolve()
        if place == resolved:
            raise BundleError(folder, f"is {what}; it is never replaced", hint)
        if place.is_relative_to(resolved):
            raise BundleError(folder, f"holds {what}; it is never replaced", hint)
    entries = sorted(folder.iterdir())
    if not entries:
        return
    allowed = _bundle_files(folder)
    if allowed is None:
        raise BundleError(
            folder, f"is not empty and is not a model bundle (no readable {MANIFEST_NAME}); only an empty "
            "folder or an earlier bundle is replaced", hint,
        )
    foreign = [e for e in entries if e.name not in allowed or e.is_symlink() or not e.is_file()]
    if foreign:
        raise BundleError(
            folder, f"holds {foreign[0].name}, which is not part of the bundle; a bundle folder with other "
            "files is not replaced", "move those files out or " + hint,
        )


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
    created = _now()
    manifest = BundleManifest(
        name="untrained-demo", version=f"seed-{seed}", class_names=tuple(class_names), members=tuple(entries),
        untrained_demo=True, created=created,
        description="Random weights for trying the workflow. " + UNTRAINED_LABEL,
        provenance=default_provenance({"training_data": {"note": "none: random weights"}}, created),
    )
    return ModelBundle(manifest, models, None, f"random weights, seed {seed}")
