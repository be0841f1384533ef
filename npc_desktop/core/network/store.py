"""The local study store: one folder per Study Instance UID, one atomically written file per instance."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Union

from npc_desktop.core.fileio import user_data_dir

log = logging.getLogger(__name__)

TEMP_PREFIX = ".incoming."
TEMP_SUFFIX = ".part"
_UID = re.compile(r"^[0-9.]{1,64}$")


def default_store_root() -> Path:
    """``studies/`` in the user data folder (``$NPC_DESKTOP_DATA_DIR`` moves it)."""
    return user_data_dir() / "studies"


def _safe_uid(uid: str, what: str) -> str:
    text = (uid or "").strip().rstrip("\x00")
    if not _UID.match(text):
        raise ValueError(f"the {what} {uid!r} is not a DICOM UID")
    return text


@dataclass
class StoreTransaction:
    """The files one transfer added; :meth:`rollback` removes them (a cancelled or failed retrieval)."""

    store: "StudyStore"
    written: list[Path] = field(default_factory=list)
    skipped: int = 0

    def rollback(self) -> int:
        """Delete the instances this transfer wrote; return how many."""
        removed = 0
        for path in self.written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            self.store.forget(path.stem)
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only when the study folder is now empty
        self.written.clear()
        return removed


class StudyStore:
    """Retrieved and received instances under ``root/<StudyInstanceUID>/<SOPInstanceUID>.dcm``.

    Parameters
    ----------
    root
        The store folder; :func:`default_store_root` when None. Created on first write.
    """

    def __init__(self, root: Optional[Union[str, Path]] = None) -> None:
        self.root = Path(root) if root is not None else default_store_root()
        self._lock = threading.Lock()
        self._known: Optional[set[str]] = None
        self._folders: set[Path] = set()
        self.sweep_temporaries()

    def study_dir(self, study_uid: str) -> Path:
        """The folder of one study (it may not exist yet)."""
        return self.root / _safe_uid(study_uid, "Study Instance UID")

    def _known_uids(self) -> set[str]:
        if self._known is None:
            self._known = {p.stem for p in self.root.glob("*/*.dcm")} if self.root.is_dir() else set()
        return self._known

    def contains(self, sop_instance_uid: str) -> bool:
        """True when an instance with this SOP Instance UID is already stored."""
        with self._lock:
            return sop_instance_uid.strip().rstrip("\x00") in self._known_uids()

    def forget(self, sop_instance_uid: str) -> None:
        """Drop a UID from the in-memory index (its file was removed)."""
        with self._lock:
            self._known_uids().discard(sop_instance_uid)

    def write(self, study_uid: str, sop_instance_uid: str, encoded: bytes,
              transaction: Optional[StoreTransaction] = None) -> Optional[Path]:
        """Store one encoded DICOM file (preamble and file meta included), atomically.

        Parameters
        ----------
        study_uid, sop_instance_uid
            Where it goes; the file is named after the SOP Instance UID.
        encoded
            The complete DICOM file.
        transaction
            Records the new file so that a cancelled transfer can remove it.

        Returns
        -------
        Path or None
            The stored file, or None when the SOP Instance UID was already in the store (skipped).

        Raises
        ------
        ValueError
            When a UID is not a DICOM UID.
        OSError
            When the file cannot be written; no temporary file is left.
        """
        sop = _safe_uid(sop_instance_uid, "SOP Instance UID")
        folder = self.study_dir(study_uid)
        with self._lock:
            if sop in self._known_uids():
                if transaction is not None:
                    transaction.skipped += 1
                return None
            self._known_uids().add(sop)
        target = folder / f"{sop}.dcm"
        try:
            if folder not in self._folders or not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                self._folders.add(folder)
            fd, temp_name = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
            try:
                with os.fdopen(fd, "wb") as stream:
                    stream.write(encoded)
                os.replace(temp_name, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp_name)
                raise
        except BaseException:
            self.forget(sop)
            raise
        if transaction is not None:
            transaction.written.append(target)
        return target

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """Group the writes of one transfer; on an exception (cancel included) they are removed."""
        record = StoreTransaction(self)
        try:
            yield record
        except BaseException:
            removed = record.rollback()
            if removed:
                log.info("removed %d instance(s) of an unfinished transfer from %s", removed, self.root)
            raise

    def sweep_temporaries(self) -> int:
        """Delete temporary files a crash left in the store; return how many."""
        if not self.root.is_dir():
            return 0
        count = 0
        for temp in self.root.glob(f"*/{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                temp.unlink()
                count += 1
        return count

    def instances(self, study_uid: str) -> list[Path]:
        """The stored files of one study, sorted by name."""
        folder = self.study_dir(study_uid)
        return sorted(folder.glob("*.dcm")) if folder.is_dir() else []

    def temporaries(self) -> list[Path]:
        """Temporary files currently in the store (none once every transfer has ended)."""
        return sorted(self.root.glob(f"*/{TEMP_PREFIX}*")) if self.root.is_dir() else []
