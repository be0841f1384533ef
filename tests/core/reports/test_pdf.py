"""The staging report: content checks, the PDF read back with poppler, the DICOM Encapsulated PDF."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.reports import (
    DISCLAIMER,
    UNTRAINED_BANNER,
    Institution,
    KeyImage,
    ModelDetails,
    PatchRow,
    PatientDetails,
    ReportContent,
    ReportContentError,
    SeriesUsed,
    SignOff,
    write_report_pdf,
)
from npc_desktop.core.reports.dicom_pdf import (
    EncapsulatedPdfError,
    SourceImage,
    encapsulate_pdf,
    read_encapsulated_pdf,
)
from npc_desktop.core.reports.figures import KIND_COLOURS_RGB, BoxOverlay, HeatmapOverlay, render_key_image
from tests.external_tools import dciodvfy_errors, pdf_pages_text, pdf_text, run_tool

MEMBERS = ("VGG16", "InceptionV3", "ResNet50", "InceptionResNetV2", "DenseNet121")
HASH = "3f9a" * 16
PLANTED = PatientDetails(
    name="Planted^Patient", patient_id="PID-884422", birth_date="19580317", sex="F", study_date="20261120",
    study_description="MR nasopharynx", accession_number="ACC-991177", study_instance_uid="1.2.826.0.1.3680043.8.498.1",
    study_time="101500", study_id="S-55", referring_physician="Referrer^Rita",
)


def make_content(*, untrained: bool = False, patches: int = 3, seed: int = 1) -> ReportContent:
    """A report with known probabilities: patient p(IVa) is the mean of three patches."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(patches):
        member = {m: (1 - p, p) for m, p in zip(MEMBERS, rng.uniform(0.55, 0.95, len(MEMBERS)))}
        ensemble = tuple(np.mean(list(member.values()), axis=0))
        rows.append(PatchRow("T1 contrast axial", f"s{12 + i} tumour", member, ensemble))
    patient_member = {m: tuple(np.mean([r.member_probabilities[m] for r in rows], axis=0)) for m in MEMBERS}
    patient = tuple(np.mean([r.ensemble_probabilities for r in rows], axis=0))
    slice_ = rng.normal(400, 60, (128, 128)).astype(np.float32)
    heat = np.outer(np.hanning(20), np.hanning(24))
    key = render_key_image(slice_, window=(400, 400), boxes=[BoxOverlay((40, 30, 60, 54), "tumour")],
                           heatmaps=[HeatmapOverlay(heat, (40, 30, 60, 54))])
    return ReportContent(
        institution=Institution("Test Hospital", "ENT"),
        patient=PLANTED,
        series=(SeriesUsed("T1 contrast axial", "MR", 3, 28, patches),),
        class_names=("III", "IVa"),
        patches=tuple(rows),
        patient_probabilities=patient,
        patient_member_probabilities=patient_member,
        model=ModelDetails("npc-ensemble", "1.0", HASH, MEMBERS, {"accuracy": 0.81}, untrained_demo=untrained),
        sign_off=SignOff("Dr. Reviewer", "Skull base involvement on slices 12-14.", "IVa"),
        key_images=(KeyImage(key, "T1 contrast axial", "slice 12: tumour"),),
    )


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReportContent, Path]:
    content = make_content()
    return content, write_report_pdf(content, tmp_path_factory.mktemp("report") / "report.pdf")


def test_stage_and_agreement_follow_the_probabilities() -> None:
    content = make_content()
    assert content.stage == "IVa"
    assert content.stage_probability == pytest.approx(content.patient_probabilities[1])
    assert content.agreement == (5, 5)


