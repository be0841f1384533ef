"""The patient label records a stage filled from the TNM stage group; files without that record still load."""

from __future__ import annotations

import json

import pytest

from npc_desktop.core.annotation.annotation_set import SCHEMA_VERSION, AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel, Stage, tnm_source
from npc_desktop.core.annotation.validation import AnnotationError

STUDY = "1.2.826.0.1.3680043.8.498.1"


def test_a_stage_chosen_by_hand_has_no_source_and_writes_the_old_keys() -> None:
    label = PatientLabel(stage="III", reviewer="AB", note="n")
    assert label.source is None and label.tnm_stage is None
    assert set(label.to_dict()) == {"stage", "reviewer", "note", "modified"}


def test_a_stage_from_tnm_keeps_the_tnm_stage_and_round_trips() -> None:
    label = PatientLabel(stage=Stage.IVA, source=tnm_source("IVA"))
    assert label.source == "tnm:IVA" and label.tnm_stage == "IVA"
    data = json.loads(json.dumps(label.to_dict()))
    assert data["source"] == "tnm:IVA"
    assert PatientLabel.from_dict(data) == label


def test_schema_3_file_without_a_label_source_still_loads() -> None:
    annotations = AnnotationSet(STUDY, label=PatientLabel(stage="III"))
    data = annotations.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION == 3
    assert "source" not in data["label"]  # as files written before the source existed
    again = AnnotationSet.from_dict(json.loads(json.dumps(data)))
    assert again.label.stage is Stage.III and again.label.source is None


def test_the_source_survives_the_annotation_file() -> None:
    annotations = AnnotationSet(STUDY)
    annotations.set_label(PatientLabel(stage="III", source="tnm:III"))
    again = AnnotationSet.from_dict(json.loads(json.dumps(annotations.to_dict())))
    assert again.label.source == "tnm:III"


@pytest.mark.parametrize("source, stage, problem", [
    ("ensemble", "III", "is not null or 'tnm:'"),
    ("tnm:", "III", "is not null or 'tnm:'"),
    ("tnm:iva", "IVa", "is not null or 'tnm:'"),
    (3, "III", "is not null or 'tnm:'"),
    ("tnm:IVA", "III", "does not match the stage 'III'"),
    ("tnm:IVB", "unknown", "does not match the stage 'unknown'"),
])
def test_a_bad_source_is_refused_naming_the_field(source: object, stage: str, problem: str) -> None:
    with pytest.raises(AnnotationError, match=f"^source: .*{problem}"):
        PatientLabel(stage=stage, source=source)


def test_a_bad_source_in_a_file_names_its_place() -> None:
    data = AnnotationSet(STUDY, label=PatientLabel(stage="III")).to_dict()
    data["label"]["source"] = "tnm:IVA"
    with pytest.raises(AnnotationError, match=r"^label\.source: 'tnm:IVA' does not match"):
        AnnotationSet.from_dict(data)
    data["label"]["source"] = None
    assert AnnotationSet.from_dict(data).label.source is None
    data["label"]["origin"] = "x"
    with pytest.raises(AnnotationError, match=r"^label\.origin: is not a known field"):
        AnnotationSet.from_dict(data)
