"""The slice viewer on the real 120-slice TCIA series, driven by real mouse and keyboard events."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from npc_desktop.core.preprocessing import apply_clahe, percentile_window, window_to_uint8
from npc_desktop.gui.state import Preset
from tests.gui.screens import correlation, drag, expected_view, grab, image_box, image_pixels, matching_slice, wheel

pytestmark = [pytest.mark.gui, pytest.mark.realdata]


def _viewport(window):
    return window.grid.viewports[0]


def _drag_slider(qtbot, slider, value: int) -> None:
    """Drag the slider's handle with the mouse to where ``value`` lies."""
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    style = slider.style()
    handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider)
    groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, slider)
    span = groove.width() - handle.width()
    x = groove.left() + handle.width() // 2 + round(span * value / slider.maximum())
    start = handle.center()
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 6):
        qtbot.mouseMove(slider, QPoint(start.x() + (x - start.x()) * i // 5, start.y()))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, start.y()))


def test_opens_middle_slice_with_overlays(tcia_window, artifacts_dir) -> None:
    window = tcia_window
    viewport = _viewport(window)
    state = viewport.state
    assert state.volume.shape == (120, 512, 512)
    assert window.session.layout == 1 and not window.grid.viewports[1].isVisible()
    assert state.slice_index == 60 and viewport.slider.value() == 60
    corners = viewport.canvas.corners
    assert corners["tl"][0] == "VS-SEG-001" and corners["tl"][1].startswith("ID VS-SEG-001")
    assert "1994-09-04" in corners["tl"][2]
    assert corners["tr"][0] == "t1_mpr_tra_gk_v4"
    assert corners["bl"][0] == "Im 61 / 120"
    assert corners["br"][0] == "W 1167   L 604"  # the header's window
    assert viewport.canvas.edges == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    gray = grab(viewport, artifacts_dir / "tcia_opened.png")
    window.grab().save(str(artifacts_dir / "tcia_window.png"))
    best, scores = matching_slice(viewport, gray)
    assert best == 60, f"screen shows slice {best}, not 60 (scores around: {scores[55:66]})"
    assert scores[60] > 0.97


def test_pixel_aspect_is_square_and_fits(tcia_window) -> None:
    viewport = _viewport(tcia_window)
    x0, y0, x1, y1 = image_box(viewport)
    width, height = x1 - x0, y1 - y0
    assert abs(width - height) <= 1  # 512 x 0.41 mm both ways
    canvas = viewport.canvas.viewport()
    assert min(canvas.width(), canvas.height()) - 2 <= max(width, height) <= min(canvas.width(), canvas.height()) + 1


def test_scrolls_with_wheel_keys_and_slider(qtbot, tcia_window, artifacts_dir) -> None:
    viewport = _viewport(tcia_window)
    canvas = viewport.canvas
    session = tcia_window.session
    wheel(canvas.viewport(), 3)  # three notches towards the user: three slices on
    assert viewport.state.slice_index == 63
    wheel(canvas.viewport(), -1)
    assert viewport.state.slice_index == 62
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert canvas.hasFocus()
    for key, expected in [(Qt.Key.Key_Down, 63), (Qt.Key.Key_Right, 64), (Qt.Key.Key_Up, 63),
                          (Qt.Key.Key_PageDown, 73), (Qt.Key.Key_PageUp, 63), (Qt.Key.Key_End, 119),
                          (Qt.Key.Key_Down, 119), (Qt.Key.Key_Home, 0), (Qt.Key.Key_Up, 0)]:
        qtbot.keyClick(canvas, key)
        assert viewport.state.slice_index == expected, key
    assert viewport.slider.value() == 0
    _drag_slider(qtbot, viewport.slider, 85)
    shown = session.viewports[0].slice_index
    assert abs(shown - 85) <= 1 and viewport.slider.value() == shown
    assert canvas.corners["bl"][0] == f"Im {shown + 1} / 120"
    gray = grab(viewport, artifacts_dir / "tcia_slice_86.png")
    assert matching_slice(viewport, gray)[0] == shown


def test_right_drag_sets_window_level_live(qtbot, tcia_window, artifacts_dir) -> None:
    viewport = _viewport(tcia_window)
    canvas = viewport.canvas
    before = image_pixels(viewport, grab(viewport)).astype(float)
    centre0, width0 = viewport.state.window
    start = canvas.viewport().rect().center()
    drag(qtbot, canvas.viewport(), Qt.MouseButton.RightButton, start, QPoint(80, 120))
    centre, width = viewport.state.window
    assert width > width0 * 1.2 and centre > centre0 * 1.3  # right: wider, down: higher level
    assert canvas.corners["br"][0] == f"W {round(width)}   L {round(centre)}"
    darker = image_pixels(viewport, grab(viewport, artifacts_dir / "tcia_wl_darker.png")).astype(float)
    assert darker.mean() < before.mean() - 15
    drag(qtbot, canvas.viewport(), Qt.MouseButton.RightButton, start, QPoint(-140, -200))
    centre2, width2 = viewport.state.window
    assert width2 < width0 and centre2 < centre0
    brighter = image_pixels(viewport, grab(viewport, artifacts_dir / "tcia_wl_brighter.png")).astype(float)
    assert brighter.mean() > before.mean() + 15
    assert np.abs(brighter - darker).mean() > 30
    # The display uses the window: it matches the core's windowing of the same slice.
    size = (brighter.shape[1], brighter.shape[0])
    expected = expected_view(viewport.state.volume.voxels[60], (centre2, width2), size)
    assert correlation(brighter, expected) > 0.97


def test_presets_and_reset(qtbot, tcia_window) -> None:
    window = tcia_window
    viewport = _viewport(window)
    loaded = viewport.state.loaded
    qtbot.mouseClick(viewport.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_2)
    lo, hi = np.percentile(loaded.volume.voxels[::5, ::2, ::2], [1, 99])
    centre, width = viewport.state.window
    assert viewport.state.preset is Preset.AUTO
    assert abs(centre - width / 2 - lo) < 0.05 * (hi - lo) and abs(centre + width / 2 - hi) < 0.05 * (hi - lo)
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_3)
    assert viewport.state.window == loaded.presets[Preset.MR_T1C]
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_4)
    assert viewport.state.window == loaded.presets[Preset.MR_T2]
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_R)
    assert viewport.state.window == (604.0, 1167.0)
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_1)
    assert viewport.state.preset is Preset.HEADER
    assert percentile_window(np.arange(100), 1, 99)[1] > 0  # the auto preset's core function


