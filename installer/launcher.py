"""Entry script of the frozen application: the same console entry point as ``npc-desktop``."""

import multiprocessing
import sys

from npc_desktop.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
