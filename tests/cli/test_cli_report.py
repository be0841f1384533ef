"""``npc-desktop report`` as a user calls it: PDF, de-identified variant, DICOM Encapsulated PDF."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from npc_desktop.cli.main import main
from tests.conftest import roi_from_demo_lesion
from tests.external_tools import dciodvfy_errors, pdf_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle_dir(small_onnx_bundle: Path) -> Path:
    return small_onnx_bundle


@pytest.fixture(scope="module")
def annotation_file(demo_study: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.labels import PatientLabel, Stage

    tumours = [l for l in demo_study.lesions if l.kind == "tumour" and l.series_key == "T1C"]
    annotations = AnnotationSet(demo_study.study_instance_uid, [roi_from_demo_lesion(demo_study, tumours[0])])
    annotations.set_label(PatientLabel(stage=Stage.III, reviewer="Dr. Cli", note="Clinical note for the record."))
    path = tmp_path_factory.mktemp("report-annotations") / "rois.json"
    path.write_text(json.dumps(annotations.to_dict()))
    return path


def test_report_with_dicom(demo_study: Any, bundle_dir: Path, annotation_file: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    pdf, dcm = tmp_path / "report.pdf", tmp_path / "report.dcm"
    status = main(["report", str(demo_study.root), "-o", str(pdf), "--bundle", str(bundle_dir),
                   "--annotations", str(annotation_file), "--dicom", str(dcm), "--institution", "Cli Hospital",
                   "--page-size", "Letter"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "report written to" in out and "DICOM Encapsulated PDF written to" in out
    text = " ".join(pdf_text(pdf).split())
    assert "Cli Hospital" in text and re.search(r"Stage (III|IVa) \(p = [01]\.\d\d\) - ", text) and "Dr. Cli" in text
    assert "Clinical note for the record." in text and "Stage recorded by the clinician: III" in text
    assert demo_study.patient_id in text
    assert "UNTRAINED" not in text, "a real bundle's report must not carry the demo banner"
    assert dciodvfy_errors(dcm) == []


def test_deidentified_report(demo_study: Any, bundle_dir: Path, annotation_file: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "deid.pdf"
    assert main(["report", str(demo_study.root), "-o", str(pdf), "--bundle", str(bundle_dir),
                 "--annotations", str(annotation_file), "--deidentified", "STUDY-0042"]) == 0
    text = pdf_text(pdf)
    raw = pdf.read_bytes()
    assert "STUDY-0042" in text
    for identifier in (demo_study.patient_id, demo_study.study_instance_uid, "SYNTHETIC PATIENT"):
        assert identifier not in text and identifier.encode() not in raw


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "choose a model bundle"),
        (["--demo-bundle", "--logo", "/nonexistent/logo.png"], "logo"),
        (["--demo-bundle", "--deidentified", "--dicom", "x.dcm"], "cannot be combined"),
    ],
)
def test_bad_options_exit_2_with_a_message(demo_study: Any, annotation_file: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    status = main(["report", str(demo_study.root), "-o", str(tmp_path / "r.pdf"), "--annotations",
                   str(annotation_file), *extra])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err
