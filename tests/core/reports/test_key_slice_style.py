"""The report's key slices: the workstation's ROI colours and orientation letters from the direction cosines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.colours import ROI_COLOURS, roi_colour_rgb
from npc_desktop.core.annotation.rois import RoiKind
from npc_desktop.core.dicom.geometry import edge_labels
from npc_desktop.core.reports import write_report_pdf
from npc_desktop.core.reports.assemble import report_content
from npc_desktop.core.reports.figures import EDGE_LABEL_RGB, BoxOverlay, render_key_image
from tests.conftest import REPO_ROOT, roi_from_demo_lesion
from tests.external_tools import pdf_text, run_tool

ORANGE_RED = (255, 106, 61)
"""The workstation's tumour colour, #ff6a3d."""


def _near(rgb: np.ndarray, colour: tuple[int, int, int], tolerance: int = 12) -> np.ndarray:
    return np.all(np.abs(rgb.astype(int) - np.array(colour)) <= tolerance, axis=-1)


def test_the_workstation_reads_its_roi_colours_from_the_core() -> None:
    from npc_desktop.gui.annotation.roi_style import KIND_COLOURS

    assert KIND_COLOURS is ROI_COLOURS
    assert roi_colour_rgb(RoiKind.TUMOUR) == roi_colour_rgb("tumour") == ORANGE_RED
    assert roi_colour_rgb("no such kind") == (255, 255, 0)


@pytest.mark.parametrize("direction, expected", [
    (np.eye(3), {"left": "R", "right": "L", "top": "A", "bottom": "P"}),  # axial
    (np.array([[0, 0, 1], [1, 0, 0], [0, -1, 0]], float),  # sagittal: columns go posterior, rows go down
     {"left": "A", "right": "P", "top": "S", "bottom": "I"}),
    (np.array([[1, 0, 0], [0, 0.94, 0.34], [0, -0.34, 0.94]], float).T,  # axial tilted towards coronal
     {"left": "R", "right": "L", "top": "AI", "bottom": "PS"}),
])
def test_edge_labels_follow_the_direction_cosines(direction: np.ndarray, expected: dict[str, str]) -> None:
    assert edge_labels(direction) == expected


def test_the_demo_series_are_axial(demo_volumes) -> None:
    for volume in demo_volumes.values():
        assert edge_labels(volume.direction) == {"left": "R", "right": "L", "top": "A", "bottom": "P"}


def test_key_image_draws_the_tumour_orange_red_and_the_edge_letters() -> None:
    pixels = np.full((120, 120), 100.0, np.float32)
    rgb = render_key_image(pixels, window=(100, 200), boxes=[BoxOverlay((40, 40, 80, 80), "tumour")],
                           orientation={"left": "R", "right": "L", "top": "A", "bottom": "P"}, max_side=240)
    scale = rgb.shape[0] / 120
    assert tuple(rgb[round(40 * scale), round(60 * scale)]) == ORANGE_RED
    assert not _near(rgb, (255, 79, 216), 30).any(), "no magenta outline any more"
    yellow = _near(rgb, EDGE_LABEL_RGB, 40)
    height, width = yellow.shape
    middle = slice(height // 2 - 15, height // 2 + 15)
    centre = slice(width // 2 - 15, width // 2 + 15)
    assert yellow[middle, :20].any(), "left letter"
    assert yellow[middle, -20:].any(), "right letter"
    assert yellow[:20, centre].any(), "top letter"
    assert yellow[-20:, centre].any(), "bottom letter"
    assert not yellow[20:-20, 20:-20].any(), "letters only at the edges"


@pytest.mark.slow
def test_demo_report_key_slices_use_app_colours_and_letters(demo_study, demo_volumes, tiny_demo_engine,
                                                            tmp_path: Path) -> None:
    annotations = AnnotationSet(demo_study.study_instance_uid)
    tumour = max((les for les in demo_study.lesions_for("T1C") if les.kind == "tumour"),
                 key=lambda les: (les.bbox[2] - les.bbox[0]) * (les.bbox[3] - les.bbox[1]))
    annotations.add(roi_from_demo_lesion(demo_study, tumour))
    result = tiny_demo_engine.stage_annotations(annotations, demo_volumes)
    content = report_content(result, annotations, demo_volumes, key_image_count=1)
    rgb = content.key_images[0].rgb
    assert _near(rgb, ORANGE_RED, 3).sum() > 100, "the tumour outline in the workstation's orange-red"
    assert not _near(rgb, (255, 79, 216), 30).any()
    yellow = _near(rgb, EDGE_LABEL_RGB, 40)
    height, width = yellow.shape
    assert yellow[height // 2 - 20: height // 2 + 20, :30].any() and yellow[:30, width // 2 - 20: width // 2 + 20].any()
    pdf = write_report_pdf(content, tmp_path / "report.pdf")
    assert "orange-red tumour, teal lymph node" in " ".join(pdf_text(pdf).split())
    artifacts = REPO_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    rendered = run_tool("pdftoppm", "poppler-utils", "-png", "-r", "80", pdf, artifacts / "report_key_slices")
    assert rendered.returncode == 0, rendered.stderr
