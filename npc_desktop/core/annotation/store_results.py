"""What the annotation store reports: its errors (corrupt, unreadable, conflict, save failure) and
the results of a load or a save.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Optional

from npc_desktop.core.annotation.annotation_set import AnnotationSet


class CorruptAnnotationFile(Exception):
    """An annotation file could not be read; it was moved aside, not overwritten.

    Attributes
    ----------
    path
        The file as it was named.
    reason
        Why it could not be read.
    moved_to
        Where it now is, or None if it could not be moved (then nothing is saved over it
        either: :meth:`AnnotationStore.save` refuses).
    """

    def __init__(self, path: Path, reason: str, moved_to: Optional[Path] = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.moved_to = moved_to
        where = f"it was kept as {moved_to}" if moved_to else "it could not be moved aside"
        super().__init__(f"annotation file {self.path} cannot be read ({reason}); {where}")


class UnreadableAnnotationFile(Exception):
    """An annotation file exists but cannot be read (permission denied, I/O error).

    Unlike a corrupt file it is left where it is, and :meth:`AnnotationStore.save` does not save
    over it while it stays unreadable; keep the edits in memory and try again later.

    Attributes
    ----------
    path
        The file.
    reason
        The operating system's error message.
    problems
        Corrupt files moved aside before this one was found unreadable.
    """

    def __init__(self, path: Path, reason: str, problems: tuple[CorruptAnnotationFile, ...] = ()) -> None:
        self.path = Path(path)
        self.reason = reason
        self.problems = problems
        super().__init__(f"annotation file {self.path} cannot be read ({reason}); "
                         "it was left as it is and nothing is saved over it")


class AnnotationSaveError(OSError):
    """The annotation file could not be written; the edits are still in memory."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"cannot save annotations to {path}: {problem}")
        self.path = Path(path)
        self.problem = problem


class AnnotationConflict(AnnotationSaveError):
    """The file was changed by another program since this store loaded or saved it.

    It was not overwritten: the edits are still in memory and were written to ``conflict_path``
    (None if even that failed; ``conflict_error`` says why).
    """

    def __init__(self, path: Path, conflict_path: Optional[Path], conflict_error: str = "") -> None:
        self.conflict_path = conflict_path
        self.conflict_error = conflict_error
        where = (f"they were also written to {conflict_path}" if conflict_path is not None
                 else f"writing them to a conflict file failed too ({conflict_error})")
        problem = (f"{Path(path).name} was changed by another program; it was not overwritten. "
                   f"Your edits are kept in memory and {where}")
        super().__init__(path, problem)


class LoadSource(str, Enum):
    """Where :meth:`AnnotationStore.load` found the annotations."""

    FILE = "file"
    BACKUP = "backup"
    NEW = "new"


@dataclass(frozen=True)
class LoadResult:
    """What :meth:`AnnotationStore.load` found.

    Attributes
    ----------
    annotations
        The loaded set, or a new empty one.
    source
        :attr:`LoadSource.FILE` normally; :attr:`LoadSource.BACKUP` when the main file was
        missing or corrupt and the backup was used; :attr:`LoadSource.NEW` when neither exists.
    path
        The study's annotation file.
    problems
        Corrupt files that were moved aside while loading; show them to the user.
    """

    annotations: AnnotationSet
    source: LoadSource
    path: Path
    problems: tuple[CorruptAnnotationFile, ...] = ()

    @property
    def message(self) -> str:
        """A one-paragraph summary for the user, empty when everything was normal."""
        lines = [str(p) for p in self.problems]
        if self.source is LoadSource.BACKUP:
            lines.append(f"Annotations were restored from the backup {self.path.name}.bak.")
        return "\n".join(lines)


@dataclass(frozen=True)
class SaveResult:
    """What one save did: the file written, its backup, a corrupt file moved aside if any."""

    path: Path
    backup: Optional[Path]
    seconds: float
    moved_aside: Optional[CorruptAnnotationFile] = None
    replaced: Optional[Path] = None
    """With ``replace_changed``: where the other program's version was kept."""
