"""Start the workstation: the QApplication, the theme, the main window and the event loop.

Nothing on this path imports TensorFlow: the first image must be on screen in well under two
seconds, and the ensemble is loaded lazily by its own worker when staging is first asked for.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from npc_desktop import __version__
from npc_desktop.gui.main_window import MainWindow

log = logging.getLogger(__name__)

ORGANISATION = "NPC Desktop"
APPLICATION = "NPC Desktop"
STYLE_SHEET = Path(__file__).resolve().parents[2] / "resources" / "style.qss"
SMOKE_TIMEOUT_MS = 120_000
"""With ``exit_after_ms``, give up (exit status 1) if no image was shown by then."""


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options, set once: DICOM arrays are (row, column)."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="k", foreground="w")


def dark_palette() -> QPalette:
    """A neutral dark palette: reading rooms are dim, and a bright frame distorts perceived grey."""
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: QColor(37, 38, 41),
        QPalette.ColorRole.WindowText: QColor(220, 221, 224),
        QPalette.ColorRole.Base: QColor(27, 28, 30),
        QPalette.ColorRole.AlternateBase: QColor(33, 34, 37),
        QPalette.ColorRole.ToolTipBase: QColor(50, 52, 56),
        QPalette.ColorRole.ToolTipText: QColor(230, 230, 230),
        QPalette.ColorRole.Text: QColor(220, 221, 224),
        QPalette.ColorRole.Button: QColor(48, 50, 54),
        QPalette.ColorRole.ButtonText: QColor(220, 221, 224),
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Highlight: QColor(44, 112, 196),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(90, 160, 255),
        QPalette.ColorRole.PlaceholderText: QColor(130, 130, 135),
    }
    for role, colour in colours.items():
        palette.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(115, 116, 120))
    return palette


def apply_theme(app: QApplication) -> None:
    """Fusion style, the dark palette and the style sheet from resources/ (if present)."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    try:
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
    except OSError:
        log.warning("style sheet %s not found; using the plain dark palette", STYLE_SHEET)


def create_application(argv: Optional[list[str]] = None) -> QApplication:
    """The QApplication (reused if one exists), named for QSettings, themed, high-DPI correct."""
    app = QApplication.instance()
    if app is None:
        # Fractional scale factors (125 %, 150 %) are used as they are instead of rounded,
        # so text and images keep their intended size on clinical monitors.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setApplicationDisplayName(APPLICATION)
    configure_pyqtgraph()
    apply_theme(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def create_main_window(path: Optional[str] = None, *, settings: Optional[QSettings] = None,
                       load_models: bool = True) -> MainWindow:
    """Show the main window and start opening ``path`` (the demo study when None).

    Call :func:`create_application` first. With ``load_models`` the staging models load in the
    background once the first image is shown.
    """
    window = MainWindow(settings=settings, load_models=load_models)
    window.show()
    window.open_path(path)
    return window


def _install_excepthook(window: MainWindow) -> None:
    """Unexpected errors in event handlers are logged and reported in words, not as a traceback."""

    def hook(kind: type[BaseException], value: BaseException, tb: Optional[TracebackType]) -> None:
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        window.show_error("Unexpected error", f"{kind.__name__}: {value}\n\nThe details were written to the log.")

    sys.excepthook = hook


def run(path: Optional[str] = None, *, exit_after_ms: Optional[int] = None, screenshot: Optional[str] = None) -> int:
    """Run the workstation until its window is closed; return the exit status.

    Parameters
    ----------
    path
        Folder, DICOMDIR, zip archive or DICOM file to open; the demo study when None.
    exit_after_ms
        Quit this many milliseconds after the first image is shown (smoke tests). If opening
        fails instead, quit as long after the error with status 1.
    screenshot
        With ``exit_after_ms``: save a PNG of the window here just before quitting.

    Returns
    -------
    int
        0 on success, 1 when the smoke run showed no image.
    """
    app = create_application()
    # A smoke run quits before the models could be used: it does not load them.
    window = create_main_window(path, load_models=exit_after_ms is None)
    previous_hook = sys.excepthook
    _install_excepthook(window)
    status = {"code": 0, "done": False}

    def finish(code: int) -> None:
        if status["done"]:
            return
        status["done"] = True
        status["code"] = code
        if screenshot:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(screenshot)
        window.close()
        app.exit(code)

    if exit_after_ms is not None:
        delay = max(0, int(exit_after_ms))
        window.first_image_shown.connect(lambda: QTimer.singleShot(delay, lambda: finish(0)))
        window.session.error_occurred.connect(lambda *_: QTimer.singleShot(delay, lambda: finish(1)))
        QTimer.singleShot(SMOKE_TIMEOUT_MS, lambda: finish(1))
    try:
        code = app.exec()
    finally:
        sys.excepthook = previous_hook
    if window.isVisible():
        window.close()
    return status["code"] if exit_after_ms is not None else int(code)
