"""Pixel aspect, MONOCHROME1 and orientation labels on series whose headers we control."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from npc_desktop.gui.viewer import geometry
from tests.gui.screens import grab, image_box, image_pixels

pytestmark = pytest.mark.gui


def _rewrite_series(source: Path, target: Path, **changes) -> None:
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        for keyword, value in changes.items():
            setattr(ds, keyword, value)
        ds.save_as(target / path.name, enforce_file_format=True)


def test_anisotropic_pixels_keep_their_aspect(tmp_path: Path, main_window, open_study, demo_study,
                                              artifacts_dir: Path) -> None:
    # Row spacing 1.0 mm, column spacing 0.5 mm: the 224 x 224 matrix is 112 mm wide, 224 mm high.
    folder = tmp_path / "aniso"
    _rewrite_series(demo_study.root / "T2", folder, PixelSpacing=[1.0, 0.5])
    open_study(main_window, folder)
    viewport = main_window.grid.viewports[0]
    assert viewport.state.volume.spacing[:2] == (0.5, 1.0)
    x0, y0, x1, y1 = image_box(viewport)
    assert abs((x1 - x0) / (y1 - y0) - 0.5) < 0.02
    grab(viewport, artifacts_dir / "aspect_half_width.png")


def test_monochrome1_is_shown_inverted(tmp_path: Path, main_window, open_study, demo_study) -> None:
    plain, inverted = tmp_path / "m2", tmp_path / "m1"
    _rewrite_series(demo_study.root / "T2", plain)
    _rewrite_series(demo_study.root / "T2", inverted, PhotometricInterpretation="MONOCHROME1")
    open_study(main_window, plain)
    normal = image_pixels(main_window.grid.viewports[0], grab(main_window.grid.viewports[0])).astype(float)
    open_study(main_window, inverted)
    viewport = main_window.grid.viewports[0]
    assert viewport.state.volume.invert
    flipped = image_pixels(viewport, grab(viewport)).astype(float)
    assert viewport.state.window == main_window.session.viewports[0].loaded.default_window
    # The corner overlays are not inverted: compare the middle of the image, away from them.
    rows, cols = normal.shape
    middle = (slice(rows // 5, rows - rows // 5), slice(cols // 5, cols - cols // 5))
    assert np.corrcoef(normal[middle].ravel(), flipped[middle].ravel())[0, 1] < -0.9


@pytest.mark.parametrize(
    "row, col, expected",
    [
        ((1, 0, 0), (0, 1, 0), {"left": "R", "right": "L", "top": "A", "bottom": "P"}),  # axial
        ((0, 1, 0), (0, 0, -1), {"left": "A", "right": "P", "top": "S", "bottom": "I"}),  # sagittal
        ((1, 0, 0), (0, 0, -1), {"left": "R", "right": "L", "top": "S", "bottom": "I"}),  # coronal
        ((0.94, 0.34, 0), (-0.34, 0.94, 0), {"left": "RA", "right": "LP", "top": "AL", "bottom": "PR"}),
    ],
)
def test_orientation_labels_follow_direction_cosines(row, col, expected) -> None:
    from npc_desktop.core.dicom import SeriesMeta, SliceRef, Volume

    direction = np.column_stack([row, col, np.cross(row, col)])
    meta = SeriesMeta(*[""] * 6, None, *[""] * 6)
    volume = Volume(np.zeros((1, 4, 4), np.uint16), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), direction,
                    [SliceRef("1")], meta)
    assert geometry.orientation_labels(volume) == expected
