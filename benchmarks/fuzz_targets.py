"""The child side of the ingestion fuzz harness: run one mutant through the workstation's code paths.

The parent (``fuzz_ingest.py``) writes one JSON job per line to the child's stdin; the child answers
one JSON line per job: ``{"id": ..., "outcome": "loaded" | "typed" | "untyped", "detail": ...}``.
A crash or a hang is what the parent sees when no answer comes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any, Callable

PROPAGATE = (KeyboardInterrupt, SystemExit)


class ContractBroken(Exception):
    """The code under test returned, but broke a promise (half-loaded file, unverified weights)."""


def _typed_errors() -> tuple[type[BaseException], ...]:
    from npc_desktop.core.annotation.patches import PatchError
    from npc_desktop.core.annotation.store_results import CorruptAnnotationFile, UnreadableAnnotationFile
    from npc_desktop.core.annotation.validation import AnnotationError
    from npc_desktop.core.dicom import DicomIngestError
    from npc_desktop.core.models.errors import BundleError

    # AnnotationError: the viewer shows it as 'Cannot draw a ROI here' (a corrupt UID cannot be annotated)
    return (DicomIngestError, PatchError, AnnotationError, BundleError, CorruptAnnotationFile, UnreadableAnnotationFile)


def run_dicom(job: dict[str, Any]) -> str:
    """Index, load, thumbnail and crop a patch from the mutated file, as the workstation does."""
    from npc_desktop.core.annotation.patches import crop_patch
    from npc_desktop.core.annotation.rois import RectRoi
    from npc_desktop.core.dicom import index_path, load_series
    from npc_desktop.gui.viewer.loading import thumbnail_job

    index = index_path(job["path"])
    series = index.default_series()
    volume = load_series(series)
    thumbnail_job(series, threading.Event())
    middle = volume.shape[0] // 2
    rows, columns = volume.shape[1:]
    slice_ref = volume.slices[middle]
    roi = RectRoi(
        study_instance_uid=volume.meta.study_instance_uid,
        series_instance_uid=volume.meta.series_instance_uid,
        sop_instance_uid=slice_ref.sop_instance_uid,
        row0=rows * 0.3, col0=columns * 0.3, row1=rows * 0.6, col1=columns * 0.6,
        frame_number=slice_ref.frame_number,
    )
    crop_patch(volume, roi)
    decoders = getattr(volume, "decoders", {})
    fallback = any(" after " in w and "decoded by " in w for w in volume.warnings)
    return f"{volume.shape} decoders={decoders} skipped={len(volume.skipped)}" + (" fallback" if fallback else "")


def run_autosave(job: dict[str, Any]) -> str:
    """Open a study whose autosave file is the mutant: it loads whole, or is moved aside with a message."""
    from npc_desktop.core.annotation.store import AnnotationStore

    raw = Path(job["path"]).read_bytes()
    with tempfile.TemporaryDirectory(prefix="fuzz-autosave-") as folder:
        store = AnnotationStore(folder)
        target = store.path_for(job["study"])
        target.write_bytes(raw)
        result = store.load(job["study"])
        if result.problems:
            aside = [p for p in Path(folder).iterdir() if ".corrupt-" in p.name]
            if not aside or aside[0].read_bytes() != raw:
                raise ContractBroken("the corrupt file was not moved aside intact")
            if target.exists() or not result.message or len(result.annotations):
                raise ContractBroken("a corrupt file was reported but something was still loaded or kept")
            raise TypedOutcome(result.message)
        data = json.loads(raw.decode("utf-8"))
        loaded = result.annotations.to_dict()
        for key in ("rois", "measurements"):
            if len(data.get(key, []) or []) != len(loaded.get(key, []) or []):
                raise ContractBroken(f"loaded half: {key} has {len(data.get(key) or [])} entries in the "
                                     f"file, {len(loaded.get(key) or [])} loaded")
        return f"{len(result.annotations)} ROI(s)"


def run_bundle(job: dict[str, Any]) -> str:
    """Load a bundle with one mutated file; mutated weights must never reach Keras."""
    from npc_desktop.core.models import bundle as bundle_module

    original = bundle_module._load_member
    mutated = job["mutated"]

    def guarded(path: Path, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == mutated and job["kind"] == "weights":
            raise ContractBroken(f"the mutated weights file {mutated} reached Keras")
        return original(path, *args, **kwargs)

    bundle_module._load_member = guarded
    try:
        loaded = bundle_module.load_bundle(job["path"])
    finally:
        bundle_module._load_member = original
    return f"{len(loaded.models)} member(s)"


class TypedOutcome(Exception):
    """A handled refusal that is not an exception to the user (a file moved aside with a message)."""


RUNNERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "dicom": run_dicom, "autosave": run_autosave, "manifest": run_bundle, "weights": run_bundle,
}


def run_job(job: dict[str, Any], typed: tuple[type[BaseException], ...]) -> dict[str, Any]:
    """Run one job and classify its outcome."""
    try:
        detail = RUNNERS[job["kind"]](job)
        return {"id": job["id"], "outcome": "loaded", "detail": detail}
    except PROPAGATE:
        raise
    except TypedOutcome as exc:
        return {"id": job["id"], "outcome": "typed", "detail": str(exc)[:500]}
    except ContractBroken as exc:
        return {"id": job["id"], "outcome": "untyped", "detail": f"contract broken: {exc}"}
    except typed as exc:
        return {"id": job["id"], "outcome": "typed", "detail": f"{type(exc).__name__}: {str(exc)[:500]}"}
    except BaseException:  # noqa: BLE001 - classifying every other exception is the point
        return {"id": job["id"], "outcome": "untyped", "detail": traceback.format_exc()[-3000:]}


def child_main() -> int:
    """Serve jobs from stdin until it closes; answers go to the original stdout only."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the code under test prints goes where stderr goes, not into the answers
    import warnings

    warnings.simplefilter("ignore")
    try:
        from npc_desktop.core.dicom import decode_pool
    except ImportError:  # an older checkout without the decode pool: fuzz it as it is
        decode_pool = None
    if decode_pool is not None:
        decode_pool.shared_pool().timeout_s = float(os.environ.get("FUZZ_DECODE_TIMEOUT_S", "20"))
    typed = _typed_errors()
    import npc_desktop.gui.viewer.loading  # noqa: F401 - imported before the first job's clock starts

    answers.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        answers.write(json.dumps(run_job(job, typed)) + "\n")
        for scratch in job.get("cleanup", []):
            shutil.rmtree(scratch, ignore_errors=True)
    return 0
