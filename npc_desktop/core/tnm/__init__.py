"""TNM staging of nasopharyngeal carcinoma: edition tables, T/N/M derivation, stage grouping.

Public API (import from the modules named, or from this package):

- :mod:`.edition_table`: :class:`EditionTable` (one edition as data), :class:`Axis`,
  :class:`Finding`, :class:`StageRow`, :class:`StageGrouping`; :mod:`.ajcc8`: the 8th edition;
  :mod:`.editions`: :data:`EDITIONS`, :func:`get_edition`.
- :mod:`.derivation`: :class:`CategoryCall`, :class:`Override`, :func:`derive_t`, :func:`derive_m`;
  :mod:`.nodes`: :class:`Side`, :class:`NodeEvidence`, :func:`derive_n`.
- :mod:`.form`: :class:`TnmForm` (the clinician's form, JSON with a format version), :class:`NodeFlags`.
- :mod:`.assessment`: :func:`assess` and :func:`assess_categories` -> :class:`TnmAssessment`.
- :mod:`.discordance`: :func:`compare_with_ensemble`, :func:`ensemble_class_for_stage`.
- :mod:`.errors`: :class:`TnmError` and :class:`UnstageableError`, one line naming the field.
"""

from npc_desktop.core.tnm.assessment import TnmAssessment, assess, assess_categories
from npc_desktop.core.tnm.derivation import CategoryCall, Override, derive_m, derive_t
from npc_desktop.core.tnm.discordance import (
    Agreement,
    EnsembleComparison,
    compare_with_ensemble,
    ensemble_class_for_stage,
)
from npc_desktop.core.tnm.edition_table import Axis, EditionTable, Finding, StageGrouping, StageRow
from npc_desktop.core.tnm.editions import DEFAULT_EDITION, EDITIONS, get_edition
from npc_desktop.core.tnm.errors import TnmError, UnstageableError
from npc_desktop.core.tnm.form import FORM_VERSION, NodeFlags, TnmForm
from npc_desktop.core.tnm.nodes import NodeEvidence, Side, derive_n

__all__ = [
    "Agreement", "Axis", "CategoryCall", "DEFAULT_EDITION", "EDITIONS", "EditionTable", "EnsembleComparison",
    "FORM_VERSION", "Finding", "NodeEvidence", "NodeFlags", "Override", "Side", "StageGrouping", "StageRow",
    "TnmAssessment", "TnmError", "TnmForm", "UnstageableError", "assess", "assess_categories",
    "compare_with_ensemble", "derive_m", "derive_n", "derive_t", "ensemble_class_for_stage", "get_edition",
]
