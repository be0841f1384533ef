"""A bundle's provenance defaults: the software versions and date every manifest records."""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["default_provenance", "software_versions"]


def software_versions() -> dict[str, str]:
    """Versions of Python, NumPy, TensorFlow and Keras (if imported) and NPC Desktop, for provenance."""
    import platform
    import sys

    import numpy

    from npc_desktop import __version__

    versions = {"npc_desktop": __version__, "python": platform.python_version(), "numpy": numpy.__version__}
    for module in ("tensorflow", "keras"):
        if module in sys.modules:
            versions[module] = str(getattr(sys.modules[module], "__version__", "?"))
    return versions


def default_provenance(extra: Optional[Mapping[str, Any]], created: str) -> dict[str, Any]:
    """Provenance with every required key present: ``extra`` over empty defaults plus software and date."""
    provenance: dict[str, Any] = {"training_data": {}, "split": {}, "metrics": {}, "date": created}
    provenance.update(dict(extra or {}))
    provenance["software"] = {**software_versions(), **dict(provenance.get("software") or {})}
    return provenance
