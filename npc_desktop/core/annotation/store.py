"""Crash-safe storage of annotation sets: one PHI-free JSON file per study.

Files live in ``platformdirs.user_data_dir("npc-desktop")/annotations/`` and are named from a
hash of the StudyInstanceUID, so neither names nor UIDs appear in file names. A save writes a
temporary file in the same folder, fsyncs it, keeps the previous good file as ``.bak`` and
renames the new file over the old one, then fsyncs the folder: after a crash at any point the
file holds either the previous or the new state, never a mixture.

A file whose content is not a valid annotation file is never overwritten: it is renamed to
``<name>.corrupt-<time>`` and reported as :class:`CorruptAnnotationFile`, and
:meth:`AnnotationStore.load` falls back to the backup and says so. A file that exists but cannot
be read (permission denied, I/O error) is left where it is and nothing is saved over it
(:class:`UnreadableAnnotationFile`).

Each store remembers the bytes it last loaded or saved per study. When the file on disk has
changed since (another program or another NPC Desktop window saved it), a save does not
overwrite it: the edits go to a sibling ``<name>.conflict-<time>.json`` and
:class:`AnnotationConflict` says so; ``save(..., replace_changed=True)`` replaces the other
version, keeping it as such a conflict file. :meth:`AnnotationStore.lock` takes the advisory
per-study lock (:mod:`npc_desktop.core.annotation.study_lock`) that keeps a second window from editing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Union

import platformdirs

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.store_results import (
    AnnotationConflict,
    AnnotationSaveError,
    CorruptAnnotationFile,
    LoadResult,
    LoadSource,
    SaveResult,
    UnreadableAnnotationFile,
)
from npc_desktop.core.annotation.study_lock import StudyLock
from npc_desktop.core.annotation.validation import AnnotationError
from npc_desktop.core.fileio import fsync_directory, write_bytes_atomically

__all__ = [
    "APP_NAME",
    "AnnotationStore",
    "default_annotation_dir",
    "study_file_name",
]

APP_NAME = "npc-desktop"
_STALE_TEMP_SECONDS = 600.0
_log = logging.getLogger(__name__)


def default_annotation_dir() -> Path:
    """``<user data dir>/npc-desktop/annotations`` (created on first save)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "annotations"


def study_file_name(study_instance_uid: str) -> str:
    """The annotation file name of a study: ``study-<32 hex digits of SHA-256>.json``."""
    digest = hashlib.sha256(study_instance_uid.encode("ascii", "replace")).hexdigest()
    return f"study-{digest[:32]}.json"


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; an error other than "not there" means it cannot be read."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise UnreadableAnnotationFile(path, exc.strerror or str(exc)) from exc
    return True


def _encode(annotations: AnnotationSet) -> bytes:
    return (json.dumps(annotations.to_dict(), indent=1, ensure_ascii=False) + "\n").encode("utf-8")


