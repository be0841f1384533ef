"""Writing output files so that a crash or a full disk never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Union


def write_bytes_atomically(path: Union[str, os.PathLike], data: bytes, *, make_parents: bool = True) -> Path:
    """Write ``data`` to ``path`` through a synced temporary file in the same folder, then rename.

    Parameters
    ----------
    path
        The final file; replaced only once the new content is complete on disk.
    data
        The file content.
    make_parents
        Create missing parent folders.

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
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
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
    return target
