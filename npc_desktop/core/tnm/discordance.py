"""The TNM stage group beside the ensemble's class: do they agree?

The ensemble separates two classes, named by its bundle (``["III", "IVa"]`` by default; the
stage groups of the tables are written ``III`` and ``IVA``, so names are compared without
regard to case). Decisions:

- TNM III or IVA against the ensemble's III or IVa: concordant when they name the same
  group, discordant otherwise (III against IVa either way);
- TNM I, II or IVB (or a TNM stage no class of the bundle names): *not comparable*. The
  ensemble was trained only to separate its own classes, so its answer says nothing about a
  stage outside them, and IVB differs from IVA by distant metastasis, which the MR patches of
  the head and neck do not show. The text says so; nothing is highlighted as discordant;
- no TNM stage yet: not comparable, and the text says the TNM stage is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional, Sequence

from npc_desktop.core.tnm.errors import TnmError

__all__ = ["DEFAULT_CLASS_NAMES", "Agreement", "EnsembleComparison", "compare_with_ensemble",
           "ensemble_class_for_stage"]

DEFAULT_CLASS_NAMES: tuple[str, ...] = ("III", "IVa")
"""The ensemble's classes as the default bundle names them."""


class Agreement(str, Enum):
    """How the TNM stage group and the ensemble's class relate."""

    CONCORDANT = "concordant"
    DISCORDANT = "discordant"
    NOT_COMPARABLE = "not_comparable"


@dataclass(frozen=True)
class EnsembleComparison:
    """The comparison of a TNM stage group with the ensemble's class.

    Attributes
    ----------
    agreement
        :class:`Agreement`.
    text
        One line for the panel, the report and the command line.
    """

    agreement: Agreement
    text: str

    @property
    def discordant(self) -> bool:
        """Whether to highlight a discordance."""
        return self.agreement is Agreement.DISCORDANT


def ensemble_class_for_stage(stage: Optional[str], class_names: Sequence[str] = DEFAULT_CLASS_NAMES) -> Optional[str]:
    """The ensemble's class name for a TNM stage group (``"IVA"`` -> ``"IVa"``), None if it has none."""
    if stage is None:
        return None
    return next((name for name in class_names if name.casefold() == stage.casefold()), None)


def compare_with_ensemble(stage: Optional[str], ensemble_class: str, *,
                          class_names: Sequence[str] = DEFAULT_CLASS_NAMES) -> EnsembleComparison:
    """Compare the TNM ``stage`` group with the ensemble's predicted class.

    Parameters
    ----------
    stage
        The TNM stage group (``"IVA"``), None when not staged.
    ensemble_class
        The ensemble's predicted class, as the bundle names it (``"IVa"``).
    class_names
        The bundle's class names.

    Raises
    ------
    TnmError
        When ``ensemble_class`` is not one of ``class_names``.
    """
    if ensemble_class not in class_names:
        raise TnmError("ensemble class", f"{ensemble_class!r} is not one of the bundle's classes "
                                         f"({', '.join(class_names)})")
    classes = ", ".join(class_names)
    if stage is None:
        return EnsembleComparison(Agreement.NOT_COMPARABLE,
                                  f"Not compared: no TNM stage yet; ensemble {ensemble_class}")
    matching = ensemble_class_for_stage(stage, class_names)
    if matching is None:
        return EnsembleComparison(Agreement.NOT_COMPARABLE,
                                  f"Not compared: TNM stage {stage} is outside the ensemble's classes ({classes}), "
                                  f"so the ensemble's {ensemble_class} does not apply")
    if matching == ensemble_class:
        return EnsembleComparison(Agreement.CONCORDANT, f"Concordant: TNM stage {stage}, ensemble {ensemble_class}")
    return EnsembleComparison(Agreement.DISCORDANT, f"Discordant: TNM stage {stage}, ensemble {ensemble_class}")
