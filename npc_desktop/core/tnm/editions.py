"""The editions this version of NPC Desktop stages with, keyed by edition number.

Only the AJCC/UICC 8th edition is here. The 9th version (Pan JJ et al., *JAMA Oncol*
2024;10(12):1627-1635) is not: its stage table (and the extranodal extension and M1a/M1b it
adds) could not be confirmed from the published text, and a table that is not confirmed is
not added. Adding an edition means adding its :class:`EditionTable` to :data:`EDITIONS`.
"""

from __future__ import annotations

from typing import Mapping

from npc_desktop.core.tnm.ajcc8 import AJCC_8
from npc_desktop.core.tnm.edition_table import EditionTable
from npc_desktop.core.tnm.errors import TnmError

__all__ = ["EDITIONS", "DEFAULT_EDITION", "get_edition"]

EDITIONS: Mapping[int, EditionTable] = {AJCC_8.number: AJCC_8}
"""The edition tables by edition number."""

DEFAULT_EDITION: int = 8
"""The edition new forms and the command line use."""


def get_edition(number: object, *, field: str = "edition") -> EditionTable:
    """The table of edition ``number`` (an int, or a string such as ``"8"``).

    Raises
    ------
    TnmError
        Naming ``field`` when there is no such edition.
    """
    key = number
    if isinstance(number, str) and number.strip().isdigit():
        key = int(number.strip())
    if isinstance(key, int) and not isinstance(key, bool) and key in EDITIONS:
        return EDITIONS[key]
    known = ", ".join(f"{n} ({t.title})" for n, t in EDITIONS.items())
    raise TnmError(field, f"{number!r} is not an edition this version stages with; known: {known}")
