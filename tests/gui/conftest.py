"""GUI test setup: offscreen Qt, isolated settings and cache, a main window, screenshot helpers."""

from __future__ import annotations

import os
import tempfile

# Before Qt is imported anywhere: no display needed, and the user's settings and demo cache are
# never touched by a test run.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_SANDBOX = tempfile.mkdtemp(prefix="npc-gui-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_SANDBOX, "config")
os.environ["XDG_CACHE_HOME"] = os.path.join(_SANDBOX, "cache")
os.environ["XDG_DATA_HOME"] = os.path.join(_SANDBOX, "data")  # annotation files, should a test not inject a folder

from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Callable, Iterator, Optional  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from tests.conftest import REPO_ROOT  # noqa: E402

if TYPE_CHECKING:
    from npc_desktop.gui.main_window import MainWindow

ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/ under the repository (gitignored): screenshots for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def gui_settings(tmp_path: Path) -> QSettings:
    """A private INI settings store for one test."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def annotation_dir(tmp_path: Path) -> Path:
    """The annotation folder of one test (never the user's data folder)."""
    return tmp_path / "annotations"


def _no_models():
    """Engine factories that refuse: a test that did not ask for models never builds the real ones."""
    from npc_desktop.gui.staging.engine_factories import EngineFactories

    def refuse(*_args):
        def build(progress, cancel):
            raise RuntimeError("this test has no staging models (use the tiny_factories fixture)")

        return build

    return EngineFactories(demo=refuse, bundle=refuse)


@pytest.fixture(scope="session")
def tiny_factories(tiny_demo_engine):
    """Engine factories for GUI staging tests: the session's tiny demo engine, and bundles as the app loads them."""
    from npc_desktop.gui.staging.engine_factories import EngineFactories
    from npc_desktop.gui.staging.inference_worker import bundle_engine_factory

    return EngineFactories(demo=lambda: (lambda progress, cancel: tiny_demo_engine),
                           bundle=lambda path: bundle_engine_factory(path, batch_size=1))


@pytest.fixture
def make_window(qtbot, qapp, gui_settings: QSettings, annotation_dir: Path) -> Callable[..., MainWindow]:
    """Build shown 1440 x 900 main windows that share the test's settings and annotation folder.

    The staging models do not load unless asked: pass ``engine_factories`` (``tiny_factories``) and
    ``load_models=True`` or start them from the test.
    """
    from npc_desktop.core.annotation.store import AnnotationStore
    from npc_desktop.gui.app import create_application
    from npc_desktop.gui.main_window import MainWindow  # noqa: F811 - imported here, after QT_QPA_PLATFORM

    create_application()

    def _make(directory: Optional[Path] = None, *, engine_factories=None, load_models: bool = False) -> MainWindow:
        window = MainWindow(settings=gui_settings, annotation_store=AnnotationStore(directory or annotation_dir),
                            engine_factories=engine_factories or _no_models(), load_models=load_models)
        qtbot.addWidget(window)
        window.resize(1440, 900)
        window.show()
        qtbot.waitExposed(window)
        # Shortcuts and keyboard focus need the active window (matters on a real X server).
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        return window

    return _make


@pytest.fixture
def main_window(make_window) -> Iterator[MainWindow]:
    """A shown 1440 x 900 main window with nothing open."""
    window = make_window()
    yield window
    window.close()


@pytest.fixture
def open_study(qtbot) -> Callable[..., None]:
    """Open a path in a window and wait until every viewport that gets a series shows it."""

    def _open(window, path: Optional[Path], expected_viewports: int = 1, timeout: int = 20000) -> None:
        session = window.session
        with qtbot.waitSignal(session.study_indexed, timeout=timeout):
            window.open_path(None if path is None else str(path))
        qtbot.waitUntil(
            lambda: sum(s.loaded is not None for s in session.viewports) >= expected_viewports
            and not session.jobs.busy,
            timeout=timeout,
        )
        for viewport in window.grid.viewports[:expected_viewports]:
            qtbot.waitUntil(lambda v=viewport: v.canvas.has_image, timeout=timeout)
        qtbot.wait(30)

    return _open


@pytest.fixture
def tcia_window(main_window, open_study, tcia_dir: Path):
    """The main window showing the 120-slice TCIA series."""
    open_study(main_window, tcia_dir)
    return main_window


@pytest.fixture
def demo_window(main_window, open_study, demo_study):
    """The main window showing the demo study two-up (T1C left, T2 right)."""
    open_study(main_window, demo_study.root, expected_viewports=2)
    return main_window


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gui_dir = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(gui_dir) and item.get_closest_marker("gui") is None:
            raise pytest.UsageError(f"{item.nodeid}: every test in tests/gui must be marked gui")
