"""The clinician's TNM form: validation naming the field, and its PHI-free JSON round trip."""

from __future__ import annotations

import copy
import json

import pytest

from npc_desktop.core.tnm import FORM_VERSION, Axis, NodeFlags, Override, Side, TnmError, TnmForm

ROI_A = "3f1c6a55-2b61-4d6f-9d4e-0a1b2c3d4e5f"
ROI_B = "7d0b7b0e-9c1e-4d0c-8a5e-5f4e3d2c1b0a"


def full_form() -> TnmForm:
    return TnmForm(
        edition=8, findings={"t3.skull_base", "t2.parapharyngeal"}, primary_side="left", m="m0",
        overrides={"N": Override(category="n3", note="node 2 encases the carotid on the PET too")},
        nodes={ROI_B: NodeFlags(side="right", retropharyngeal=True), ROI_A: NodeFlags(side=Side.LEFT)},
    )


def test_round_trip_through_json_is_exact() -> None:
    form = full_form()
    data = json.loads(json.dumps(form.to_dict()))
    assert TnmForm.from_dict(data) == form
    assert data == {
        "format_version": FORM_VERSION, "edition": 8, "findings": ["t2.parapharyngeal", "t3.skull_base"],
        "primary_side": "left", "m": "M0",
        "overrides": {"N": {"category": "N3", "note": "node 2 encases the carotid on the PET too"}},
        "nodes": {ROI_A: {"side": "left", "retropharyngeal": False},
                  ROI_B: {"side": "right", "retropharyngeal": True}},
        "neck_reviewed": False,
    }


def test_neck_reviewed_round_trips_and_version_1_forms_still_load() -> None:
    form = TnmForm(neck_reviewed=True)
    data = json.loads(json.dumps(form.to_dict()))
    assert data["format_version"] == FORM_VERSION == 2 and data["neck_reviewed"] is True
    assert TnmForm.from_dict(data) == form
    old = {key: value for key, value in full_form().to_dict().items() if key != "neck_reviewed"}
    old["format_version"] = 1
    assert TnmForm.from_dict(old) == full_form() and not TnmForm.from_dict(old).neck_reviewed
    with pytest.raises(TnmError, match=r"^tnm\.neck_reviewed: is not a known field"):
        TnmForm.from_dict({**old, "neck_reviewed": True})
    with pytest.raises(TnmError, match=r"^tnm\.neck_reviewed: must be true or false"):
        TnmForm.from_dict({**data, "neck_reviewed": "yes"})


def test_empty_form_round_trips() -> None:
    form = TnmForm()
    assert TnmForm.from_dict(form.to_dict()) == form
    assert form.to_dict()["m"] is None and form.to_dict()["overrides"] == {}


def test_categories_are_stored_canonically_and_overrides_by_axis() -> None:
    form = full_form()
    assert form.m == "M0" and form.overrides[Axis.N].category == "N3"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"edition": 9}, "edition"),
    ({"findings": {"t5.moon"}}, "findings"),
    ({"findings": "t3.skull_base"}, "findings"),
    ({"m": "MX"}, "m"),
    ({"primary_side": "up"}, "primary_side"),
    ({"overrides": {"X": Override(category="T1", note="n")}}, "overrides"),
    ({"overrides": {"T": Override(category="N1", note="n")}}, "overrides.T.category"),
    ({"nodes": {"": NodeFlags()}}, "nodes"),
    ({"nodes": {ROI_A: {"side": "left"}}}, f"nodes.{ROI_A}"),
])
def test_invalid_form_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(TnmError) as caught:
        TnmForm(**kwargs)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_override_needs_a_note() -> None:
    with pytest.raises(TnmError) as caught:
        Override(category="T4", note="   ")
    assert caught.value.field == "note" and "needs a note" in str(caught.value)


def _broken(path: list, value: object) -> dict:
    data = copy.deepcopy(full_form().to_dict())
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "field"), [
    (["format_version"], 3, "tnm.format_version"),
    (["edition"], "8", "tnm.edition"),
    (["findings"], ["t3.skull_base", "t9.x"], "tnm.findings"),
    (["m"], "M2", "tnm.m"),
    (["overrides", "N", "note"], "", "tnm.overrides.N.note"),
    (["overrides", "N", "category"], "N7", "tnm.overrides.N.category"),
    (["overrides", "N", "extra"], 1, "tnm.overrides.N.extra"),
    (["nodes", ROI_A, "side"], "top", f"tnm.nodes.{ROI_A}.side"),
    (["nodes", ROI_A, "retropharyngeal"], "no", f"tnm.nodes.{ROI_A}.retropharyngeal"),
    (["nodes", ROI_A, "side"], KeyError, f"tnm.nodes.{ROI_A}.side"),
    (["primary_side"], KeyError, "tnm.primary_side"),
    (["patient_name"], "Doe^Jane", "tnm.patient_name"),
])
def test_from_dict_names_the_bad_field(path: list, value: object, field: str) -> None:
    with pytest.raises(TnmError) as caught:
        TnmForm.from_dict(_broken(path, value))
    assert caught.value.field == field, str(caught.value)


def test_from_dict_of_a_non_object() -> None:
    with pytest.raises(TnmError) as caught:
        TnmForm.from_dict([1, 2], where="annotations.tnm")
    assert str(caught.value) == "annotations.tnm: must be an object, got list"


def test_node_evidence_joins_flags_and_measurements() -> None:
    form = full_form()
    evidence = form.node_evidence(ROI_B, label="node 2", long_axis_mm=31.5, below_cricoid=False)
    assert (evidence.side, evidence.retropharyngeal, evidence.long_axis_mm, evidence.roi_id) == (
        Side.RIGHT, True, 31.5, ROI_B)
    unflagged = form.node_evidence("0c6d1c3e-1111-4222-8333-944455566677", label="node 3")
    assert unflagged.side is None and unflagged.retropharyngeal is False and unflagged.long_axis_mm is None
