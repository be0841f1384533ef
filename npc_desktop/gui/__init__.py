"""PySide6 + pyqtgraph front end of NPC Desktop.

Widgets subscribe to one :class:`~npc_desktop.gui.session.SessionModel` and never compute: the
work is done by :mod:`npc_desktop.core` functions, on worker threads when it touches the disk.
Start the workstation with :func:`npc_desktop.gui.app.run`.
"""

from npc_desktop.gui.qt_fixes import install as _install_qt_fixes

_install_qt_fixes()
