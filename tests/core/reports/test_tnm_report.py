"""The report's TNM section: categories, measurements in mm, stage and reasons, the discordance
with the ensemble, the rulers on the key slices, and the de-identified variant without notes.

The ensemble is the tiny untrained demo; the TNM form is chosen so that its stage is the other
class (discordant) or the same one (concordant).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.demo.example_rois import example_rois
from npc_desktop.core.reports import ReportContentError, write_report_pdf
from npc_desktop.core.reports.assemble import report_content
from npc_desktop.core.reports.figures import RULER_RGB
from npc_desktop.core.reports.tnm_content import NO_FORM_TEXT
from tests.external_tools import pdf_text, run_tool
from tests.tnm_study import PLANTED_NOTE, ruler_mm, tnm_annotations

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(scope="module")
def staged(demo_study, demo_volumes, tiny_demo_engine):
    rois = example_rois(demo_study)
    result = tiny_demo_engine.stage_annotations(AnnotationSet(rois[0].study_instance_uid, rois), demo_volumes)
    return result, result.patient.predicted


def _opposite(ensemble_class: str) -> float:
    """Node 2's long axis that makes the TNM stage (with T3) the other class: 64 mm -> IVA, 30 mm -> III."""
    return 30.0 if ensemble_class == "IVa" else 64.0


def _flat(path: Path) -> str:
    return " ".join(pdf_text(path).split())


def test_pdf_has_the_tnm_section_before_the_ensemble_with_mm_and_the_discordance(
        staged, demo_study, demo_volumes, tmp_path) -> None:
    result, ensemble = staged
    current = tnm_annotations(demo_study, demo_volumes, node_long_mm=_opposite(ensemble))
    content = report_content(result, current, demo_volumes, current=current)
    tnm_stage = "III" if ensemble == "IVa" else "IVA"
    assert content.tnm is not None and content.tnm.stage == tnm_stage and content.tnm.discordant
    path = write_report_pdf(content, tmp_path / "tnm.pdf")
    text = _flat(path)
    assert "TNM stage (AJCC/UICC 8th edition)" in text
    assert text.index("TNM stage (AJCC/UICC 8th edition)") < text.index("Ensemble result")
    assert f"Discordant: TNM stage {tnm_stage}, ensemble {ensemble}" in text
    assert "T3: skull base bone (T3)" in text and "M0: entered by the clinician" in text
    long_mm = _opposite(ensemble)
    assert "node 2: long × short axis" in text and f"{long_mm:.1f} × 12.0 mm" in text
    assert "Ruler 1" in text and f"{ruler_mm(current, demo_volumes):.1f} mm" in text
    assert "Cricoid level (caudal border)" in text and "(patient axis)" in text
    assert f"Stage {tnm_stage}: T3" in text  # the stage group's reason: its table row
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / "tnm-report.pdf")
    run_tool("pdftoppm", "poppler-utils", "-r", "60", "-png", "-f", "1", "-l", "2", path, tmp_path / "page")
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages, "pdftoppm rendered no page"
    first = np.asarray(Image.open(pages[0]).convert("RGB")).astype(int)
    # The discordance box's pink fill is on page 1.
    pink = (np.abs(first - np.array([0xFD, 0xE7, 0xEA])).sum(axis=2) < 12)
    assert pink.sum() > 200
    for page in pages:
        shutil.copy(page, ARTIFACTS / f"tnm-report-{page.name}")


def test_concordant_report_highlights_nothing(staged, demo_study, demo_volumes, tmp_path) -> None:
    result, ensemble = staged
    same = 64.0 if ensemble == "IVa" else 30.0
    current = tnm_annotations(demo_study, demo_volumes, node_long_mm=same)
    content = report_content(result, current, demo_volumes, current=current, key_image_count=0)
    assert not content.tnm.discordant
    text = _flat(write_report_pdf(content, tmp_path / "same.pdf"))
    assert "Concordant: TNM stage" in text and "Discordant" not in text


def test_key_slices_show_the_ruler_with_its_length(staged, demo_study, demo_volumes) -> None:
    result, ensemble = staged
    current = tnm_annotations(demo_study, demo_volumes, node_long_mm=_opposite(ensemble))
    ruler = current.rulers[0]
    content = report_content(result, current, demo_volumes, current=current, key_image_count=len(result.patches))
    on_ruler_slice = [k for k in content.key_images if f"slice {_slice_of(ruler, demo_volumes) + 1}/" in k.detail]
    assert on_ruler_slice, "the ruler's slice is one of the key slices"
    rgb = on_ruler_slice[0].rgb.astype(int)
    violet = np.abs(rgb - np.array(RULER_RGB)).sum(axis=2) < 30
    assert violet.sum() > 50, "the ruler is drawn in the workstation's ruler colour"
    ARTIFACTS.mkdir(exist_ok=True)
    Image.fromarray(on_ruler_slice[0].rgb).save(ARTIFACTS / "tnm-key-slice.png")
    bare = report_content(result, AnnotationSet(current.study_instance_uid, current.rois), demo_volumes,
                          key_image_count=len(result.patches))
    same_slice = [k for k in bare.key_images if k.detail == on_ruler_slice[0].detail][0].rgb.astype(int)
    assert (np.abs(same_slice - np.array(RULER_RGB)).sum(axis=2) < 30).sum() < violet.sum() / 5


def _slice_of(ruler, volumes) -> int:
    from npc_desktop.core.annotation.cricoid import slice_index_of

    return slice_index_of(volumes[ruler.series_instance_uid], ruler.sop_instance_uid, ruler.frame_number)


def test_deidentified_variant_keeps_categories_and_measurements_but_drops_override_notes(
        staged, demo_study, demo_volumes, tmp_path) -> None:
    result, _ = staged
    current = tnm_annotations(demo_study, demo_volumes, override_t="T4")
    content = report_content(result, current, demo_volumes, current=current, key_image_count=0)
    identified = _flat(write_report_pdf(content, tmp_path / "id.pdf"))
    assert PLANTED_NOTE in identified
    anonymous = _flat(write_report_pdf(content.deidentified("PSEUDO-7"), tmp_path / "anon.pdf"))
    assert PLANTED_NOTE not in anonymous and "PLANTED" not in anonymous
    assert "T overridden to T4 by the clinician (derived: T3): note omitted in the de-identified copy" in anonymous
    assert "TNM: Stage IVA (T4 N3 M0)" in anonymous and "64.0 × 12.0 mm" in anonymous
    assert "AX T1 +C FS" not in anonymous  # series descriptions are replaced there too


def test_without_a_saved_form_the_section_says_so_in_one_line(staged, demo_study, demo_volumes, tmp_path) -> None:
    result, _ = staged
    rois = example_rois(demo_study)
    content = report_content(result, AnnotationSet(rois[0].study_instance_uid, rois), demo_volumes,
                             key_image_count=0)
    assert content.tnm is None
    text = _flat(write_report_pdf(content, tmp_path / "none.pdf"))
    assert NO_FORM_TEXT in text and "Discordant" not in text


def test_an_invalid_saved_form_names_the_field(staged, demo_study, demo_volumes) -> None:
    result, _ = staged
    current = tnm_annotations(demo_study, demo_volumes)
    form = dict(current.tnm_form, m="M7")
    current.set_tnm_form(form)
    with pytest.raises(ReportContentError, match=r"saved TNM form: .*tnm_form\.m"):
        report_content(result, current, demo_volumes, current=current)
