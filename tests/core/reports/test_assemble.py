"""A report built from a real staging run of the (tiny, untrained) ensemble on the demo study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel, Stage
from npc_desktop.core.reports import UNTRAINED_BANNER, write_report_pdf
from npc_desktop.core.reports.assemble import flatten_metrics, report_content, source_images, stage_label_text
from npc_desktop.core.reports.dicom_pdf import encapsulate_pdf, read_encapsulated_pdf
from tests.conftest import roi_from_demo_lesion
from tests.external_tools import dciodvfy_errors, pdf_pages_text, pdf_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def staged(demo_study, demo_volumes, tiny_demo_engine):
    annotations = AnnotationSet(demo_study.study_instance_uid)
    chosen = [l for l in demo_study.lesions if l.kind == "tumour"][:2] + [
        l for l in demo_study.lesions if l.kind == "node"][:2]
    for lesion in chosen:
        annotations.add(roi_from_demo_lesion(demo_study, lesion))
    annotations.set_label(PatientLabel(stage=Stage.IVA, reviewer="Dr. Test", note="Parapharyngeal extension."))
    result = tiny_demo_engine.stage_annotations(annotations, demo_volumes)
    return annotations, result


def test_content_matches_the_result(staged, demo_volumes) -> None:
    annotations, result = staged
    content = report_content(result, annotations, demo_volumes, key_image_count=2)
    assert content.untrained and content.class_names == result.class_names
    assert content.stage == result.patient.predicted
    np.testing.assert_allclose(content.patient_probabilities, result.patient.probabilities, atol=1e-6)
    assert len(content.patches) == len(result.patches) == 4
    for row, patch in zip(content.patches, result.patches):
        np.testing.assert_allclose(row.ensemble_probabilities, patch.probabilities, atol=1e-6)
        assert list(row.member_probabilities) == ["VGG16", "InceptionV3", "ResNet50", "InceptionResNetV2",
                                                  "DenseNet121"]
    assert 1 <= len(content.key_images) <= 2
    assert content.sign_off.clinician_stage == "IVa" and content.sign_off.reviewer == "Dr. Test"
    assert content.patient.study_instance_uid == demo_study_uid(demo_volumes)
    assert sum(s.patch_count for s in content.series) == 4


def demo_study_uid(volumes) -> str:
    return next(iter(volumes.values())).meta.study_instance_uid


def test_key_image_shows_the_heatmap(staged, demo_volumes) -> None:
    annotations, result = staged
    content = report_content(result, annotations, demo_volumes, key_image_count=1)
    rgb = content.key_images[0].rgb.astype(int)
    colourful = np.abs(rgb[..., 0] - rgb[..., 2]) > 60
    assert colourful.mean() > 0.01, "the Grad-CAM colours should be visible on the key slice"


def test_demo_report_pdf_and_encapsulation(staged, demo_volumes, tmp_path: Path) -> None:
    annotations, result = staged
    content = report_content(result, annotations, demo_volumes)
    path = write_report_pdf(content, tmp_path / "demo-report.pdf")
    for page in pdf_pages_text(path):
        assert UNTRAINED_BANNER in page
    text = " ".join(pdf_text(path).split())
    assert result.bundle_hash in text
    assert result.headline() in text  # the panel's and the CLI's headline, split or not
    sources = source_images(result, demo_volumes)
    assert len(sources) == len({p.sop_instance_uid for p in result.patches})
    dcm = encapsulate_pdf(path, tmp_path / "report.dcm", patient=content.patient, source_images=sources)
    assert read_encapsulated_pdf(dcm) == path.read_bytes()
    assert dciodvfy_errors(dcm) == []


def test_report_without_a_header_window_uses_the_automatic_one(staged, demo_volumes, tmp_path: Path) -> None:
    import dataclasses

    annotations, result = staged
    no_window = {uid: dataclasses.replace(v, window=None) for uid, v in demo_volumes.items()}
    content = report_content(result, annotations, no_window, key_image_count=1)
    assert content.key_images and content.key_images[0].rgb.std() > 10


def test_label_given_at_report_time_wins(staged, demo_volumes) -> None:
    annotations, result = staged
    later = PatientLabel(stage=Stage.III, reviewer="Dr. Later", note="Written after staging.")
    content = report_content(result, annotations, demo_volumes, key_image_count=0, label=later)
    assert content.sign_off.note == "Written after staging." and content.sign_off.clinician_stage == "III"


def test_stage_label_text_marks_the_demo(staged) -> None:
    _, result = staged
    assert stage_label_text(result).startswith(UNTRAINED_BANNER)


def test_flatten_metrics_keeps_numbers_only() -> None:
    flat = flatten_metrics({"ensemble": {"accuracy": 0.81, "auc": 0.86, "note": "x"}, "patients": 40, "ok": True})
    assert flat == {"ensemble accuracy": 0.81, "ensemble auc": 0.86, "patients": 40.0}


def test_report_says_how_the_bundle_calibrates_and_weights_its_members(
        staged, demo_volumes, tiny_demo_engine, tmp_path: Path) -> None:
    from dataclasses import replace

    annotations, result = staged
    manifest = tiny_demo_engine.bundle.manifest
    calibrated = replace(
        manifest, members=tuple(replace(m, temperature=1.5) for m in manifest.members),
        calibration={
            "temperature": {"method": "nll", "fitted_on": "118 validation patches of 13 validation patients"},
            "ensemble_temperature": {"method": "nll", "value": 0.8},
            "vote_weights": {"method": "equal", "reason": "equal weights chosen: lower validation log-loss"},
            "patient_threshold": {"method": "argmax", "class": "", "value": None}, "validation": {},
        })
    content = report_content(result, annotations, demo_volumes, manifest=calibrated, key_image_count=1)
    assert any("equal weights chosen" in line for line in content.model.calibration)
    text = " ".join(pdf_text(write_report_pdf(content, tmp_path / "calibrated.pdf")).split())
    assert "Calibration: Vote weights (equal)" in text and "softmax(log p / 0.800)" in text
