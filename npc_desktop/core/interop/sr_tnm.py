"""The TNM categories and the stage group in a TID 1500 Measurement Report, and back.

They form one TID 1501 "Measurements and Qualitative Evaluations" group whose Measurement
Method is the AJCC edition and whose qualitative evaluations are CODE content items, one per
axis and one for the stage group (an axis that is undetermined, or a stage that cannot be
grouped, is left out). highdicom's TID 1500 has no report-level "Qualitative Evaluations"
container, so the evaluations sit in this group of the "Imaging Measurements" container, as
TID 1501 allows.

DICOM PS3.16 has no context group for AJCC TNM categories (CID 3778 "Stage" is stages 0-5, CID
6161/6162 are breast-specific), so the codes are the SNOMED CT concepts that HL7 mCODE uses
for AJCC staging (the concept names are observable entities, the values AJCC qualifier values):

- concept names: cT category 399504009, cN category 399534004, cM category 399387003,
  Clinical TNM stage grouping 399537006;
- values: AJCC cT0..cT4 1228882005, 1228889001, 1228929004, 1228938002, 1228944003; cN0..cN3
  1229967007, 1229973008, 1229978004, 1229984001; cM0 1229901006, cM1 1229903009; stage I, II,
  III, IVA, IVB 1222723001, 1222765007, 1222801008, 1222838008, 1222841004;
- method: AJCC Cancer Staging Manual 8th edition 897275008 (as mCODE's ``Observation.method``).

Code meanings are shortened to DICOM's 64 characters; the code values are what a reader
matches. The table is in ``docs/tnm.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pydicom.dataset import Dataset
from pydicom.sr.coding import Code

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.dicom.volume import Volume
from npc_desktop.core.interop.sr_common import SrError, children, concept, imaging_measurement_groups
from npc_desktop.core.tnm.assessment import TnmAssessment
from npc_desktop.core.tnm.errors import TnmError
from npc_desktop.core.tnm.study import assess_study

__all__ = ["CATEGORY_VALUE_CODES", "EDITION_CODES", "TNM_CONCEPTS", "TNM_TRACKING_IDENTIFIER", "SrTnm",
           "read_sr_tnm", "study_tnm_groups", "tnm_groups"]

TNM_TRACKING_IDENTIFIER = "TNM staging"
"""Tracking Identifier of the TNM group."""

TNM_CONCEPTS: dict[str, Code] = {
    "T": Code("399504009", "SCT", "cT category"),
    "N": Code("399534004", "SCT", "cN category"),
    "M": Code("399387003", "SCT", "cM category"),
    "stage": Code("399537006", "SCT", "Clinical TNM stage grouping"),
}
"""Concept name of each evaluation (SNOMED CT observable entities)."""

_AJCC = "American Joint Committee on Cancer"
CATEGORY_VALUE_CODES: dict[str, Code] = {
    "T0": Code("1228882005", "SCT", f"{_AJCC} cT0"),
    "T1": Code("1228889001", "SCT", f"{_AJCC} cT1"),
    "T2": Code("1228929004", "SCT", f"{_AJCC} cT2"),
    "T3": Code("1228938002", "SCT", f"{_AJCC} cT3"),
    "T4": Code("1228944003", "SCT", f"{_AJCC} cT4"),
    "N0": Code("1229967007", "SCT", f"{_AJCC} cN0"),
    "N1": Code("1229973008", "SCT", f"{_AJCC} cN1"),
    "N2": Code("1229978004", "SCT", f"{_AJCC} cN2"),
    "N3": Code("1229984001", "SCT", f"{_AJCC} cN3"),
    "M0": Code("1229901006", "SCT", f"{_AJCC} cM0"),
    "M1": Code("1229903009", "SCT", f"{_AJCC} cM1"),
    "I": Code("1222723001", "SCT", f"{_AJCC} stage I"),
    "II": Code("1222765007", "SCT", f"{_AJCC} stage II"),
    "III": Code("1222801008", "SCT", f"{_AJCC} stage III"),
    "IVA": Code("1222838008", "SCT", f"{_AJCC} stage IVA"),
    "IVB": Code("1222841004", "SCT", f"{_AJCC} stage IVB"),
}
"""Value of each category and stage group (SNOMED CT AJCC qualifier values)."""

EDITION_CODES: dict[int, Code] = {8: Code("897275008", "SCT", "AJCC Cancer Staging Manual 8th edition")}
"""Measurement Method naming the edition."""

_METHOD = ("370129005", "SCT")  # TID 1501 "Measurement Method"
_AXIS_OF_CONCEPT = {(c.value, c.scheme_designator): axis for axis, c in TNM_CONCEPTS.items()}
_CATEGORY_OF_VALUE = {(c.value, c.scheme_designator): category for category, c in CATEGORY_VALUE_CODES.items()}
_EDITION_OF_CODE = {(c.value, c.scheme_designator): number for number, c in EDITION_CODES.items()}


@dataclass(frozen=True)
class SrTnm:
    """The TNM evaluations read back from an SR (None where the SR has none)."""

    t: Optional[str] = None
    n: Optional[str] = None
    m: Optional[str] = None
    stage: Optional[str] = None
    edition: Optional[int] = None


def tnm_groups(assessment: TnmAssessment) -> list[Any]:
    """The TID 1501 group of an assessment's categories and stage group (empty when none is known).

    Raises
    ------
    SrError
        If the edition has no code here.
    """
    import highdicom as hd

    if assessment.edition not in EDITION_CODES:
        raise SrError(f"TNM edition {assessment.edition}: no SR code for it (known: {sorted(EDITION_CODES)})")
    values = {"T": assessment.t.value, "N": assessment.n.value, "M": assessment.m.value, "stage": assessment.stage}
    evaluations = [hd.sr.QualitativeEvaluation(name=TNM_CONCEPTS[axis], value=CATEGORY_VALUE_CODES[value])
                   for axis, value in values.items() if value is not None]
    if not evaluations:
        return []
    return [hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=TNM_TRACKING_IDENTIFIER),
        method=EDITION_CODES[assessment.edition],
        qualitative_evaluations=evaluations,
    )]


def study_tnm_groups(annotations: AnnotationSet, volumes: Mapping[str, Volume], index: Any = None) -> list[Any]:
    """:func:`tnm_groups` of a study's saved TNM form (see ``assess_study``); empty without one.

    Parameters
    ----------
    annotations
        The study's annotations.
    volumes
        Loaded series by SeriesInstanceUID (the node ROIs' series decide the cricoid rule).
    index
        The study's StudyIndex (or StudyInfo): frames of reference and image planes of series not loaded.

    Raises
    ------
    SrError
        If the saved form is not valid (naming its field).
    """
    if annotations.tnm_form is None:
        return []
    try:
        return tnm_groups(assess_study(annotations, volumes, index))
    except TnmError as exc:
        raise SrError(f"saved TNM form: {exc}") from None


def read_sr_tnm(dataset: Dataset) -> Optional[SrTnm]:
    """The TNM evaluations of a TID 1500 dataset; None when it has none.

    Evaluations with codes other than those above are ignored (another product's findings).
    """
    found: dict[str, str] = {}
    edition: Optional[int] = None
    for group in imaging_measurement_groups(dataset):
        in_group: dict[str, str] = {}
        method: Optional[int] = None
        for item in children(group):
            if item.ValueType != "CODE":
                continue
            axis = _AXIS_OF_CONCEPT.get(concept(item))
            value = concept(item, "ConceptCodeSequence")
            if axis is not None and value in _CATEGORY_OF_VALUE:
                in_group[axis] = _CATEGORY_OF_VALUE[value]
            elif concept(item) == _METHOD:
                method = _EDITION_OF_CODE.get(value)
        if in_group:
            found.update(in_group)
            edition = method if method is not None else edition
    if not found:
        return None
    return SrTnm(t=found.get("T"), n=found.get("N"), m=found.get("M"), stage=found.get("stage"), edition=edition)