def test_ctrl_wheel_zooms_about_pointer_and_f_fits(qtbot, tcia_window, artifacts_dir) -> None:
    viewport = _viewport(tcia_window)
    canvas = viewport.canvas
    view0 = canvas.view_state()
    pointer = QPoint(canvas.viewport().width() // 3, canvas.viewport().height() // 3)
    under_pointer = canvas.view_box.mapSceneToView(canvas.mapToScene(pointer))
    wheel(canvas.viewport(), -2, pointer, Qt.KeyboardModifier.ControlModifier)
    view1 = canvas.view_state()
    assert view1.width < view0.width / 1.5
    assert viewport.state.slice_index == 60  # Ctrl+wheel zooms, it does not scroll
    after = canvas.view_box.mapSceneToView(canvas.mapToScene(pointer))
    assert abs(after.x() - under_pointer.x()) < 1.0 and abs(after.y() - under_pointer.y()) < 1.0
    assert canvas.corners["br"][1].startswith("Zoom ")
    grab(viewport, artifacts_dir / "tcia_zoomed.png")
    drag(qtbot, canvas.viewport(), Qt.MouseButton.LeftButton, canvas.viewport().rect().center(), QPoint(100, 0))
    view2 = canvas.view_state()
    assert view2.centre_x < view1.centre_x - 5  # dragging right shows what was on the left
    qtbot.keyClick(canvas, Qt.Key.Key_F)
    view3 = canvas.view_state()
    assert abs(view3.width - view0.width) < 0.5 and abs(view3.centre_x - view0.centre_x) < 0.5
    qtbot.keyClick(canvas, Qt.Key.Key_Z)  # zoom tool: left drag up magnifies
    drag(qtbot, canvas.viewport(), Qt.MouseButton.LeftButton, canvas.viewport().rect().center(), QPoint(0, -60))
    assert canvas.view_state().width < view3.width / 1.3


def test_cursor_readout_value_and_patient_mm(qtbot, tcia_window) -> None:
    window = tcia_window
    viewport = _viewport(window)
    canvas = viewport.canvas
    x0, y0, x1, y1 = image_box(viewport)
    pos = QPoint(x0 + (x1 - x0) * 3 // 5, y0 + (y1 - y0) * 2 // 5)
    qtbot.mouseMove(canvas.viewport(), pos)
    qtbot.wait(20)
    item_point = canvas.image_item.mapFromScene(canvas.mapToScene(pos))
    row, column = int(item_point.y()), int(item_point.x())
    volume = viewport.state.volume
    value = int(volume.voxels[60, row, column])
    x, y, z = volume.index_to_patient(60, row, column)
    lines = canvas.corners["bl"]
    assert lines[2] == f"x {x:.1f}  y {y:.1f}  z {z:.1f} mm"
    assert lines[3].startswith(f"Val {value}   [{column}, {row}]")
    assert f"value {value}" in window.cursor_label.text()
    qtbot.keyClick(canvas, Qt.Key.Key_Down)  # the readout follows the slice under a still pointer
    assert canvas.corners["bl"][3].startswith(f"Val {int(volume.voxels[61, row, column])}")


def test_clahe_preview_shows_the_core_result(qtbot, tcia_window, artifacts_dir) -> None:
    window = tcia_window
    viewport = _viewport(window)
    plain = image_pixels(viewport, grab(viewport))
    qtbot.mouseClick(viewport.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.keyClick(viewport.canvas, Qt.Key.Key_C)
    assert window.session.clahe.enabled and window.clahe_panel.enabled.isChecked()
    shown = image_pixels(viewport, grab(viewport, artifacts_dir / "tcia_clahe.png"))
    state = viewport.state
    size = (shown.shape[1], shown.shape[0])
    import cv2

    clahe = cv2.resize(apply_clahe(window_to_uint8(state.volume.voxels[60], *state.window)), size,
                       interpolation=cv2.INTER_AREA)
    windowed = expected_view(state.volume.voxels[60], state.window, size)
    assert correlation(shown, clahe) > 0.95
    assert correlation(shown, clahe) > correlation(shown, windowed)
    assert "CLAHE" in viewport.canvas.corners["br"][-1]
    window.clahe_panel.clip.setValue(8.0)
    stronger = image_pixels(viewport, grab(viewport))
    assert np.abs(stronger.astype(float) - shown).mean() > 2
    window.clahe_panel.enabled.click()
    assert not window.session.clahe.enabled
    assert np.abs(image_pixels(viewport, grab(viewport)).astype(float) - plain).mean() < 1
