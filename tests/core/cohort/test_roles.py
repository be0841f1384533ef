"""Series roles from real and synthetic headers, and the study-level rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
import pytest

from npc_desktop.core.cohort.roles import OTHER, T1C, T2, SeriesHeaders, classify_series, classify_study


def _headers(path: Path) -> SeriesHeaders:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return SeriesHeaders(
        modality=str(ds.get("Modality", "")), description=str(ds.get("SeriesDescription", "")),
        protocol=str(ds.get("ProtocolName", "")), sequence_name=str(ds.get("SequenceName", "")),
        contrast_agent=str(ds.get("ContrastBolusAgent", "") or ""),
        repetition_time=float(ds.RepetitionTime) if ds.get("RepetitionTime") is not None else None,
        echo_time=float(ds.EchoTime) if ds.get("EchoTime") is not None else None,
    )


def test_demo_study_series_are_t1c_and_t2(demo_study: Any) -> None:
    t1c = _headers(demo_study.series_files["T1C"][0])
    t2 = _headers(demo_study.series_files["T2"][0])
    calls = classify_study([t1c, t2])
    assert [c.role for c in calls] == [T1C, T2]
    assert "ContrastBolusAgent" in calls[0].reason


def test_tcia_planning_mprage_without_marker_is_the_studys_t1c(tcia_dir: Path) -> None:
    headers = _headers(sorted(tcia_dir.glob("*.dcm"))[0])
    assert headers.contrast_agent == ""  # the real file carries no contrast marker
    (call,) = classify_study([headers])
    assert call.role == T1C and "only T1 series" in call.reason


def test_real_epi_series_is_other(dicom_dir: Path) -> None:
    headers = _headers(dicom_dir / "neurolabusc__dcm_qa_12bit" / "In" / "12bitUnsigned.dcm")
    assert classify_series(headers).role == OTHER


@pytest.mark.parametrize(("headers", "role"), [
    (SeriesHeaders(description="AX T1 +C"), T1C),
    (SeriesHeaders(description="t1_tse_tra POST GD"), T1C),
    (SeriesHeaders(description="T2 TSE AX"), T2),
    (SeriesHeaders(description="T2 FLAIR"), OTHER),
    (SeriesHeaders(description="localizer"), OTHER),
    (SeriesHeaders(description="ax", repetition_time=4000, echo_time=90), T2),
    (SeriesHeaders(description="ax", repetition_time=500, echo_time=10, contrast_agent="Gadovist"), T1C),
    (SeriesHeaders(description="ax"), OTHER),
    (SeriesHeaders(modality="CT", description="T1"), OTHER),
])
def test_series_roles_from_headers(headers: SeriesHeaders, role: str) -> None:
    assert classify_series(headers).role == role


def test_pre_and_post_t1_pair() -> None:
    pre = SeriesHeaders(description="T1 TSE AX PRE")
    post = SeriesHeaders(description="T1 TSE AX", contrast_agent="GADOTERATE")
    assert [c.role for c in classify_study([pre, post])] == [OTHER, T1C]
