"""The session as the staging widgets see it: the staging host plus its staging controller."""

from __future__ import annotations

from typing import Protocol

from npc_desktop.gui.staging.host import StagingHost
from npc_desktop.gui.staging.staging_controller import StagingController


class StagingSession(StagingHost, Protocol):
    """A :class:`~npc_desktop.gui.staging.host.StagingHost` that owns a staging controller."""

    staging: StagingController
