"""Staging reports: content objects, PDF layout, DICOM Encapsulated PDF."""

from npc_desktop.core.reports.content import (
    DISCLAIMER,
    UNTRAINED_BANNER,
    Institution,
    KeyImage,
    ModelDetails,
    PatchRow,
    PatientDetails,
    ReportContent,
    ReportContentError,
    SeriesUsed,
    SignOff,
)
from npc_desktop.core.reports.pdf import PAGE_SIZES, ReportWriteError, write_report_pdf

__all__ = [
    "DISCLAIMER",
    "PAGE_SIZES",
    "UNTRAINED_BANNER",
    "Institution",
    "KeyImage",
    "ModelDetails",
    "PatchRow",
    "PatientDetails",
    "ReportContent",
    "ReportContentError",
    "ReportWriteError",
    "SeriesUsed",
    "SignOff",
    "write_report_pdf",
]
