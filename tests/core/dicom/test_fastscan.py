"""The fast header scanner gives the same records as pydicom on every real file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest

from npc_desktop.core.dicom import fastscan, headers
from npc_desktop.core.dicom.sources import FileRef

pytestmark = pytest.mark.realdata

FIELDS = [
    "sop_class_uid", "sop_instance_uid", "modality", "patient_name", "patient_id",
    "patient_birth_date", "patient_sex", "study_instance_uid", "study_date", "study_time",
    "study_description", "accession_number", "series_instance_uid", "series_number",
    "series_description", "frame_of_reference_uid", "instance_number", "acquisition_number",
    "has_pixels", "layout",
]


def _record(ref: FileRef) -> Any:
    try:
        header = headers.read_header(ref)
    except Exception as exc:  # compare the failure too
        return (type(exc).__name__, str(exc))
    record: dict[str, Any] = {name: getattr(header, name) for name in FIELDS}
    record["frames"] = [
        (f.frame_index, f.position, f.orientation, f.pixel_spacing, f.slice_thickness, f.echo,
         f.rescale, f.window)
        for f in header.frames
    ]
    return record


def test_fast_scan_equals_pydicom_on_all_real_files(dicom_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(p for p in dicom_dir.rglob("*") if p.is_file())
    fast_records = {p: _record(FileRef(p)) for p in files}
    used_fast = 0
    for path in files:
        head = path.read_bytes()[: headers._SCAN_BYTES]
        scanned = fastscan.scan(head)
        used_fast += scanned is not None and headers._fast_path_applies(scanned)
    monkeypatch.setattr(fastscan, "scan", lambda buf: None)
    for path in files:
        assert fast_records[path] == _record(FileRef(path)), path
    assert used_fast >= 150, "the fast path must serve the ordinary single-frame files"


def test_scanner_gives_up_on_cut_buffers(tcia_dir: Path) -> None:
    data = (tcia_dir / "1-001.dcm").read_bytes()
    full: Optional[fastscan.ScannedHeader] = fastscan.scan(data[:65536])
    assert full is not None and full.pixel_offset == 3710
    for cut in (0, 100, 140, 1000, 3000, 3700):
        assert fastscan.scan(data[:cut]) is None
