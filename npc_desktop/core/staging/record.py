"""The last staging result of a study, as stored in the study's annotation file.

A :class:`StagingRecord` keeps what the results panel shows (each patch's and the patient's
probabilities, votes and agreement; the bundle's name, version and SHA-256; where it ran) and
:func:`roi_revision` of the ROIs it was computed on, so that a reopened study shows its last
result and can tell exactly whether the ROIs changed since. Grad-CAM maps and pixels are not
stored. Like the rest of the annotation file it is PHI-free: UIDs, geometry, numbers, names of
models.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional, Protocol

import numpy as np

from npc_desktop.core.models.results import PatchStaging, PatientStaging, StagingResult

__all__ = ["RECORD_VERSION", "StagingRecordError", "StagingRecord", "roi_revision"]

RECORD_VERSION: int = 1
"""Version of the serialised form written by :meth:`StagingRecord.to_dict`."""


class StagingRecordError(ValueError):
    """A stored staging result is invalid; ``field`` names where (``"patches[0].box"``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class _RoiLike(Protocol):
    id: str
    series_instance_uid: str
    sop_instance_uid: str
    frame_number: Optional[int]
    box: tuple[float, float, float, float]
    kind: Any


def roi_revision(rois: Iterable[_RoiLike]) -> str:
    """A SHA-256 (hex) of everything staging depends on in ``rois``: id, image, box and kind.

    It changes with every add, delete, move, resize or kind change, and is the same for the same
    ROIs in any order and after a save and reload (floats survive JSON exactly), so comparing
    revisions tells exactly whether a result still describes the ROIs.
    """
    rows = sorted(
        [roi.id, roi.series_instance_uid, roi.sop_instance_uid, roi.frame_number,
         [float(v) for v in roi.box], getattr(roi.kind, "value", roi.kind)]
        for roi in rois
    )
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True, eq=False)
class StagingRecord:
    """A staging result with the ROI revision and time it was computed at.

    Attributes
    ----------
    result
        The result; after :meth:`from_dict` it has no Grad-CAM maps.
    roi_revision
        :func:`roi_revision` of the study's ROIs when it was computed.
    staged_at
        When it was computed (timezone-aware).
    roi_ids
        The ROIs staged when only some were asked for; None for all of them.
    """

    result: StagingResult
    roi_revision: str
    staged_at: datetime
    roi_ids: Optional[tuple[str, ...]] = None

    def __post_init__(self) -> None:
        _hex64("roi_revision", self.roi_revision)
        if self.staged_at.tzinfo is None:
            raise StagingRecordError("staged_at", "must be timezone-aware")

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (no maps, no pixels, no patient data)."""
        r = self.result
        return {
            "record_version": RECORD_VERSION,
            "staged_at": self.staged_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
            "roi_revision": self.roi_revision,
            "roi_ids": None if self.roi_ids is None else list(self.roi_ids),
            "bundle": {"name": r.bundle_name, "version": r.bundle_version, "sha256": r.bundle_hash},
            "untrained_demo": r.untrained_demo,
            "device": r.device,
            "elapsed_s": float(r.elapsed_s),
            "class_names": list(r.class_names),
            "member_names": list(r.member_names),
            "vote_weights": [float(w) for w in r.vote_weights],
            "patches": [_patch_dict(p) for p in r.patches],
            "patient": None if r.patient is None else _patient_dict(r.patient),
        }

    @classmethod
    def from_dict(cls, data: Any) -> "StagingRecord":
        """Rebuild a record from :meth:`to_dict` output, checking every field.

        Raises
        ------
        StagingRecordError
            Naming the first missing, unknown or invalid field (an unknown ``record_version`` too).
        """
        d = _fields(data, _RECORD_KEYS, "")
        version = d["record_version"]
        if type(version) is not int or version != RECORD_VERSION:
            raise StagingRecordError("record_version", f"version {version!r} is not supported "
                                                       f"(this version of NPC Desktop reads {RECORD_VERSION})")
        bundle = _fields(d["bundle"], frozenset(("name", "version", "sha256")), "bundle")
        classes = _names("class_names", d["class_names"])
        members = _names("member_names", d["member_names"])
        weights = _numbers("vote_weights", d["vote_weights"], len(members))
        patches = _list("patches", d["patches"])
        roi_ids = d["roi_ids"]
        result = StagingResult(
            patches=tuple(_patch(p, f"patches[{i}]", len(members), len(classes)) for i, p in enumerate(patches)),
            patient=None if d["patient"] is None else _patient(d["patient"], len(members), len(classes)),
            class_names=classes, member_names=members, vote_weights=tuple(weights),
            bundle_name=_text("bundle.name", bundle["name"]), bundle_version=_text("bundle.version", bundle["version"]),
            bundle_hash=_text("bundle.sha256", bundle["sha256"]),
            untrained_demo=_flag("untrained_demo", d["untrained_demo"]), device=_text("device", d["device"]),
            elapsed_s=_number("elapsed_s", d["elapsed_s"]),
        )
        return cls(result=result, roi_revision=_hex64("roi_revision", d["roi_revision"]),
                   staged_at=_time("staged_at", d["staged_at"]),
                   roi_ids=None if roi_ids is None else _names("roi_ids", roi_ids, allow_empty=False))


_RECORD_KEYS = frozenset(("record_version", "staged_at", "roi_revision", "roi_ids", "bundle", "untrained_demo",
                          "device", "elapsed_s", "class_names", "member_names", "vote_weights", "patches", "patient"))
_PATCH_KEYS = frozenset(("roi_id", "kind", "series_instance_uid", "sop_instance_uid", "slice_index", "box",
                         "member_probabilities", "probabilities", "predicted_index", "predicted", "member_votes",
                         "agreement", "cam_class"))
_PATIENT_KEYS = frozenset(("probabilities", "predicted_index", "predicted", "aggregation", "patch_count",
                           "member_probabilities", "member_votes", "agreement"))


def _patch_dict(p: PatchStaging) -> dict[str, Any]:
    return {
        "roi_id": p.roi_id, "kind": p.kind, "series_instance_uid": p.series_instance_uid,
        "sop_instance_uid": p.sop_instance_uid, "slice_index": int(p.slice_index), "box": [int(v) for v in p.box],
        "member_probabilities": np.asarray(p.member_probabilities, dtype=float).tolist(),
        "probabilities": np.asarray(p.probabilities, dtype=float).tolist(),
        "predicted_index": int(p.predicted_index), "predicted": p.predicted, "member_votes": list(p.member_votes),
        "agreement": float(p.agreement), "cam_class": p.cam_class,
    }


def _patient_dict(p: PatientStaging) -> dict[str, Any]:
    return {
        "probabilities": np.asarray(p.probabilities, dtype=float).tolist(), "predicted_index": int(p.predicted_index),
        "predicted": p.predicted, "aggregation": p.aggregation, "patch_count": int(p.patch_count),
        "member_probabilities": np.asarray(p.member_probabilities, dtype=float).tolist(),
        "member_votes": list(p.member_votes), "agreement": float(p.agreement),
    }


def _patch(data: Any, where: str, members: int, classes: int) -> PatchStaging:
    d = _fields(data, _PATCH_KEYS, where)
    box = [_integer(f"{where}.box", v) for v in _list(f"{where}.box", d["box"], 4)]
    return PatchStaging(
        roi_id=_text(f"{where}.roi_id", d["roi_id"]), kind=_text(f"{where}.kind", d["kind"]),
        series_instance_uid=_text(f"{where}.series_instance_uid", d["series_instance_uid"]),
        sop_instance_uid=_text(f"{where}.sop_instance_uid", d["sop_instance_uid"]),
        slice_index=_integer(f"{where}.slice_index", d["slice_index"]), box=(box[0], box[1], box[2], box[3]),
        member_probabilities=_matrix(f"{where}.member_probabilities", d["member_probabilities"], members, classes),
        probabilities=np.asarray(_numbers(f"{where}.probabilities", d["probabilities"], classes)),
        predicted_index=_index(f"{where}.predicted_index", d["predicted_index"], classes),
        predicted=_text(f"{where}.predicted", d["predicted"]),
        member_votes=_names(f"{where}.member_votes", d["member_votes"], count=members),
        agreement=_number(f"{where}.agreement", d["agreement"]), cam_class=_text(f"{where}.cam_class", d["cam_class"]),
    )


def _patient(data: Any, members: int, classes: int) -> PatientStaging:
    d = _fields(data, _PATIENT_KEYS, "patient")
    return PatientStaging(
        probabilities=np.asarray(_numbers("patient.probabilities", d["probabilities"], classes)),
        predicted_index=_index("patient.predicted_index", d["predicted_index"], classes),
        predicted=_text("patient.predicted", d["predicted"]), aggregation=_text("patient.aggregation", d["aggregation"]),
        patch_count=_integer("patient.patch_count", d["patch_count"]),
        member_probabilities=_matrix("patient.member_probabilities", d["member_probabilities"], members, classes),
        member_votes=_names("patient.member_votes", d["member_votes"], count=members),
        agreement=_number("patient.agreement", d["agreement"]),
    )


# -- field checks ------------------------------------------------------------------------------------


def _fields(data: Any, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise StagingRecordError(where or "last_staging", f"must be an object, got {type(data).__name__}")
    prefix = f"{where}." if where else ""
    missing = sorted(keys - data.keys())
    if missing:
        raise StagingRecordError(prefix + missing[0], "is missing")
    unknown = sorted(str(k) for k in data.keys() - keys)
    if unknown:
        raise StagingRecordError(prefix + unknown[0], "is not a known field")
    return data


def _list(where: str, value: Any, length: Optional[int] = None) -> list[Any]:
    if not isinstance(value, list):
        raise StagingRecordError(where, f"must be a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise StagingRecordError(where, f"must have {length} entries, has {len(value)}")
    return value


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise StagingRecordError(where, f"must be a string, got {type(value).__name__}")
    return value


def _names(where: str, value: Any, *, count: Optional[int] = None, allow_empty: bool = True) -> tuple[str, ...]:
    items = _list(where, value, count)
    if not items and not allow_empty:
        raise StagingRecordError(where, "must not be empty")
    return tuple(_text(f"{where}[{i}]", v) for i, v in enumerate(items))


def _flag(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise StagingRecordError(where, f"must be true or false, got {value!r}")
    return value


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StagingRecordError(where, f"must be a finite number, got {value!r}")
    return float(value)


def _integer(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StagingRecordError(where, f"must be an integer, got {value!r}")
    return value


def _index(where: str, value: Any, count: int) -> int:
    index = _integer(where, value)
    if not 0 <= index < count:
        raise StagingRecordError(where, f"must be between 0 and {count - 1}, got {index}")
    return index


def _numbers(where: str, value: Any, count: int) -> list[float]:
    return [_number(f"{where}[{i}]", v) for i, v in enumerate(_list(where, value, count))]


def _matrix(where: str, value: Any, rows: int, columns: int) -> np.ndarray:
    return np.asarray([_numbers(f"{where}[{i}]", row, columns) for i, row in enumerate(_list(where, value, rows))],
                      dtype=float).reshape(rows, columns)


def _hex64(where: str, value: Any) -> str:
    text = _text(where, value)
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise StagingRecordError(where, "must be a SHA-256 in 64 lower-case hex digits")
    return text


def _time(where: str, value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(_text(where, value))
    except ValueError:
        raise StagingRecordError(where, f"{value!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise StagingRecordError(where, "must carry a time zone")
    return parsed.astimezone(timezone.utc)
