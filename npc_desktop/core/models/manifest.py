"""The model bundle manifest (``manifest.json``), its validation and the hash checks; no TensorFlow.

A bundle is a folder (DESIGN.md section 5)::

    my-bundle/
      manifest.json        this module's BundleManifest
      vgg16.keras          one Keras v3 file per member (name = member name)
      inception_v3.keras
      ...

Manifest fields (schema version 2)::

    format            "npc-desktop.model-bundle"
    schema_version    2 (1 is read and migrated: :func:`~.calibration.migrate_v1`)
    name, version     free text identifying the bundle ("npc-stage-t2", "2024.1")
    description       free text
    created           ISO 8601 UTC time the bundle was written
    untrained_demo    true for random weights: every output is marked "UNTRAINED DEMO - not a prediction"
    class_names       ["III", "IVa"] or whatever the training data's classes were
    patch             {"margin": ContextMargin.to_dict(), "preprocessing": PatchPreprocessing.to_dict()}
                      the patch pipeline the members were trained on (null: the app's defaults)
    voting            {"method": "soft", "patient_aggregation": "mean"}
    members[]         name, architecture, input_size [rows, cols], channels ("grey3": grey repeated
                      to 3 channels, float32 0..255), preprocess (caffe/tf/torch/scale, applied inside
                      the model), cam_layer, weights_file, sha256, size_bytes, vote_weight, metrics {},
                      temperature (softmax(logits / T); 1: uncalibrated)
    calibration       temperatures' fit, vote-weight method and reason, patient threshold, validation
                      patients (:mod:`.calibration`)
    provenance        training_data {}, split {}, metrics {}, date, software {} (+ any other keys)

:func:`read_manifest` validates strictly and raises :class:`~.errors.ManifestError` naming the field;
:func:`verify_files` checks each weights file's size and SHA-256 and raises
:class:`~.errors.BundleIntegrityError` naming the file. :func:`manifest_sha256` (of the manifest
file's bytes) identifies a bundle: it covers every member's hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from npc_desktop.core.models.calibration import check_calibration, migrate_v1, uncalibrated
from npc_desktop.core.models.errors import BundleIntegrityError, ManifestError
from npc_desktop.core.models.provenance import default_provenance, software_versions  # noqa: F401 (their old home)
from npc_desktop.core.models.specs import PREPROCESS_MODES, get_spec, normalise_input_size

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "MANIFEST_NAME",
    "UNTRAINED_LABEL",
    "PATIENT_AGGREGATIONS",
    "MemberEntry",
    "BundleManifest",
    "read_manifest",
    "verify_files",
    "file_sha256",
    "manifest_sha256",
]

FORMAT = "npc-desktop.model-bundle"
SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
MANIFEST_NAME = "manifest.json"
UNTRAINED_LABEL = "UNTRAINED DEMO - not a prediction"
"""The mark on every output of an ``untrained_demo`` bundle."""
PATIENT_AGGREGATIONS: tuple[str, ...] = ("mean", "median", "vote")
"""How patch results combine into a patient result (see :mod:`.voting`)."""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_PROVENANCE_KEYS = ("training_data", "split", "metrics", "date", "software")


def _fail(field_name: str, problem: str, path: Optional[Path]) -> ManifestError:
    return ManifestError(path, f"manifest field {field_name}: {problem}")


def _get(data: Mapping[str, Any], key: str, kind: Any, where: str, path: Optional[Path]) -> Any:
    if key not in data:
        raise _fail(f"{where}{key}", "missing", path)
    value = data[key]
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        name = getattr(kind, "__name__", str(kind))
        raise _fail(f"{where}{key}", f"must be {name}, got {type(value).__name__}", path)
    return value


@dataclass(frozen=True)
class MemberEntry:
    """One member of a bundle as the manifest describes it.

    Attributes
    ----------
    name
        Unique member name; also the weights file's stem.
    architecture
        Architecture name (:data:`~.specs.ARCHITECTURES`).
    input_size
        ``(rows, columns)`` of the model input.
    preprocess
        ``preprocess_input`` convention (applied inside the model).
    cam_layer
        Layer Grad-CAM reads.
    weights_file
        File name inside the bundle folder.
    sha256, size_bytes
        Of the weights file.
    vote_weight
        Weight in soft voting (1.0: the paper's plain mean).
    metrics
        This member's evaluation figures (free form).
    channels
        ``"grey3"``: the grey patch repeated to three channels.
    temperature
        Calibration temperature: the member's probabilities are ``softmax(logits / temperature)``.
    onnx
        Optional ``{"file", "sha256", "size_bytes"}`` of the member's ONNX graph (:mod:`.onnx_bundle`).
    """

    name: str
    architecture: str
    input_size: tuple[int, int]
    preprocess: str
    cam_layer: str
    weights_file: str
    sha256: str
    size_bytes: int
    vote_weight: float = 1.0
    metrics: dict[str, Any] = field(default_factory=dict)
    channels: str = "grey3"
    temperature: float = 1.0
    onnx: Optional[dict[str, Any]] = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return {
            "name": self.name,
            "architecture": self.architecture,
            "input_size": list(self.input_size),
            "channels": self.channels,
            "preprocess": self.preprocess,
            "cam_layer": self.cam_layer,
            "weights_file": self.weights_file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "vote_weight": self.vote_weight,
            "temperature": self.temperature,
            "metrics": dict(self.metrics),
            **({"onnx": dict(self.onnx)} if self.onnx else {}),
        }

    @classmethod
    def from_dict(cls, data: Any, index: int, path: Optional[Path] = None) -> "MemberEntry":
        """Validate and build one entry; ``index`` locates it in error messages."""
        where = f"members[{index}]."
        if not isinstance(data, Mapping):
            raise _fail(f"members[{index}]", "must be an object", path)
        name = _get(data, "name", str, where, path)
        if not _NAME_RE.match(name):
            raise _fail(f"{where}name", f"{name!r} must be letters, digits, '_', '.', '-'", path)
        architecture = _get(data, "architecture", str, where, path)
        try:
            spec = get_spec(architecture)
            size_value = _get(data, "input_size", list, where, path)
            input_size = normalise_input_size(architecture, size_value)
        except ManifestError:
            raise
        except Exception as exc:  # ArchitectureError
            raise _fail(f"{where}architecture/input_size", str(exc), path) from None
        preprocess = _get(data, "preprocess", str, where, path)
        if preprocess not in PREPROCESS_MODES or preprocess != spec.preprocess:
            raise _fail(f"{where}preprocess", f"{preprocess!r} is not {architecture}'s {spec.preprocess!r}", path)
        channels = _get(data, "channels", str, where, path)
        if channels != "grey3":
            raise _fail(f"{where}channels", f"{channels!r} is not supported (only 'grey3')", path)
        cam_layer = _get(data, "cam_layer", str, where, path)
        weights_file = _get(data, "weights_file", str, where, path)
        if Path(weights_file).name != weights_file or not weights_file.endswith(".keras") or weights_file.startswith("."):
            raise _fail(f"{where}weights_file", f"{weights_file!r} must be a .keras file name in the bundle folder", path)
        sha = _get(data, "sha256", str, where, path)
        if not _SHA_RE.match(sha):
            raise _fail(f"{where}sha256", "must be 64 lowercase hex digits", path)
        size = _get(data, "size_bytes", int, where, path)
        if size <= 0:
            raise _fail(f"{where}size_bytes", "must be positive", path)
        weight = float(_get(data, "vote_weight", float, where, path))
        if weight < 0:
            raise _fail(f"{where}vote_weight", "must be >= 0", path)
        metrics = _get(data, "metrics", dict, where, path)
        temperature = float(_get(data, "temperature", float, where, path))
        if temperature <= 0:
            raise _fail(f"{where}temperature", "must be > 0", path)
        onnx = _onnx_entry(data["onnx"], f"{where}onnx.", path) if data.get("onnx") is not None else None
        return cls(name, architecture, input_size, preprocess, cam_layer, weights_file, sha, size, weight, metrics,
                   channels, temperature, onnx)


def _onnx_entry(data: Any, where: str, path: Optional[Path]) -> dict[str, Any]:
    """Validate a member's optional ``onnx`` object: an ``.onnx`` file name, its SHA-256 and size."""
    if not isinstance(data, Mapping):
        raise _fail(where.rstrip("."), "must be an object with file, sha256 and size_bytes", path)
    file, sha, size = (_get(data, key, kind, where, path) for key, kind in (("file", str), ("sha256", str),
                                                                               ("size_bytes", int)))
    if Path(file).name != file or not file.endswith(".onnx") or file.startswith("."):
        raise _fail(f"{where}file", f"{file!r} must be an .onnx file name in the bundle folder", path)
    if not _SHA_RE.match(sha) or size <= 0:
        raise _fail(f"{where}sha256", "must be 64 lowercase hex digits of a non-empty file", path)
    return {"file": file, "sha256": sha, "size_bytes": size}


@dataclass(frozen=True)
class BundleManifest:
    """A validated bundle manifest (see the module docstring for the fields)."""

    name: str
    version: str
    class_names: tuple[str, ...]
    members: tuple[MemberEntry, ...]
    untrained_demo: bool = False
    created: str = ""
    description: str = ""
    patch: Optional[dict[str, Any]] = None
    voting: dict[str, Any] = field(default_factory=lambda: {"method": "soft", "patient_aggregation": "mean"})
    provenance: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    calibration: dict[str, Any] = field(default_factory=uncalibrated)

    @property
    def member_names(self) -> tuple[str, ...]:
        """Member names in manifest order."""
        return tuple(m.name for m in self.members)

    @property
    def vote_weights(self) -> tuple[float, ...]:
        """Soft-voting weights in manifest order."""
        return tuple(m.vote_weight for m in self.members)

    def temperatures(self) -> tuple[float, ...]:
        """Calibration temperature per member in manifest order (1.0 when uncalibrated)."""
        return tuple(m.temperature for m in self.members)

    @property
    def ensemble_temperature(self) -> float:
        """The soft vote's temperature (:func:`~.voting.calibrated_vote`; 1.0 when uncalibrated)."""
        return float((self.calibration.get("ensemble_temperature") or {}).get("value", 1.0))

    @property
    def patient_threshold(self) -> dict[str, Any]:
        """The patient-level decision rule (:func:`~.calibration.patient_decision`)."""
        return dict(self.calibration.get("patient_threshold") or {"method": "argmax"})

    @property
    def patient_aggregation(self) -> str:
        """How patch results combine into the patient result."""
        return str(self.voting.get("patient_aggregation", "mean"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form written as ``manifest.json``."""
        return {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "created": self.created,
            "untrained_demo": self.untrained_demo,
            "class_names": list(self.class_names),
            "patch": self.patch,
            "voting": dict(self.voting),
            "members": [m.to_dict() for m in self.members],
            "calibration": self.calibration,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: Any, path: Optional[Path] = None) -> "BundleManifest":
        """Validate a parsed manifest strictly.

        Raises
        ------
        ManifestError
            Naming the first invalid field.
        """
        if not isinstance(data, Mapping):
            raise ManifestError(path, "the manifest is not a JSON object")
        if data.get("format") != FORMAT:
            raise _fail("format", f"must be {FORMAT!r}: this is not an NPC Desktop model bundle", path)
        version = _get(data, "schema_version", int, "", path)
        if version not in READABLE_SCHEMA_VERSIONS:
            raise _fail("schema_version", f"{version} is not supported (this app reads 1 and {SCHEMA_VERSION}); "
                        "update the app", path)
        if version == 1:
            data = migrate_v1(data)
        classes = _get(data, "class_names", list, "", path)
        if len(classes) < 2 or not all(isinstance(c, str) and c for c in classes) or len(set(classes)) != len(classes):
            raise _fail("class_names", "must be at least two unique non-empty strings", path)
        members_data = _get(data, "members", list, "", path)
        if not members_data:
            raise _fail("members", "must list at least one member", path)
        members = tuple(MemberEntry.from_dict(m, i, path) for i, m in enumerate(members_data))
        names = [m.name for m in members]
        files = [m.weights_file for m in members]
        if len(set(names)) != len(names) or len(set(files)) != len(files):
            raise _fail("members", "member names and weights files must be unique", path)
        if sum(m.vote_weight for m in members) <= 0:
            raise _fail("members[].vote_weight", "at least one weight must be positive", path)
        voting = _get(data, "voting", dict, "", path)
        if voting.get("method") != "soft":
            raise _fail("voting.method", "only 'soft' voting is supported", path)
        if voting.get("patient_aggregation", "mean") not in PATIENT_AGGREGATIONS:
            raise _fail("voting.patient_aggregation", f"must be one of {', '.join(PATIENT_AGGREGATIONS)}", path)
        patch = data.get("patch")
        if patch is not None and not isinstance(patch, dict):
            raise _fail("patch", "must be an object or null", path)
        provenance = _get(data, "provenance", dict, "", path)
        for key in _PROVENANCE_KEYS:
            if key not in provenance:
                raise _fail(f"provenance.{key}", "missing", path)
        calibration = _get(data, "calibration", dict, "", path)
        problem = check_calibration(calibration, classes)
        if problem:
            raise _fail("calibration", problem, path)
        return cls(
            name=_get(data, "name", str, "", path),
            version=_get(data, "version", str, "", path),
            class_names=tuple(classes),
            members=members,
            untrained_demo=_get(data, "untrained_demo", bool, "", path),
            created=_get(data, "created", str, "", path),
            description=_get(data, "description", str, "", path),
            patch=patch,
            voting=dict(voting),
            provenance=dict(provenance),
            schema_version=SCHEMA_VERSION,
            calibration=dict(calibration),
        )


def file_sha256(path: Path, *, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _manifest_path(bundle_dir: Path) -> Path:
    bundle_dir = Path(bundle_dir)
    if not bundle_dir.exists():
        raise ManifestError(bundle_dir, "no such bundle folder")
    if not bundle_dir.is_dir():
        raise ManifestError(bundle_dir, "a model bundle is a folder holding manifest.json")
    path = bundle_dir / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(path, "missing: this folder is not a model bundle")
    return path


def read_manifest(bundle_dir: Path) -> BundleManifest:
    """Read and validate ``bundle_dir/manifest.json`` (no weights are touched).

    Raises
    ------
    ManifestError
        Missing folder or manifest, not JSON, or an invalid field (named).
    """
    path = _manifest_path(bundle_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, a 5,000-digit number, deep nesting
        raise ManifestError(path, f"not valid JSON ({exc.__class__.__name__}: {str(exc)[:120]})") from None
    except OSError as exc:
        raise ManifestError(path, f"cannot be read ({exc.strerror or exc})") from None
    return BundleManifest.from_dict(data, path)


def manifest_sha256(bundle_dir: Path) -> str:
    """SHA-256 of the manifest file: the bundle's identity (it covers each member's hash)."""
    return file_sha256(_manifest_path(bundle_dir))


def verify_files(
    bundle_dir: Path,
    manifest: BundleManifest,
    *,
    on_file: Optional[Callable[[int, int], None]] = None,
) -> None:
    """Check every member's weights file against the manifest: present, same size, same SHA-256.

    Parameters
    ----------
    bundle_dir
        The bundle folder.
    manifest
        Its manifest.
    on_file
        Called as ``on_file(done, total)`` after each file.

    Raises
    ------
    BundleIntegrityError
        Naming the first missing, truncated, enlarged or altered file.
    """
    total = len(manifest.members)
    for index, member in enumerate(manifest.members):
        path = Path(bundle_dir) / member.weights_file
        if not path.is_file():
            raise BundleIntegrityError(path, f"weights file of member {member.name!r} is missing")
        size = path.stat().st_size
        if size != member.size_bytes:
            state = "truncated" if size < member.size_bytes else "longer than recorded"
            raise BundleIntegrityError(
                path, f"{state}: {size} bytes, the manifest says {member.size_bytes}",
                "the bundle is damaged; copy it again",
            )
        if file_sha256(path) != member.sha256:
            raise BundleIntegrityError(
                path, "SHA-256 does not match the manifest (the file was altered or the manifest edited)",
                "refusing to load it; copy the bundle again from a trusted source",
            )
        if on_file is not None:
            on_file(index + 1, total)


def check_member_names(names: Sequence[str]) -> None:
    """Raise ValueError unless every name is a valid, unique member name."""
    for name in names:
        if not _NAME_RE.match(name):
            raise ValueError(f"member name {name!r} must be letters, digits, '_', '.', '-' (max 64)")
    if len(set(names)) != len(names):
        raise ValueError(f"member names must be unique, got {list(names)}")
