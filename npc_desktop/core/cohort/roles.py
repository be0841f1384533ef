"""The role of an MR series in a staging study: contrast-enhanced T1, T2, or other.

The role is read from the headers in this order: series kinds that are neither (localisers,
diffusion, FLAIR, ...) by name; a contrast marker (ContrastBolusAgent, or ``+C``, ``Gd``,
``post``, ``contrast`` in the series description, protocol or sequence name); the weighting named
in those texts (``T1``, ``T2``, MPRAGE, VIBE, ...); and, when the texts name none, the repetition
and echo times. A study-level rule then promotes a study's only T1 series to T1C when no series
of the study carries a contrast marker (a planning MPRAGE often carries none), and says so in the
reason. Every role can be corrected by hand; the correction is stored beside the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

__all__ = ["ROLES", "T1C", "T2", "OTHER", "RoleCall", "SeriesHeaders", "classify_series", "classify_study"]

T1C = "T1C"
T2 = "T2"
OTHER = "other"
_T1 = "T1"  # a T1 without a contrast marker; the study-level rule decides what it becomes
ROLES: tuple[str, ...] = (T1C, T2, OTHER)
"""The roles a series can have, as stored and shown."""

_OTHER_WORDS = re.compile(
    r"LOCALI[SZ]ER|SCOUT|SURVEY|\bLOC\b|FLAIR|STIR|DWI|DIFF|\bADC\b|\bTRACE\b|\bEPI\b|BOLD|FMRI|SWI|"
    r"T2\s*\*|T2STAR|PERF|\bDCE\b|\bDSC\b|\bMRA\b|\bTOF\b|ANGIO|CALIBRATION|\bB0\b|SPECTRO|\bMPR\b\s*COLLECTION"
)
_CONTRAST_WORDS = re.compile(r"\+\s*C\b|\bC\s*\+|\+\s*GD|\bGD\b|GADO|\bPOST\b|CONTRAST|ENHANC|\bT1\s*C\b|T1C\b|\bCE\b")
_PRE_WORDS = re.compile(r"\bPRE\b|NATIVE|\bNON[\s_-]*CONTRAST|WITHOUT")
_T2_WORDS = re.compile(r"(?<![A-Z0-9])T2(?![0-9*])|T2W")
_T1_WORDS = re.compile(r"(?<![A-Z0-9])T1(?![0-9])|T1W|MP-?RAGE|\bVIBE\b|SPGR|BRAVO|\bTFL|\bTHRIVE\b|\bLAVA\b")
_NO_AGENT = {"", "NONE", "NO", "N", "NA", "N/A", "0"}


@dataclass(frozen=True)
class SeriesHeaders:
    """The header values the role is read from (text as stored, times in ms or None)."""

    modality: str = "MR"
    description: str = ""
    protocol: str = ""
    sequence_name: str = ""
    contrast_agent: str = ""
    repetition_time: Optional[float] = None
    echo_time: Optional[float] = None


@dataclass(frozen=True)
class RoleCall:
    """A series' role and why."""

    role: str
    reason: str


def _text(headers: SeriesHeaders) -> str:
    parts = [headers.description, headers.protocol, headers.sequence_name]
    return " ".join(p for p in parts if p).upper().replace("_", " ")


def _contrast_marker(headers: SeriesHeaders, text: str) -> Optional[str]:
    agent = headers.contrast_agent.strip()
    if agent.upper() not in _NO_AGENT:
        return f"ContrastBolusAgent {agent!r}"
    if _PRE_WORDS.search(text):
        return None
    match = _CONTRAST_WORDS.search(text)
    return f"{match.group(0).strip()!r} in {text.strip()!r}" if match else None


def _by_times(headers: SeriesHeaders) -> Optional[str]:
    tr, te = headers.repetition_time, headers.echo_time
    if tr is None or te is None:
        return None
    if te >= 60 and tr >= 1500:
        return T2
    if te <= 30 and tr <= 1000:
        return _T1
    return None


def classify_series(headers: SeriesHeaders) -> RoleCall:
    """The role of one series from its own headers (``"T1"`` for a T1 without a contrast marker).

    Parameters
    ----------
    headers
        The series' header values.

    Returns
    -------
    RoleCall
        ``role`` is ``"T1C"``, ``"T2"``, ``"other"`` or ``"T1"`` (see :func:`classify_study`).
    """
    if headers.modality.upper() not in ("MR", ""):
        return RoleCall(OTHER, f"modality {headers.modality}")
    text = _text(headers)
    other = _OTHER_WORDS.search(text)
    if other:
        return RoleCall(OTHER, f"{other.group(0).strip()!r} in {text.strip()!r}")
    contrast = _contrast_marker(headers, text)
    if _T2_WORDS.search(text):
        return RoleCall(T2, f"T2 in {text.strip()!r}")
    if _T1_WORDS.search(text):
        if contrast:
            return RoleCall(T1C, f"T1 with contrast: {contrast}")
        return RoleCall(_T1, f"T1 in {text.strip()!r}, no contrast marker")
    timed = _by_times(headers)
    times = f"TR {headers.repetition_time:g} ms, TE {headers.echo_time:g} ms" if timed else ""
    if timed == T2:
        return RoleCall(T2, f"T2-weighted timing ({times})")
    if timed == _T1:
        return RoleCall(T1C, f"T1-weighted timing ({times}) with contrast: {contrast}") if contrast \
            else RoleCall(_T1, f"T1-weighted timing ({times}), no contrast marker")
    if contrast:
        return RoleCall(T1C, f"contrast: {contrast}")
    return RoleCall(OTHER, "no weighting or contrast named in the headers")


def classify_study(series: Sequence[SeriesHeaders]) -> list[RoleCall]:
    """The roles of a study's series, in order; a lone unmarked T1 becomes the study's T1C.

    Parameters
    ----------
    series
        The header values of each image series of one study.
    """
    calls = [classify_series(h) for h in series]
    has_t1c = any(c.role == T1C for c in calls)
    plain_t1 = [i for i, c in enumerate(calls) if c.role == _T1]
    result = []
    for i, call in enumerate(calls):
        if call.role != _T1:
            result.append(call)
        elif not has_t1c and len(plain_t1) == 1:
            result.append(RoleCall(T1C, call.reason + "; the study's only T1 series, so taken as its T1C"))
        else:
            result.append(RoleCall(OTHER, call.reason + " (a T1 without contrast)"))
    return result