class AnnotationStore:
    """One JSON file per study in a folder.

    Parameters
    ----------
    directory
        Where the files live; :func:`default_annotation_dir` by default (tests inject a
        temporary folder).
    """

    def __init__(self, directory: Optional[Union[str, Path]] = None) -> None:
        self._dir = Path(directory) if directory is not None else default_annotation_dir()
        # The bytes this store last loaded or saved per file (None: it knew the file absent).
        self._known: dict[Path, Optional[bytes]] = {}
        self._conflicts: dict[Path, Path] = {}

    @property
    def directory(self) -> Path:
        """The folder holding the annotation files."""
        return self._dir

    def path_for(self, study_instance_uid: str) -> Path:
        """The annotation file of a study."""
        return self._dir / study_file_name(study_instance_uid)

    def backup_path_for(self, study_instance_uid: str) -> Path:
        """The backup (previous good version) of a study's annotation file."""
        path = self.path_for(study_instance_uid)
        return path.with_name(path.name + ".bak")

    def lock_path_for(self, study_instance_uid: str) -> Path:
        """The advisory lock file of a study (present while a window edits it)."""
        return self.path_for(study_instance_uid).with_suffix(".lock")

    def exists(self, study_instance_uid: str) -> bool:
        """Whether a file or backup exists for the study."""
        return self.path_for(study_instance_uid).exists() or self.backup_path_for(study_instance_uid).exists()

    def lock(self, study_instance_uid: str) -> StudyLock:
        """Take the study's advisory lock (creating the folder if needed).

        Raises
        ------
        StudyLocked
            If another NPC Desktop window (or process) edits the study.
        OSError
            If the lock file cannot be created at all.
        """
        self._dir.mkdir(parents=True, exist_ok=True)
        return StudyLock.acquire(self.lock_path_for(study_instance_uid))

    # -- load -------------------------------------------------------------------------------------

    def load(self, study_instance_uid: str) -> LoadResult:
        """Load a study's annotations, recovering from the backup if needed.

        Parameters
        ----------
        study_instance_uid
            The study.

        Returns
        -------
        LoadResult
            A corrupt or unknown-schema file is moved aside and listed in ``problems``; the
            backup is used if it is good (``source`` is ``BACKUP``), else an empty set is
            returned (``source`` is ``NEW``).

        Raises
        ------
        UnreadableAnnotationFile
            If the file (or, without it, the backup) exists but cannot be read: it is not
            moved and nothing is saved over it; keep the edits in memory and retry later.
        CorruptAnnotationFile
            Only if a bad file cannot even be moved aside, so a later save would overwrite it.
        """
        path = self.path_for(study_instance_uid)
        backup = self.backup_path_for(study_instance_uid)
        self._sweep_temp(path)
        self._known.pop(path, None)
        problems: list[CorruptAnnotationFile] = []
        for candidate, source in ((path, LoadSource.FILE), (backup, LoadSource.BACKUP)):
            try:
                if not _exists(candidate):
                    continue
                raw = self._read_bytes(candidate)
            except UnreadableAnnotationFile as exc:
                raise UnreadableAnnotationFile(exc.path, exc.reason, tuple(problems)) from exc
            try:
                annotations = self._parse(candidate, raw, study_instance_uid)
            except CorruptAnnotationFile as exc:
                problems.append(self._move_aside(candidate, exc.reason))
                continue
            if source is LoadSource.BACKUP:
                self._restore(backup, path, raw)
            else:
                self._known[path] = raw
            for problem in problems:
                _log.warning("%s", problem)
            return LoadResult(annotations, source, path, tuple(problems))
        self._known[path] = None
        return LoadResult(AnnotationSet(study_instance_uid), LoadSource.NEW, path, tuple(problems))

    @staticmethod
    def _read_bytes(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise UnreadableAnnotationFile(path, exc.strerror or str(exc)) from exc

    @staticmethod
    def _parse(path: Path, raw: bytes, study_instance_uid: str) -> AnnotationSet:
        try:
            data: Any = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, a 5,000-digit number, deep nesting
            text = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
            raise CorruptAnnotationFile(path, f"not valid JSON: {text}") from None
        try:
            annotations = AnnotationSet.from_dict(data)
        except AnnotationError as exc:
            raise CorruptAnnotationFile(path, f"invalid content: {exc}") from exc
        if annotations.study_instance_uid != study_instance_uid:
            raise CorruptAnnotationFile(path, "it holds the annotations of another study")
        return annotations

    def _move_aside(self, path: Path, reason: str) -> CorruptAnnotationFile:
        stamp = _stamp()
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        counter = 1
        while target.exists():
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
            counter += 1
        try:
            os.replace(path, target)
        except OSError as exc:
            problem = f"{reason}; moving it aside failed: {exc.strerror or exc}"
            raise CorruptAnnotationFile(path, problem) from exc
        fsync_directory(path.parent)
        self._known[path] = None
        return CorruptAnnotationFile(path, reason, target)

    def _restore(self, backup: Path, path: Path, raw: bytes) -> None:
        # Bring the main file back so the next load is normal; the backup stays as it is.
        try:
            self._write_atomically(path, raw)
        except OSError as exc:
            _log.warning("could not restore %s from %s: %s", path, backup, exc)
            self._known[path] = None
            return
        self._known[path] = raw

    def _sweep_temp(self, path: Path) -> None:
        # Temporary files of a save that crashed before its rename; never the live files.
        now = time.time()
        for stale in self._dir.glob(f"{path.name}.*.tmp"):
            try:
                if now - stale.stat().st_mtime > _STALE_TEMP_SECONDS:
                    stale.unlink()
            except OSError:
                pass

    # -- save -------------------------------------------------------------------------------------

    def save(self, annotations: AnnotationSet, *, replace_changed: bool = False) -> SaveResult:
        """Write a study's annotations atomically, keeping the previous good file as backup.

        Parameters
        ----------
        annotations
            The set to write.
        replace_changed
            Replace the file even if another program changed it since this store loaded or
            saved it; its version is then kept as a ``.conflict-<time>.json`` file
            (``SaveResult.replaced``). Off by default: such a file is not overwritten.

        Returns
        -------
        SaveResult
            With ``moved_aside`` set if the file on disk was not a good annotation file (it is
            then kept under a ``.corrupt-...`` name instead of becoming the backup).

        Raises
        ------
        AnnotationConflict
            If the file was changed by another program since this store last loaded or saved it
            (or it appeared after a load found none): it is left as it is, and the annotations
            are written to a sibling conflict file instead, the same one on every retry.
        AnnotationSaveError
            If the file cannot be written, or the file on disk cannot be read (the previous
            file is left intact).
        """
        started = time.perf_counter()
        study = annotations.study_instance_uid
        path = self.path_for(study)
        backup = self.backup_path_for(study)
        data = _encode(annotations)
        moved: Optional[CorruptAnnotationFile] = None
        replaced: Optional[Path] = None
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            current = self._read_bytes(path) if _exists(path) else None
            if current is not None:
                changed = path not in self._known or self._known[path] != current
                if changed and current != data:
                    moved = self._check_changed(path, current, study)
                    if moved is None and not replace_changed:
                        raise self._conflict(path, data)
                    if moved is None:
                        replaced = self._write_conflict_copy(path, current)
                if moved is None:
                    self._keep_previous(path, backup, current)
            self._write_atomically(path, data)
        except UnreadableAnnotationFile as exc:
            raise AnnotationSaveError(path, f"the file on disk cannot be read ({exc.reason}); "
                                            "nothing was saved over it") from exc
        except CorruptAnnotationFile as exc:
            raise AnnotationSaveError(path, str(exc)) from exc
        except AnnotationSaveError:
            raise
        except OSError as exc:
            raise AnnotationSaveError(path, exc.strerror or str(exc)) from exc
        self._known[path] = data
        self._conflicts.pop(path, None)
        return SaveResult(path, backup if backup.exists() else None, time.perf_counter() - started, moved, replaced)

    def conflict_path(self, study_instance_uid: str) -> Optional[Path]:
        """The conflict file the last save of a study wrote its annotations to, or None."""
        return self._conflicts.get(self.path_for(study_instance_uid))

    def _check_changed(self, path: Path, current: bytes, study: str) -> Optional[CorruptAnnotationFile]:
        """For a file changed behind this store's back: move it aside if it is not a good
        annotation file (returned), else None."""
        try:
            self._parse(path, current, study)
        except CorruptAnnotationFile as exc:
            moved = self._move_aside(path, exc.reason)
            _log.warning("%s", moved)
            return moved
        return None

    def _conflict(self, path: Path, data: bytes) -> AnnotationConflict:
        target = self._conflicts.get(path)
        if target is None:
            target = self._new_conflict_path(path)
        try:
            self._write_atomically(target, data)
        except OSError as exc:
            return AnnotationConflict(path, None, exc.strerror or str(exc))
        self._conflicts[path] = target
        conflict = AnnotationConflict(path, target)
        _log.warning("%s", conflict)
        return conflict

    def _write_conflict_copy(self, path: Path, data: bytes) -> Path:
        target = self._new_conflict_path(path)
        self._write_atomically(target, data)
        return target

    @staticmethod
    def _new_conflict_path(path: Path) -> Path:
        stamp = _stamp()
        target = path.with_name(f"{path.stem}.conflict-{stamp}{path.suffix}")
        counter = 1
        while target.exists():
            target = path.with_name(f"{path.stem}.conflict-{stamp}-{counter}{path.suffix}")
            counter += 1
        return target

    def _keep_previous(self, path: Path, backup: Path, current: bytes) -> None:
        """Make the current (good) file the backup."""
        link = backup.with_name(f"{backup.name}.{os.getpid()}.link.tmp")
        try:
            # A hard link makes the current inode the backup without copying or fsyncing data.
            if link.exists():
                link.unlink()
            os.link(path, link)
            os.replace(link, backup)
        except OSError:  # no hard links on this file system (FAT, some network shares): copy
            if link.exists():
                link.unlink()
            self._write_atomically(backup, current, sync_dir=False)

    def _write_atomically(self, path: Path, data: bytes, *, sync_dir: bool = True) -> None:
        # The temporary name pattern is what _sweep_temp removes after a crash.
        write_bytes_atomically(path, data, make_parents=False, sync_dir=sync_dir,
                               temp_prefix=f"{path.name}.", temp_suffix=".tmp")
