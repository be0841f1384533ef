"""The TNM stage group beside the ensemble's class (the bundle's names, "IVa" not "IVA")."""

from __future__ import annotations

import pytest

from npc_desktop.core.tnm import Agreement, TnmError, compare_with_ensemble, ensemble_class_for_stage


@pytest.mark.parametrize(("stage", "ensemble", "agreement", "text"), [
    ("III", "III", Agreement.CONCORDANT, "Concordant: TNM stage III, ensemble III"),
    ("IVA", "IVa", Agreement.CONCORDANT, "Concordant: TNM stage IVA, ensemble IVa"),
    ("III", "IVa", Agreement.DISCORDANT, "Discordant: TNM stage III, ensemble IVa"),
    ("IVA", "III", Agreement.DISCORDANT, "Discordant: TNM stage IVA, ensemble III"),
])
def test_iii_against_iva_either_way(stage: str, ensemble: str, agreement: Agreement, text: str) -> None:
    result = compare_with_ensemble(stage, ensemble)
    assert (result.agreement, result.text, result.discordant) == (agreement, text, agreement is Agreement.DISCORDANT)


@pytest.mark.parametrize("stage", ["I", "II", "IVB"])
def test_stages_outside_the_ensembles_classes_are_not_compared(stage: str) -> None:
    result = compare_with_ensemble(stage, "IVa")
    assert result.agreement is Agreement.NOT_COMPARABLE and not result.discordant
    assert result.text == (f"Not compared: TNM stage {stage} is outside the ensemble's classes (III, IVa), "
                           "so the ensemble's IVa does not apply")


def test_no_tnm_stage_yet() -> None:
    assert compare_with_ensemble(None, "III").text == "Not compared: no TNM stage yet; ensemble III"


def test_bundle_class_names_are_used_as_given() -> None:
    assert compare_with_ensemble("IVA", "stage-IVA", class_names=("stage-III", "stage-IVA")).agreement \
        is Agreement.NOT_COMPARABLE
    assert compare_with_ensemble("IVA", "iva", class_names=("iii", "iva")).agreement is Agreement.CONCORDANT


def test_unknown_ensemble_class_is_refused() -> None:
    with pytest.raises(TnmError, match="'IVA' is not one of the bundle's classes"):
        compare_with_ensemble("IVA", "IVA")


def test_stage_label_from_tnm_uses_the_bundle_spelling() -> None:
    assert ensemble_class_for_stage("IVA") == "IVa"
    assert ensemble_class_for_stage("III") == "III"
    assert ensemble_class_for_stage("II") is None and ensemble_class_for_stage(None) is None
