"""Checks, made before Qt is imported, that a window can be shown at all.

Qt aborts the process (no exception, no traceback to catch) when no display is available or
when a system library its xcb platform plugin loads is missing. These checks turn the common
cases into a clear message instead.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from typing import Optional

# Libraries Qt 6's xcb plugin loads that minimal Linux installs often lack, with Debian names.
_XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-shape": "libxcb-shape0",
    "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
}


def display_problem() -> Optional[str]:
    """Return why no window can be shown here, or None when it can (or cannot be known).

    Only Linux sessions that would use the xcb plugin are checked; an explicit
    ``QT_QPA_PLATFORM`` (offscreen, wayland, ...) is trusted as given.
    """
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    if not os.environ.get("DISPLAY"):
        return (
            "no display: DISPLAY is not set, so no window can be opened "
            "(run it in a desktop session, or set QT_QPA_PLATFORM=offscreen for a headless run)"
        )
    missing = [deb for lib, deb in _XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]
    if missing:
        return (
            "Qt's X11 support needs system libraries that are not installed: "
            + ", ".join(missing)
            + " (Debian/Ubuntu: sudo apt install " + " ".join(missing) + ")"
        )
    return None
