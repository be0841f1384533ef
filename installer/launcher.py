"""Entry script of the frozen application: the same console entry point as ``npc-desktop``.

One hidden option exists only in the bundle, for installer/smoke_test.py:

``npc-desktop --bundle-smoke-gui SCREENSHOT.png [PATH]``
    Open the workstation on PATH (the demo study when omitted), save a screenshot once the first
    image is shown, quit, and print one JSON line saying whether the bundled resources were found
    (style sheet, toolbar icons rendered by the SVG plugin, Qt platform plugin in use).
    Exit status: that of the workstation's own smoke run (0 when an image was shown).
"""

import json
import multiprocessing
import sys

from npc_desktop.cli.main import main

SMOKE_GUI_OPTION = "--bundle-smoke-gui"
SMOKE_DELAY_MS = 1500
"""Time between the first image and the screenshot: lets the thumbnails and overlays paint."""


def _rendered_icon_count() -> tuple[int, int]:
    """(icons that render to visible pixels, icon names in the action table)."""
    from npc_desktop.gui.actions import ACTIONS, find_icon

    names = sorted({spec.icon for spec in ACTIONS if spec.icon})
    rendered = 0
    for name in names:
        icon = find_icon(name)
        if icon is None:
            continue
        image = icon.pixmap(24, 24).toImage()
        # A missing SVG icon engine yields a null or fully transparent pixmap.
        if not image.isNull() and any(image.pixelColor(x, y).alpha() for x in range(24) for y in range(24)):
            rendered += 1
    return rendered, len(names)


def smoke_gui(argv: list[str]) -> int:
    """Run the workstation's smoke mode and report on the bundled resources.

    Parameters
    ----------
    argv
        ``[SCREENSHOT, PATH]`` or ``[SCREENSHOT]``.

    Returns
    -------
    int
        0 when an image was shown and saved, 1 when not, 2 on bad arguments.
    """
    if not 1 <= len(argv) <= 2:
        print(f"npc-desktop: error: usage: {SMOKE_GUI_OPTION} SCREENSHOT.png [PATH]", file=sys.stderr)
        return 2
    from npc_desktop.gui.platform_check import display_problem

    problem = display_problem()
    if problem is not None:
        print(f"npc-desktop: error: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from npc_desktop.gui.app import STYLE_SHEET, run

    status = run(argv[1] if len(argv) == 2 else None, exit_after_ms=SMOKE_DELAY_MS, screenshot=argv[0])
    app = QApplication.instance()
    rendered, total = _rendered_icon_count()
    report = {
        "status": status,
        "style_sheet_file": str(STYLE_SHEET),
        "style_sheet_applied": bool(app is not None and app.styleSheet().strip()),  # type: ignore[attr-defined]
        "icons_rendered": rendered,
        "icons_listed": total,
        "qt_platform": app.platformName() if app is not None else "",  # type: ignore[attr-defined]
    }
    print(json.dumps(report), flush=True)
    return status


if __name__ == "__main__":
    multiprocessing.freeze_support()
    if len(sys.argv) > 1 and sys.argv[1] == SMOKE_GUI_OPTION:
        sys.exit(smoke_gui(sys.argv[2:]))
    sys.exit(main())
