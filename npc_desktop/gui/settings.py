"""What the workstation remembers between runs (QSettings): window layout, folders, switches."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

MAX_RECENT = 10


class AppSettings:
    """Typed access to the application's QSettings.

    Parameters
    ----------
    settings
        The store; the application's default QSettings (organisation and application names
        set by :func:`npc_desktop.gui.app.create_application`) when None. Tests pass an INI file.
    """

    def __init__(self, settings: Optional[QSettings] = None) -> None:
        self.store = settings if settings is not None else QSettings()

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self.store.value(key, default)
        if value is None:
            return default
        if kind is bool and isinstance(value, str):
            return value.lower() == "true"
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    def byte_array(self, key: str) -> Optional[QByteArray]:
        """A saved window or splitter state, or None."""
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_value(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        self.store.setValue(key, value)

    def flag(self, key: str, default: bool) -> bool:
        """A saved switch."""
        return bool(self._get(key, default, bool))

    def number(self, key: str, default: float) -> float:
        """A saved number."""
        return float(self._get(key, default, float))

    @property
    def last_folder(self) -> str:
        """Where the file dialogs start: the folder around the last opened study."""
        folder = str(self._get("files/last_folder", "", str))
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self.store.setValue("files/last_folder", folder)

    @property
    def report_folder(self) -> str:
        """Where reports are written: the folder used for the last report, else the user's documents.

        Not the study's folder: studies often sit on a read-only archive or a shared drive.
        A remembered folder that no longer exists falls back to the documents folder.
        """
        folder = str(self._get("report/folder", "", str))
        if folder and Path(folder).is_dir():
            return folder
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return documents or str(Path.home())

    @report_folder.setter
    def report_folder(self, folder: str) -> None:
        self.store.setValue("report/folder", folder)

    @property
    def recent(self) -> list[str]:
        """Recently opened studies, most recent first."""
        value = self.store.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v][:MAX_RECENT]

    def add_recent(self, path: str) -> list[str]:
        """Put ``path`` first in the recent list; return the new list."""
        paths = [path] + [p for p in self.recent if p != path]
        self.store.setValue("files/recent", paths[:MAX_RECENT])
        return paths[:MAX_RECENT]

    def clear_recent(self) -> None:
        """Forget the recent studies."""
        self.store.setValue("files/recent", [])

    def text(self, key: str, default: str = "") -> str:
        """A saved string."""
        return str(self._get(key, default, str))

    @property
    def model_bundle(self) -> Optional[str]:
        """The model bundle folder chosen last, or None for the untrained demo models."""
        value = self.text("models/bundle")
        return value or None

    @model_bundle.setter
    def model_bundle(self, path: Optional[str]) -> None:
        self.store.setValue("models/bundle", path or "")

    @property
    def staging_runtime(self) -> str:
        """``"onnx"`` (ONNX Runtime, the default) or ``"tf"`` (TensorFlow)."""
        value = self.text("models/runtime", "onnx")
        return value if value in ("onnx", "tf") else "onnx"

    @staging_runtime.setter
    def staging_runtime(self, runtime: str) -> None:
        self.store.setValue("models/runtime", runtime)

    def sync(self) -> None:
        """Write to disk now."""
        self.store.sync()
