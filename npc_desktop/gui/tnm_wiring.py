"""The shell's wiring of the TNM dock to staging: the ensemble's result goes to the TNM dock, and
the TNM stage with its (dis)agreement goes to the Staging Results dock.

The TNM and staging packages do not know each other; this window part joins them.
"""

from __future__ import annotations

from typing import Optional

from npc_desktop.gui.staging.results_panel import ResultsPanel
from npc_desktop.gui.staging.staging_controller import StagingController
from npc_desktop.gui.tnm.tnm_panel import TnmPanel
from npc_desktop.gui.tnm.tnm_view import EnsembleCall


def ensemble_call(staging: StagingController) -> Optional[EnsembleCall]:
    """The staging controller's last patient-level result as the TNM dock shows it (None: none)."""
    staged = staging.staged
    if staged is None or staged.result.patient is None:
        return None
    result = staged.result
    return EnsembleCall(study_uid=staged.study_uid, predicted=result.patient.predicted,
                        headline=result.headline(selected_only=staged.partial), class_names=result.class_names,
                        stale=staging.stale, partial=staged.partial, untrained=result.untrained_demo)


def connect_tnm(panel: TnmPanel, staging: StagingController, results: ResultsPanel) -> None:
    """Keep ``panel`` showing the ensemble's result, and ``results`` the TNM stage beside it."""

    def show_result(*_: object) -> None:
        panel.show_ensemble(ensemble_call(staging))

    staging.result_changed.connect(show_result)
    staging.stale_changed.connect(show_result)
    panel.summary_changed.connect(results.show_tnm)
    show_result()
