"""Subcommands for research (export, train, evaluate); registered by :mod:`npc_desktop.cli`."""

from __future__ import annotations

import argparse
from typing import Callable


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add this module's subcommands to ``commands``; return their handlers by name."""
    return {}
