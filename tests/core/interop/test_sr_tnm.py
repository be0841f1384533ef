"""The TNM categories and stage group in the SR: SNOMED CT coded qualitative evaluations with the
AJCC edition as method, read back by ``read_sr``, and checked by dciodvfy."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from npc_desktop.core.dicom import index_path
from npc_desktop.core.interop.sr import SrError, annotated_images, build_sr, export_sr, read_sr, source_headers_for
from npc_desktop.core.interop.sr_tnm import (
    CATEGORY_VALUE_CODES,
    EDITION_CODES,
    TNM_CONCEPTS,
    SrTnm,
    read_sr_tnm,
    study_tnm_groups,
    tnm_groups,
)
from npc_desktop.core.tnm.assessment import assess_categories
from npc_desktop.core.tnm.study import assess_study
from tests.external_tools import dciodvfy_errors
from tests.tnm_study import tnm_annotations


@pytest.fixture(scope="module")
def demo_index(demo_study):
    return index_path(demo_study.root)


def _code_items(ds: pydicom.Dataset):
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                if getattr(item, "ValueType", "") == "CODE":
                    yield item
                yield from _code_items(item)


def test_study_sr_round_trips_the_tnm_stage_with_standard_codes(tmp_path: Path, demo_study, demo_index,
                                                                 demo_volumes) -> None:
    annotations = tnm_annotations(demo_study, demo_volumes)
    headers = source_headers_for(demo_index, annotated_images(annotations))
    groups = study_tnm_groups(annotations, demo_volumes)
    path = export_sr(annotations, headers, tmp_path / "tnm.dcm", extra_groups=groups)
    assert dciodvfy_errors(path) == []

    pairs = {(i.ConceptNameCodeSequence[0].CodeValue, i.ConceptCodeSequence[0].CodeValue)
             for i in _code_items(pydicom.dcmread(path))}
    assert (TNM_CONCEPTS["T"].value, "1228938002") in pairs  # cT category: AJCC cT3
    assert (TNM_CONCEPTS["N"].value, "1229984001") in pairs  # cN category: AJCC cN3
    assert (TNM_CONCEPTS["M"].value, "1229901006") in pairs  # cM category: AJCC cM0
    assert (TNM_CONCEPTS["stage"].value, "1222838008") in pairs  # clinical stage group: AJCC IVA
    assert ("370129005", EDITION_CODES[8].value) in pairs  # measurement method: the 8th edition

    back = read_sr(path, headers)
    assert back.tnm == SrTnm(t="T3", n="N3", m="M0", stage="IVA", edition=8)
    expected = assess_study(annotations, demo_volumes)
    assert (back.tnm.t, back.tnm.n, back.tnm.m, back.tnm.stage) == (
        expected.t.value, expected.n.value, expected.m.value, expected.stage)
    # The measurements and ROIs still come back beside them.
    assert len(back.rois) == len(annotations.rois) and len(back.measurements.node_axes) == 1
    assert back.measurements.cricoid_level is not None


@pytest.mark.parametrize(("t", "n", "m", "stage"), [
    ("T1", "N0", "M0", "I"), ("T2", "N1", "M0", "II"), ("T0", "N2", "M0", "III"), ("T4", "N0", "M0", "IVA"),
    ("T1", "N3", "M1", "IVB"),
])
def test_every_category_and_stage_has_a_code_that_reads_back(tmp_path: Path, demo_study, demo_index,
                                                             demo_volumes, t, n, m, stage) -> None:
    annotations = tnm_annotations(demo_study, demo_volumes)
    headers = source_headers_for(demo_index, annotated_images(annotations))
    sr = build_sr(annotations, headers, extra_groups=tnm_groups(assess_categories(t, n, m)))
    assert read_sr_tnm(sr) == SrTnm(t=t, n=n, m=m, stage=stage, edition=8)


def test_codes_fit_dicom_and_are_distinct() -> None:
    codes = [*CATEGORY_VALUE_CODES.values(), *TNM_CONCEPTS.values(), *EDITION_CODES.values()]
    assert len({c.value for c in codes}) == len(codes)
    assert all(len(c.meaning) <= 64 and c.scheme_designator == "SCT" for c in codes)


def test_no_saved_form_adds_nothing_and_an_sr_without_tnm_reads_none(tmp_path: Path, demo_study, demo_index,
                                                                    demo_volumes) -> None:
    annotations = tnm_annotations(demo_study, demo_volumes)
    annotations.set_tnm_form(None)
    assert study_tnm_groups(annotations, demo_volumes) == []
    headers = source_headers_for(demo_index, annotated_images(annotations))
    assert read_sr(export_sr(annotations, headers, tmp_path / "plain.dcm"), headers).tnm is None


def test_an_undetermined_axis_is_left_out(demo_study, demo_index, demo_volumes) -> None:
    annotations = tnm_annotations(demo_study, demo_volumes)
    annotations.set_tnm_form(dict(annotations.tnm_form, m=None))  # M not entered: not staged
    headers = source_headers_for(demo_index, annotated_images(annotations))
    sr = build_sr(annotations, headers, extra_groups=study_tnm_groups(annotations, demo_volumes))
    assert read_sr_tnm(sr) == SrTnm(t="T3", n="N3", m=None, stage=None, edition=8)


def test_an_invalid_saved_form_names_the_field(demo_study, demo_volumes) -> None:
    annotations = tnm_annotations(demo_study, demo_volumes)
    annotations.set_tnm_form(dict(annotations.tnm_form, findings=["t9.nowhere"]))
    with pytest.raises(SrError, match=r"saved TNM form: tnm_form\.findings"):
        study_tnm_groups(annotations, demo_volumes)
