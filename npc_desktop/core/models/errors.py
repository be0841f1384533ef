"""Typed errors of the model layer; ``str()`` of each is a one-line message for a user."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

__all__ = [
    "ModelError",
    "ArchitectureError",
    "WeightsNotFoundError",
    "BundleError",
    "ManifestError",
    "BundleIntegrityError",
    "BundleMismatchError",
]


class ModelError(Exception):
    """Base class of every error raised by :mod:`npc_desktop.core.models`."""


class ArchitectureError(ModelError, ValueError):
    """An unknown architecture name or an input size the architecture cannot take."""


class WeightsNotFoundError(ModelError, FileNotFoundError):
    """Initial weights (ImageNet or a local file) are not on this machine.

    Attributes
    ----------
    path
        Where the file was looked for.
    """

    def __init__(self, path: Union[str, Path], message: str) -> None:
        super().__init__(message)
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.args[0])


class BundleError(ModelError):
    """A model bundle cannot be used; names the file and the problem.

    Parameters
    ----------
    path
        The offending file or folder.
    problem
        What is wrong, in a few words.
    hint
        What to do about it (optional).
    """

    def __init__(self, path: Optional[Union[str, Path]], problem: str, hint: str = "") -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        self.hint = hint
        text = f"{self.path}: {problem}" if self.path is not None else problem
        super().__init__(f"{text}; {hint}" if hint else text)


class ManifestError(BundleError):
    """The manifest is missing, not JSON, of an unknown schema or has an invalid field."""


class BundleIntegrityError(BundleError):
    """A weights file is missing, truncated or does not match the SHA-256 in the manifest."""


class BundleMismatchError(BundleError):
    """A weights file deserialised to a model that disagrees with its manifest entry."""
