"""The study's TNM stage beside the ensemble's class: what ``npc-desktop stage`` and ``report``
print after the ensemble's result, and the ``tnm`` object of ``stage --json``.

The stage comes from :func:`~npc_desktop.core.tnm.study.assess_study` (the TNM dock's and
``npc-desktop tnm STUDY``'s source), the comparison from
:func:`~npc_desktop.core.tnm.discordance.compare_with_ensemble` (III against IVA either way is
discordant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from npc_desktop.core.tnm.assessment import TnmAssessment


@dataclass(frozen=True)
class TnmBesideEnsemble:
    """A study's TNM stage next to the ensemble's class (what ``stage`` and ``report`` print).

    Attributes
    ----------
    assessment
        The study's TNM assessment; None when it has no saved TNM form.
    ensemble_class
        The ensemble's patient-level class.
    comparison
        :func:`~npc_desktop.core.tnm.discordance.compare_with_ensemble`'s result; None without a form.
    """

    assessment: Optional[TnmAssessment]
    ensemble_class: str
    comparison: Any

    def lines(self) -> list[str]:
        """``TNM stage: IVA (T3 N3 M0, AJCC/UICC 8th edition); ensemble: III`` and the comparison line."""
        if self.assessment is None or self.comparison is None:
            return [f"TNM stage: no saved TNM form for this study; ensemble: {self.ensemble_class}"]
        a = self.assessment
        categories = " ".join(str(call.value or "?") for call in (a.t, a.n, a.m))
        return [f"TNM stage: {a.stage or 'not staged'} ({categories}, {a.table.title}); "
                f"ensemble: {self.ensemble_class}", self.comparison.text]

    def to_dict(self) -> dict[str, Any]:
        """The ``tnm`` object of ``stage --json``: stage, categories, edition and the comparison."""
        if self.assessment is None or self.comparison is None:
            return {"form_saved": False, "stage": None, "t": None, "n": None, "m": None, "edition": None,
                    "agreement": "not_comparable", "discordant": False,
                    "comparison": "Not compared: no saved TNM form for this study"}
        a = self.assessment
        return {"form_saved": True, "stage": a.stage, "t": a.t.value, "n": a.n.value, "m": a.m.value,
                "edition": a.edition, "agreement": self.comparison.agreement.value,
                "discordant": self.comparison.discordant, "comparison": self.comparison.text}


def tnm_beside_ensemble(annotations: Any, volumes: Mapping[str, Any], result: Any,
                        index: Any = None) -> TnmBesideEnsemble:
    """The study's TNM stage (``assess_study``) compared with a staging result's patient class.

    ``index`` is the study's StudyIndex (frames of reference and image planes of series not loaded).

    Raises
    ------
    UsageError
        If the saved TNM form is not valid (naming its field).
    """
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.tnm.discordance import compare_with_ensemble
    from npc_desktop.core.tnm.errors import TnmError
    from npc_desktop.core.tnm.study import assess_study

    ensemble_class = result.class_names[result.patient.predicted_index]
    if annotations.tnm_form is None:
        return TnmBesideEnsemble(None, ensemble_class, None)
    try:
        assessment = assess_study(annotations, volumes, index)
    except TnmError as exc:
        raise UsageError(f"saved TNM form: {exc}") from None
    comparison = compare_with_ensemble(assessment.stage, ensemble_class, class_names=tuple(result.class_names))
    return TnmBesideEnsemble(assessment, ensemble_class, comparison)
