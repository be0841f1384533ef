"""The SessionModel: the single owner of what the workstation shows and does.

It is composed here, in the shell, from the feature sessions: the viewer's
:class:`~npc_desktop.gui.viewer.viewer_session.ViewerSession` (the open study, viewports, slices,
windows), extended by the :class:`~npc_desktop.gui.annotation.annotation_session.AnnotationSession`
(ROIs, labels, the patch preview), plus the
:class:`~npc_desktop.gui.staging.staging_controller.StagingController` (``staging``: the models,
the inference thread and the last result). Widgets call its methods and subscribe to its signals;
they never talk to each other.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject

from npc_desktop.gui.annotation.annotation_session import AnnotationSession, StoreArg
from npc_desktop.gui.staging.engine_factories import EngineFactories
from npc_desktop.gui.staging.staging_controller import StagingController


class SessionModel(AnnotationSession):
    """The workstation's state and operations (see the module docstring)."""

    def __init__(self, parent: Optional[QObject] = None, *, annotation_store: StoreArg = None,
                 engine_factories: Optional[EngineFactories] = None) -> None:
        """Parameters: ``annotation_store`` is an AnnotationStore or the folder for one (tests
        pass a temporary folder); the user data folder by default. ``engine_factories`` make the
        staging engines (tests pass tiny models); the real ones by default."""
        super().__init__(parent, annotation_store=annotation_store)
        self.staging = StagingController(self, engine_factories, self)
        self.staging.busy_changed.connect(self._update_busy)
        self.staging.progress_changed.connect(self.progress_changed)

    def cancel_jobs(self) -> None:
        """Cancel indexing, loading, exports and staging (the cancel button)."""
        super().cancel_jobs()
        self.staging.cancel()

    def shutdown(self) -> None:
        """Stop staging and every job, wait for the worker threads and save pending annotations."""
        self.staging.shutdown()
        super().shutdown()

    def _is_busy(self) -> bool:
        return super()._is_busy() or self.staging.busy
