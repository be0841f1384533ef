"""The demo study the app opens: written once into the user's cache folder and checked by hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

import platformdirs

from npc_desktop.core.demo.dicom_writer import write_demo_study
from npc_desktop.core.demo.study import DEMO_SEED, GENERATOR_VERSION, MANIFEST_NAME, SERIES_KEYS, DemoLesion, DemoStudy


def _load_complete(root: Path, seed: int) -> Optional[DemoStudy]:
    """Return the study in ``root`` if it is complete and intact for ``seed``, else None."""
    try:
        doc = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        if doc.get("generator_version") != GENERATOR_VERSION or doc.get("seed") != seed:
            return None
        hashes: dict[str, str] = doc["sha256"]
        series_files = {k: [root / rel for rel in v] for k, v in doc["series_files"].items()}
        listed = {f"{k}/{p.name}" for k, v in series_files.items() for p in v}
        if set(series_files) != set(SERIES_KEYS) or listed != set(hashes):
            return None
        for rel, digest in hashes.items():
            if hashlib.sha256((root / rel).read_bytes()).hexdigest() != digest:
                return None
        lesions = tuple(
            DemoLesion(kind=d["kind"], series_key=d["series_key"], slice_index=int(d["slice_index"]),
                       sop_instance_uid=d["sop_instance_uid"],
                       bbox=tuple(int(v) for v in d["bbox"]),  # type: ignore[arg-type]
                       centre_mm=tuple(float(v) for v in d["centre_mm"]),  # type: ignore[arg-type]
                       name=d.get("name", ""))
            for d in doc["lesions"])
        return DemoStudy(root=root, patient_name=doc["patient_name"], patient_id=doc["patient_id"],
                         study_instance_uid=doc["study_instance_uid"],
                         frame_of_reference_uid=doc["frame_of_reference_uid"],
                         series_files=series_files, series_uids=dict(doc["series_uids"]),
                         lesions=lesions)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("npc-desktop"))


def _remove_tree(path: Path, parent: Path, name: str) -> None:
    """Move ``path`` aside (atomic) and delete it; tolerate it vanishing concurrently."""
    trash = Path(tempfile.mkdtemp(prefix=f".{name}.stale-", dir=parent))
    try:
        os.replace(path, trash / "old")
    except FileNotFoundError:
        pass
    shutil.rmtree(trash, ignore_errors=True)


def ensure_demo_study(cache_dir: Optional[Path] = None) -> DemoStudy:
    """Return the default demo study, writing it into the cache the first time.

    The study lives in ``<cache>/demo-<GENERATOR_VERSION>-<DEMO_SEED>``, where ``<cache>`` is
    ``cache_dir`` or ``platformdirs.user_cache_dir("npc-desktop")``. A complete copy (manifest
    present, every file's SHA-256 matching) is reused; anything else there is rebuilt. The study is
    written into a temporary sibling folder and renamed into place, so an interrupted write is
    never mistaken for a complete study.

    Parameters
    ----------
    cache_dir
        Folder that holds the demo study folder; defaults to the user cache folder.

    Returns
    -------
    DemoStudy
        The study, with paths inside the cache.
    """
    parent = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    name = f"demo-{GENERATOR_VERSION}-{DEMO_SEED}"
    target = parent / name
    study = _load_complete(target, DEMO_SEED)
    if study is not None:
        return study
    parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(parent, name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent))
    try:
        write_demo_study(tmp, seed=DEMO_SEED)
        if target.exists() or target.is_symlink():
            _remove_tree(target, parent, name)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process may have put a complete copy in place meanwhile.
            study = _load_complete(target, DEMO_SEED)
            if study is None:
                raise
            return study
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    study = _load_complete(target, DEMO_SEED)
    if study is None:  # pragma: no cover - only if the disk lies to us
        raise OSError(f"{target}: demo study was written but cannot be read back")
    return study


def _sweep_stale(parent: Path, name: str, max_age_s: float = 3600.0) -> None:
    """Delete temporary folders of interrupted earlier writes (older than ``max_age_s``)."""
    now = time.time()
    for entry in parent.glob(f".{name}.*-*"):
        try:
            if entry.is_dir() and now - entry.stat().st_mtime > max_age_s:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            pass
