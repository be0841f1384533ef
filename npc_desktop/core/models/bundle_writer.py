"""Writing a model bundle: members' weights with their hashes and the manifest, replacing an
earlier bundle folder only when it is one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from npc_desktop.core.models.calibration import uncalibrated
from npc_desktop.core.models.errors import BundleError
from npc_desktop.core.models.manifest import (
    MANIFEST_NAME,
    BundleManifest,
    MemberEntry,
    check_member_names,
    default_provenance,
    file_sha256,
)


def utc_timestamp() -> str:
    """Now in UTC to the second, ISO 8601: the manifest's ``created`` time."""
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
    temperatures: Optional[Sequence[float]] = None,
    calibration: Optional[Mapping[str, Any]] = None,
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
    temperatures
        Calibration temperature per member (default all 1: plain softmax).
    calibration
        The manifest's ``calibration`` object (:mod:`.calibration`); uncalibrated by default.
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
    scales = [float(t) for t in temperatures] if temperatures is not None else [1.0] * len(items)
    if len(scales) != len(items) or not all(t > 0 for t in scales):
        raise ValueError(f"temperatures must be one positive number per member: {scales}")
    entries = [replace(entry, temperature=t) for entry, t in zip(entries, scales)]
    created = utc_timestamp()
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
            calibration=dict(calibration) if calibration is not None else uncalibrated(),
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
        files |= {str(member["onnx"]["file"]) for member in members if member.get("onnx")}
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
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