def test_pdf_text_holds_stage_probabilities_hash_and_disclaimer(report_pdf) -> None:
    content, path = report_pdf
    text = pdf_text(path)
    flat = " ".join(text.split())
    assert f"Stage IVa (p = {content.stage_probability:.2f}) - all 5 members agree" in flat
    assert HASH in flat
    assert " ".join(DISCLAIMER.split()[:12]) in flat
    for row in content.patches:
        for member in MEMBERS:
            assert f"{row.member_probabilities[member][1]:.3f}" in flat
        assert f"{row.ensemble_probabilities[1]:.3f}" in flat
    assert "Planted^Patient" in flat and "PID-884422" in flat and "1958-03-17" in flat
    assert "Skull base involvement" in flat and "Dr. Reviewer" in flat
    assert UNTRAINED_BANNER not in flat


def test_every_font_is_embedded(report_pdf) -> None:
    _, path = report_pdf
    result = run_tool("pdffonts", "poppler-utils", path)
    lines = result.stdout.splitlines()[2:]
    assert lines, result.stdout
    for line in lines:
        assert re.search(r"\byes\s+yes\s+yes\b", line), f"font not embedded: {line}"


def test_every_page_renders(report_pdf, tmp_path: Path) -> None:
    _, path = report_pdf
    result = run_tool("pdftoppm", "poppler-utils", "-r", "40", "-png", path, tmp_path / "page")
    assert result.returncode == 0, result.stderr
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == len(pdf_pages_text(path)) >= 1
    import cv2

    for page in pages:
        image = cv2.imread(str(page))
        assert image is not None and image.std() > 5, f"{page.name} looks blank"


@pytest.mark.parametrize(("page_size", "points"), [("A4", (595, 842)), ("Letter", (612, 792))])
def test_page_sizes(tmp_path: Path, page_size: str, points: tuple[int, int]) -> None:
    path = write_report_pdf(make_content(), tmp_path / "r.pdf", page_size=page_size)
    info = run_tool("pdfinfo", "poppler-utils", path).stdout
    width, height = (float(v) for v in re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(width), round(height)) == points


def test_unknown_page_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="A5"):
        write_report_pdf(make_content(), tmp_path / "r.pdf", page_size="A5")


def test_untrained_demo_is_marked_on_every_page(tmp_path: Path) -> None:
    path = write_report_pdf(make_content(untrained=True, patches=40), tmp_path / "demo.pdf")
    pages = pdf_pages_text(path)
    assert len(pages) >= 2, "the test needs a multi-page report"
    for number, page in enumerate(pages, start=1):
        assert UNTRAINED_BANNER in page, f"page {number} lacks the untrained banner"
    info = run_tool("pdfinfo", "poppler-utils", path).stdout
    assert "UNTRAINED DEMO" in info


def test_deidentified_variant_has_no_identifiers(tmp_path: Path) -> None:
    content = make_content().deidentified("NPC-0007")
    path = write_report_pdf(content, tmp_path / "deid.pdf")
    text = pdf_text(path) + run_tool("pdfinfo", "poppler-utils", path).stdout
    raw = path.read_bytes()
    for planted in ("Planted", "PID-884422", "19580317", "1958-03-17", "ACC-991177", PLANTED.study_instance_uid,
                    "2026-11-20", "Referrer"):
        assert planted not in text, planted
        assert planted.encode() not in raw, planted
    assert "NPC-0007" in text and "De-identified copy" in text
    assert content.stage == make_content().stage
    for free_text in ("T1 contrast axial", "MR nasopharynx", "Skull base involvement", "Dr. Reviewer"):
        assert free_text not in text, f"free text {free_text!r} may identify the patient"
    assert "Series 1" in text


def test_non_voting_baseline_does_not_count_in_agreement() -> None:
    content = make_content()
    members = dict(content.patient_member_probabilities)
    members["Basic CNN"] = (0.9, 0.1)  # disagrees, but has vote weight 0
    with_baseline = dataclasses.replace(content, patient_member_probabilities=members, non_voting=("Basic CNN",))
    assert with_baseline.agreement == (5, 5)
    assert dataclasses.replace(with_baseline, non_voting=()).agreement == (5, 6)


def test_logo_that_is_not_an_image_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "logo.png"
    fake.write_text("not an image")
    with pytest.raises(ReportContentError, match="logo.png: not a PNG or JPEG"):
        Institution("X", logo_path=fake)


