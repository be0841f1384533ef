"""Qt-free core of NPC Desktop: importable in a headless process.

Nothing below this package may import PySide6, shiboken6 or pyqtgraph; a test enforces it.
"""
