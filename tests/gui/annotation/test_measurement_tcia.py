"""A ruler drawn with the mouse reads the physical distance SimpleITK gives for the same two points:
on the real TCIA series, and on a series with non-square pixels."""

from __future__ import annotations

import math
from pathlib import Path

import pydicom
import pytest
import SimpleITK as sitk

from tests.gui.annotation.measuring import choose_tool, draw_line

pytestmark = pytest.mark.gui


def _sitk_distance(folder: Path, slice_index: int, start: tuple[float, float], end: tuple[float, float]) -> float:
    """Physical distance of two sub-pixel (row, column) points on a slice, by SimpleITK.

    The points use pixel edges (the centre of pixel (r, c) is (r + 0.5, c + 0.5)); SimpleITK's
    continuous indices address pixel centres, hence the half-pixel shift.
    """
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    a = image.TransformContinuousIndexToPhysicalPoint((start[1] - 0.5, start[0] - 0.5, float(slice_index)))
    b = image.TransformContinuousIndexToPhysicalPoint((end[1] - 0.5, end[0] - 0.5, float(slice_index)))
    return math.dist(a, b)


def _ruler_text(window, ruler) -> str:
    return window.grid.viewports[0].layers["measurements"].items[(ruler.id, "ruler")].text()


@pytest.mark.realdata
def test_ruler_on_tcia_reads_the_simpleitk_distance(qtbot, tcia_window, tcia_dir, artifacts_dir) -> None:
    window = tcia_window
    window.resize(1600, 1000)
    viewport = window.grid.viewports[0]
    choose_tool(qtbot, window, viewport, "ruler")
    start, end = draw_line(qtbot, viewport, (150.3, 170.6), (300.2, 260.4))
    (ruler,) = window.session.annotations.current.rulers
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(ruler.start + ruler.end, start + end))
    expected = _sitk_distance(tcia_dir, viewport.state.slice_index, start, end)
    assert _ruler_text(window, ruler) == f"{expected:.1f} mm"
    assert window.roi_list.measurements.row_texts()[0][1] == f"{expected:.1f} mm"
    window.grab().save(str(artifacts_dir / "measure_ruler_tcia_window.png"))


def test_ruler_on_non_square_pixels_reads_the_simpleitk_distance(qtbot, tmp_path, main_window, open_study,
                                                                 demo_study) -> None:
    folder = tmp_path / "aniso"
    folder.mkdir()
    for path in sorted((demo_study.root / "T2").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.PixelSpacing = [1.0, 0.5]  # rows 1.0 mm apart, columns 0.5 mm
        ds.save_as(folder / path.name, enforce_file_format=True)
    open_study(main_window, folder)
    viewport = main_window.grid.viewports[0]
    choose_tool(qtbot, main_window, viewport, "ruler")
    start, end = draw_line(qtbot, viewport, (40.2, 60.7), (150.6, 120.3))
    (ruler,) = main_window.session.annotations.current.rulers
    expected = _sitk_distance(folder, viewport.state.slice_index, start, end)
    assert math.isclose(ruler.length_mm((1.0, 0.5)), expected, rel_tol=1e-9)
    assert _ruler_text(main_window, ruler) == f"{expected:.1f} mm"
    # In pixels the drag is longer across than down; the ruler is not simply pixels times a spacing.
    assert not math.isclose(expected, math.dist(start, end) * 0.5, rel_tol=1e-3)
