"""Writing output files so that a crash or a full disk never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Union

DATA_DIR_ENV = "NPC_DESKTOP_DATA_DIR"
"""Environment variable that moves the user data folder (databases, stores) elsewhere."""


def user_data_dir() -> Path:
    """The folder for the app's own data: ``$NPC_DESKTOP_DATA_DIR`` when set, else the platform's.

    The platform's folder is ``platformdirs.user_data_dir("npc-desktop")`` (for example
    ``~/.local/share/npc-desktop`` on Linux). The folder is not created here.
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("npc-desktop", appauthor=False))


def fsync_directory(directory: Union[str, os.PathLike]) -> None:
    """Make a rename in ``directory`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomically(
    path: Union[str, os.PathLike],
    data: bytes,
    *,
    make_parents: bool = True,
    sync_dir: bool = False,
    temp_prefix: Union[str, None] = None,
    temp_suffix: str = ".part",
) -> Path:
    """Write ``data`` to ``path`` through a synced temporary file in the same folder, then rename.

    Parameters
    ----------
    path
        The final file; replaced only once the new content is complete on disk.
    data
        The file content.
    make_parents
        Create missing parent folders.
    sync_dir
        Also sync the folder so that the rename survives a power cut.
    temp_prefix, temp_suffix
        Name pattern of the temporary file (``.<name>.`` and ``.part`` by default), for callers
        that sweep up temporaries left by a crash.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        When the folder cannot be created or written; no temporary file is left behind.
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}." if temp_prefix is None else temp_prefix
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=temp_suffix)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    if sync_dir:
        fsync_directory(target.parent)
    return target