def test_content_refuses_inconsistent_probabilities() -> None:
    content = make_content()
    with pytest.raises(ReportContentError, match="sum to"):
        dataclasses.replace(content, patient_probabilities=(0.5, 0.6))
    with pytest.raises(ReportContentError, match="3 probabilities for 2 classes"):
        dataclasses.replace(content, patient_probabilities=(0.2, 0.3, 0.5))
    with pytest.raises(ReportContentError, match="at least one staged patch"):
        dataclasses.replace(content, patches=())
    with pytest.raises(ReportContentError, match="logo"):
        Institution("X", logo_path=Path("/nonexistent/logo.png"))


def test_report_with_logo(tmp_path: Path) -> None:
    import cv2

    logo = tmp_path / "logo.png"
    cv2.imwrite(str(logo), np.full((64, 64, 3), (40, 90, 200), np.uint8))
    content = dataclasses.replace(make_content(), institution=Institution("Logo Hospital", logo_path=logo))
    path = write_report_pdf(content, tmp_path / "logo.pdf")
    images = run_tool("pdfimages", "poppler-utils", "-list", path).stdout
    assert len(images.splitlines()) - 2 >= 3  # logo, chart, key image
    assert "Logo Hospital" in pdf_text(path)


def test_unwritable_target_gives_a_clear_error(tmp_path: Path) -> None:
    from npc_desktop.core.reports import ReportWriteError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportWriteError, match="cannot write"):
        write_report_pdf(make_content(), blocker / "r.pdf")


def test_key_image_draws_box_and_heatmap() -> None:
    pixels = np.full((100, 100), 100.0, np.float32)
    heat = np.zeros((20, 20), np.float32)
    heat[8:12, 8:12] = 1.0
    rgb = render_key_image(pixels, window=(100, 200), boxes=[BoxOverlay((40, 40, 60, 60), "lymph_node")],
                           heatmaps=[HeatmapOverlay(heat, (40, 40, 60, 60))], max_side=100)
    assert rgb.shape == (100, 100, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[40, 50]) == KIND_COLOURS_RGB["lymph_node"]
    centre = rgb[50, 50].astype(int)
    assert centre[0] > centre[2] + 40, "a strong CAM value should be red"
    outside = rgb[10, 10].astype(int)
    assert outside[0] == outside[1] == outside[2] and abs(outside[0] - 128) <= 1, "outside the ROI stays grey"


def test_encapsulated_pdf_round_trip_and_dciodvfy(report_pdf, tmp_path: Path) -> None:
    _, path = report_pdf
    sources = [SourceImage("1.2.840.10008.5.1.4.1.1.4", "1.2.826.0.1.3680043.8.498.2")]
    dcm = encapsulate_pdf(path, tmp_path / "report.dcm", patient=PLANTED, source_images=sources)
    assert read_encapsulated_pdf(dcm) == path.read_bytes()
    assert dciodvfy_errors(dcm) == []
    import pydicom

    ds = pydicom.dcmread(dcm)
    assert ds.StudyInstanceUID == PLANTED.study_instance_uid
    assert ds.Modality == "DOC" and ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert ds.SourceInstanceSequence[0].ReferencedSOPInstanceUID == sources[0].sop_instance_uid


def test_encapsulation_refuses_non_pdf_and_missing_study(tmp_path: Path) -> None:
    not_pdf = tmp_path / "x.pdf"
    not_pdf.write_bytes(b"hello")
    with pytest.raises(EncapsulatedPdfError, match="x.pdf: not a PDF"):
        encapsulate_pdf(not_pdf, tmp_path / "x.dcm", patient=PLANTED)
    with pytest.raises(EncapsulatedPdfError, match="study instance UID"):
        encapsulate_pdf(b"%PDF-1.4 ...", tmp_path / "x.dcm", patient=PatientDetails())
    with pytest.raises(EncapsulatedPdfError, match="not a readable DICOM"):
        read_encapsulated_pdf(not_pdf)
