"""``npc_desktop.gui.app.run`` as the command line and the installer's smoke test call it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from tests.conftest import REPO_ROOT

from .screens import to_gray

pytestmark = pytest.mark.gui

SCRIPT = textwrap.dedent(
    """
    import sys
    from npc_desktop.gui.app import run
    path = sys.argv[1] or None
    code = run(path, exit_after_ms=150, screenshot=sys.argv[2])
    print("tensorflow" in sys.modules, flush=True)
    sys.exit(code)
    """
)


def _run(tmp_path: Path, path: str, screenshot: Path, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
                       XDG_CACHE_HOME=str(tmp_path / "cache"),
                       XDG_DATA_HOME=str(tmp_path / "data"), **env)
    return subprocess.run([sys.executable, "-c", SCRIPT, path, str(screenshot)], cwd=REPO_ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_run_without_path_shows_the_demo_two_up(tmp_path: Path, artifacts_dir: Path) -> None:
    screenshot = artifacts_dir / "run_demo.png"
    screenshot.unlink(missing_ok=True)
    result = _run(tmp_path, "", screenshot)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", "TensorFlow must not be imported on the start-up path"
    assert "Traceback" not in result.stderr
    image = to_gray(QImage(str(screenshot)))
    assert image.shape[1] >= 1000
    # Both halves of the viewer area show an image (not the empty black viewport).
    height, width = image.shape
    middle = image[height // 4: 3 * height // 4]
    left, right = middle[:, width // 4: width // 2], middle[:, 3 * width // 4:]
    assert left.std() > 20 and right.std() > 20
    assert (tmp_path / "cache" / "npc-desktop").is_dir()  # the demo study went to the user cache
    # The demo opens on its example ROIs, saved in the user data folder, and the screenshot shows
    # them: outlines in the tumour colour (orange-red) inside the viewers.
    saved = list((tmp_path / "data" / "npc-desktop" / "annotations").glob("study-*.json"))
    assert len(saved) == 1
    colour = QImage(str(screenshot)).convertToFormat(QImage.Format.Format_RGB888)
    rgb = np.frombuffer(colour.constBits(), np.uint8, colour.bytesPerLine() * colour.height())
    rgb = rgb.reshape(colour.height(), colour.bytesPerLine())[:, : 3 * colour.width()].reshape(
        colour.height(), colour.width(), 3).astype(int)
    tumour = (abs(rgb[..., 0] - 0xFF) < 40) & (abs(rgb[..., 1] - 0x6A) < 40) & (abs(rgb[..., 2] - 0x3D) < 40)
    viewers = tumour[height // 6: 5 * height // 6, width // 5: 3 * width // 4]
    assert viewers.sum() > 200, "no ROI outline visible in the viewers"


def test_run_with_a_bad_path_exits_1_with_a_message(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    result = _run(tmp_path, str(missing), tmp_path / "shot.png")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (tmp_path / "shot.png").is_file()


@pytest.mark.realdata
def test_high_dpi_screenshot_is_sharp_and_unclipped(tmp_path: Path, tcia_dir: Path, artifacts_dir: Path) -> None:
    screenshot = artifacts_dir / "run_tcia_scale2.png"
    result = _run(tmp_path, str(tcia_dir), screenshot, QT_SCALE_FACTOR="2")
    assert result.returncode == 0, result.stderr
    image = QImage(str(screenshot))
    assert image.width() >= 2 * 1000  # rendered at device pixels, not upscaled
    gray = to_gray(image)
    assert np.percentile(gray, 99) > 150
