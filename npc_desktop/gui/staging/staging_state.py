"""Plain value objects of the staging workflow (no Qt): model state, a staged result, Grad-CAM display.

The :class:`~npc_desktop.gui.staging.staging_controller.StagingController` hands these to widgets; they
hold only plain Python objects and NumPy arrays, so they may cross threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Optional, Sequence

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.rois import RectRoi
from npc_desktop.core.dicom import Volume
from npc_desktop.core.models.manifest import UNTRAINED_LABEL
from npc_desktop.core.models.results import StagingResult
from npc_desktop.core.staging.record import roi_revision

RoiSignature = str
"""The ROI revision (:func:`~npc_desktop.core.staging.record.roi_revision`): a SHA-256 of what staging
depends on for each ROI (id, image, box and kind); it is stored with the result in the annotation file."""


def roi_signature(rois: Sequence[RectRoi]) -> RoiSignature:
    """The parts of ``rois`` a staging result depends on; equal signatures mean the result still holds."""
    return roi_revision(rois)


def device_text(device: str, *, short: bool = False) -> str:
    """``"CPU: 2 threads, oneDNN on"`` -> ``"CPU (2 threads, oneDNN on)"``, or ``"CPU (2 threads)"`` if ``short``."""
    kind, sep, detail = device.partition(":")
    detail = detail.split(",")[0] if short else detail
    return f"{kind.strip()} ({detail.strip()})" if sep and detail.strip() else device


@dataclass(frozen=True)
class EngineInfo:
    """What the loaded staging engine is, read once on the worker thread.

    Attributes
    ----------
    name, version, sha256
        The bundle (the demo's "hash" says how its random weights were made).
    untrained
        Random weights: every output says :data:`UNTRAINED_LABEL`.
    device
        Where it runs, e.g. ``"CPU: 2 threads, oneDNN on"``.
    member_names, class_names
        The members and the classes they vote for.
    manifest
        The bundle manifest (member architectures, validation metrics) for reports.
    """

    name: str
    version: str
    sha256: str
    untrained: bool
    device: str
    member_names: tuple[str, ...]
    class_names: tuple[str, ...]
    manifest: Any = None

    @classmethod
    def from_engine(cls, engine: Any) -> "EngineInfo":
        """Read the description of a :class:`~npc_desktop.core.staging.engine.StagingEngine`."""
        manifest = engine.bundle.manifest
        return cls(
            name=manifest.name, version=manifest.version, sha256=str(engine.bundle.sha256),
            untrained=bool(engine.untrained_demo), device=str(engine.device),
            member_names=tuple(engine.member_names), class_names=tuple(engine.class_names), manifest=manifest,
        )

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of a bundle's SHA-256 (the demo's description as it is)."""
        return self.sha256[:12] if len(self.sha256) == 64 else self.sha256

    @property
    def title(self) -> str:
        """``"untrained demo"`` or ``"name version (hash)"``."""
        return "untrained demo" if self.untrained else f"{self.name} {self.version} ({self.short_hash})"


class ModelPhase(str, Enum):
    """Where the staging models are."""

    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class ModelStatus:
    """The state of the staging models, for the status bar and the Models menu.

    Attributes
    ----------
    phase
        Loading, ready, failed or not started.
    bundle
        The bundle folder, or None for the untrained demo.
    done, total
        Loading progress (members built, or files verified and loaded).
    info
        The loaded engine (when ready).
    message
        Why loading failed.
    """

    phase: ModelPhase = ModelPhase.IDLE
    bundle: Optional[str] = None
    done: int = 0
    total: int = 0
    info: Optional[EngineInfo] = None
    message: str = ""

    @property
    def untrained(self) -> bool:
        """Whether the models are (or will be) the untrained demo."""
        return self.bundle is None if self.info is None else self.info.untrained

    @property
    def text(self) -> str:
        """One line for the status bar."""
        if self.phase is ModelPhase.LOADING:
            count = f" {self.done}/{self.total}" if self.total > 0 else ""
            what = "untrained demo" if self.bundle is None else "bundle"
            return f"Models: loading {what}{count}…"
        if self.phase is ModelPhase.READY and self.info is not None:
            device = device_text(self.info.device, short=True)
            if self.info.untrained:
                return f"Models: {UNTRAINED_LABEL} · {device}"
            return f"Models: {self.info.title} on {device}"
        if self.phase is ModelPhase.FAILED:
            return "Models: not loaded (see Models menu)"
        return "Models: not loaded yet"

    @property
    def tooltip(self) -> str:
        """Details for the status bar's tooltip."""
        source = "the untrained demo members (random weights)" if self.bundle is None else self.bundle
        lines = [f"Staging models: {source}"]
        if self.info is not None:
            lines.append(f"{self.info.name} {self.info.version}, SHA-256 {self.info.sha256}")
            lines.append(f"Members: {', '.join(self.info.member_names)}; classes {', '.join(self.info.class_names)}")
            lines.append(f"Device: {self.info.device}")
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class StagedResult:
    """A staging result with what it was computed from.

    Attributes
    ----------
    result
        The ensemble's output.
    annotations
        A copy of the study's annotations when staging was asked for (for reports).
    volumes
        The series the patches were cropped from, by SeriesInstanceUID.
    signature
        :func:`roi_signature` of the study's ROIs at that moment (the result is stale when it changes).
    engine
        The engine that produced it.
    roi_ids
        The ROIs staged when only some were asked for.
    """

    result: StagingResult
    annotations: AnnotationSet
    volumes: dict[str, Volume]
    signature: RoiSignature
    engine: Optional[EngineInfo] = None
    roi_ids: Optional[tuple[str, ...]] = None
    """The ROIs staged when only some were asked for (None: all of the study's ROIs)."""
    stored_at: Optional[datetime] = None
    """When a result read back from the study's annotation file was computed (None: computed in
    this session). Such a result has no Grad-CAM maps and no images."""

    @property
    def partial(self) -> bool:
        """True when only some of the study's ROIs were staged: not a patient-level result."""
        return self.roi_ids is not None and len(self.roi_ids) < len(self.annotations.rois)

    @property
    def study_uid(self) -> str:
        """The StudyInstanceUID of the staged ROIs."""
        return self.annotations.study_instance_uid


@dataclass(frozen=True)
class CamSettings:
    """How the Grad-CAM overlay is shown.

    Attributes
    ----------
    visible
        Overlay on or off.
    member
        A member's map, or None for the ensemble mean.
    opacity
        0 (invisible) to 1 (opaque).
    """

    visible: bool = True
    member: Optional[str] = None
    opacity: float = 0.45

    def __post_init__(self) -> None:
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"CamSettings.opacity must be in [0, 1], got {self.opacity}")


@dataclass
class StagingRequest:
    """One "Stage" click while its series load and the models get ready (GUI thread only)."""

    annotations: AnnotationSet
    roi_ids: Optional[tuple[str, ...]]
    signature: RoiSignature
    volumes: dict[str, Volume] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    patches: int = 0
