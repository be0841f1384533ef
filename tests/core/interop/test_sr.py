"""DICOM SR (TID 1500) export/import of ROIs, checked with dciodvfy, and CSV/COCO exports."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.uid import Comprehensive3DSRStorage, EnhancedMRImageStorage, MRImageStorage

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.annotation.rois import RectRoi, RoiKind
from npc_desktop.core.dicom import Volume, index_path, load_series
from npc_desktop.core.interop.sr import (
    FINDING_CODES,
    SrError,
    build_sr,
    export_sr,
    read_source_headers,
    read_sr_rois,
    roi_polyline,
    source_headers_for,
)
from npc_desktop.core.interop.tables import (
    COCO_CATEGORIES,
    CSV_COLUMNS,
    InteropError,
    coco_dict,
    csv_rows,
    pseudonymous_image_name,
    write_coco,
    write_csv,
)

# ---------------------------------------------------------------------------------------------
# Helpers


def dciodvfy(path: Path) -> str:
    """dciodvfy's report on a file; skips without the tool, except in CI where it must exist."""
    tool = shutil.which("dciodvfy")
    if tool is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("dciodvfy (Debian package dicom3tools) is required in CI")
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def assert_no_dciodvfy_errors(path: Path) -> str:
    report = dciodvfy(path)
    errors = [line for line in report.splitlines() if "Error" in line]
    assert not errors, report
    return report


def lesion_rois(demo_study, series_keys: tuple[str, ...] = ("T1C", "T2")) -> AnnotationSet:
    aset = AnnotationSet(demo_study.study_instance_uid)
    for lesion in demo_study.lesions:
        if lesion.series_key not in series_keys:
            continue
        row0, col0, row1, col1 = lesion.bbox
        aset.add(RectRoi(
            study_instance_uid=demo_study.study_instance_uid,
            series_instance_uid=demo_study.series_uids[lesion.series_key],
            sop_instance_uid=lesion.sop_instance_uid,
            # quarter pixels are exact in the SR's 32-bit floats
            row0=row0 - 0.25, col0=col0 + 0.5, row1=row1 + 0.75, col1=col1,
            kind=RoiKind.TUMOUR if lesion.kind == "tumour" else RoiKind.LYMPH_NODE,
        ))
    return aset


def same_rois(a: list[RectRoi], b: list[RectRoi], tolerance: float = 0.0) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.id, x.kind, x.study_instance_uid, x.series_instance_uid, x.sop_instance_uid, x.frame_number) == (
            y.id, y.kind, y.study_instance_uid, y.series_instance_uid, y.sop_instance_uid, y.frame_number)
        np.testing.assert_allclose(x.box, y.box, atol=tolerance, rtol=0)


@pytest.fixture(scope="module")
def demo_index(demo_study):
    return index_path(demo_study.root)


@pytest.fixture(scope="module")
def demo_volumes(demo_study, demo_index) -> list[Volume]:
    return [load_series(demo_index.find_series(demo_study.series_uids[key]))
            for key in ("T1C", "T2")]


def tree_digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# SR


def test_polyline_is_closed_column_row() -> None:
    roi = RectRoi(study_instance_uid="1.2", series_instance_uid="1.2.3", sop_instance_uid="1.2.3.4",
                  row0=1, col0=2, row1=5, col1=9)
    points = roi_polyline(roi)
    assert points.shape == (5, 2)
    assert points.tolist() == [[2, 1], [9, 1], [9, 5], [2, 5], [2, 1]]


def test_demo_round_trip_and_dciodvfy(tmp_path: Path, demo_study, demo_index) -> None:
    aset = lesion_rois(demo_study)
    before = tree_digests(demo_study.root)
    headers = source_headers_for(demo_index, aset.rois)
    assert all("PixelData" not in ds for ds in headers)
    path = export_sr(aset, headers, tmp_path / "rois.dcm", series_number=77)
    assert tree_digests(demo_study.root) == before

    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == Comprehensive3DSRStorage and ds.Modality == "SR" and ds.SeriesNumber == 77
    assert ds.StudyInstanceUID == demo_study.study_instance_uid
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    scoords = [item for item in _walk(ds) if getattr(item, "ValueType", "") == "SCOORD"]
    assert len(scoords) == len(aset)
    for item, roi in zip(scoords, aset.rois):
        assert item.GraphicType == "POLYLINE"
        data = np.asarray(item.GraphicData, dtype=float).reshape(-1, 2)
        assert data.shape == (5, 2) and (data[0] == data[-1]).all()
        np.testing.assert_array_equal(data, roi_polyline(roi))
        ref = item.ContentSequence[0].ReferencedSOPSequence[0]
        assert ref.ReferencedSOPClassUID == MRImageStorage and ref.ReferencedSOPInstanceUID == roi.sop_instance_uid
    codes = {(c.CodeValue, c.CodingSchemeDesignator) for c in _walk(ds) if hasattr(c, "CodeValue")}
    assert ("108369006", "SCT") in codes and ("59441001", "SCT") in codes
    identifiers = {item.TextValue for item in _walk(ds) if getattr(item, "ValueType", "") == "TEXT"}
    assert {roi.id for roi in aset.rois} <= identifiers

    same_rois(list(aset.rois), read_sr_rois(path))
    report = assert_no_dciodvfy_errors(path)
    print("dciodvfy on the demo SR:", report.strip().replace("\n", " | ") or "(no output)")


def _walk(ds: pydicom.Dataset):
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                yield item
                yield from _walk(item)


def test_arbitrary_float_coordinates_round_trip_to_float32(tmp_path: Path, demo_study, demo_index) -> None:
    lesion = demo_study.lesions_for("T2")[0]
    roi = RectRoi(study_instance_uid=demo_study.study_instance_uid, series_instance_uid=demo_study.series_uids["T2"],
                  sop_instance_uid=lesion.sop_instance_uid, row0=10.123456, col0=20.987654, row1=33.3333, col1=44.4444)
    back = read_sr_rois(export_sr([roi], source_headers_for(demo_index, [roi]), tmp_path / "f.dcm"))
    same_rois([roi], back, tolerance=1e-4)


def test_multiframe_reference_keeps_the_frame_number(tmp_path: Path, demo_study, demo_index) -> None:
    """An enhanced (multi-frame) source is referenced by frame; the frame survives the round trip."""
    header = read_source_headers([demo_study.series_files["T1C"][0]])[0]
    header.SOPClassUID = EnhancedMRImageStorage
    header.NumberOfFrames = 28
    roi = RectRoi(study_instance_uid=demo_study.study_instance_uid, series_instance_uid=str(header.SeriesInstanceUID),
                  sop_instance_uid=str(header.SOPInstanceUID), frame_number=7, row0=1, col0=2, row1=3, col1=4,
                  kind="lymph_node")
    back = read_sr_rois(export_sr([roi], [header], tmp_path / "mf.dcm"))
    same_rois([roi], back)


def test_sr_errors(tmp_path: Path, demo_study, demo_index) -> None:
    aset = lesion_rois(demo_study, ("T1C",))
    with pytest.raises(SrError, match="no ROIs"):
        build_sr([], [])
    with pytest.raises(SrError, match="no header was given"):
        build_sr(aset, source_headers_for(demo_index, aset.rois[:1]))
    stranger = RectRoi(study_instance_uid=demo_study.study_instance_uid, series_instance_uid="1.2.3",
                       sop_instance_uid="1.2.3.4", row0=0, col0=0, row1=1, col1=1)
    with pytest.raises(SrError, match=r"1\.2\.3\.4 is not in the indexed folder"):
        source_headers_for(demo_index, [stranger])
    with pytest.raises(SrError, match="IM0001.dcm"):
        read_sr_rois(demo_study.series_files["T1C"][0])  # an image, not an SR
    missing = tmp_path / "missing.dcm"
    with pytest.raises(SrError, match="missing.dcm"):
        read_source_headers([missing])


def test_finding_codes() -> None:
    assert (FINDING_CODES[RoiKind.TUMOUR].value, FINDING_CODES[RoiKind.TUMOUR].scheme_designator) == ("108369006", "SCT")
    assert (FINDING_CODES[RoiKind.LYMPH_NODE].value, FINDING_CODES[RoiKind.LYMPH_NODE].scheme_designator) == ("59441001", "SCT")


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore:The string .* is unlikely to represent the intended person name:UserWarning")
def test_tcia_round_trip_and_dciodvfy(tmp_path: Path, tcia_dir: Path) -> None:
    before = tree_digests(tcia_dir)
    index = index_path(tcia_dir)
    series = index.default_series()
    volume = load_series(series)
    _, rows, cols = volume.shape
    aset = AnnotationSet(volume.meta.study_instance_uid)
    for n, k in enumerate((10, 60, 61, 119)):
        ref = volume.slices[k]
        aset.add(RectRoi(
            study_instance_uid=volume.meta.study_instance_uid, series_instance_uid=volume.meta.series_instance_uid,
            sop_instance_uid=ref.sop_instance_uid, row0=100.5 + n, col0=200, row1=180, col1=260.25 + n,
            kind="tumour" if n % 2 else "lymph_node",
        ))
    # partly outside the image: kept as drawn in the SR
    ref = volume.slices[0]
    aset.add(RectRoi(study_instance_uid=volume.meta.study_instance_uid, series_instance_uid=volume.meta.series_instance_uid,
                     sop_instance_uid=ref.sop_instance_uid, row0=-4, col0=cols - 10, row1=20, col1=cols + 6))
    path = export_sr(aset, source_headers_for(index, aset.rois), tmp_path / "tcia-sr.dcm")
    same_rois(list(aset.rois), read_sr_rois(path))
    assert_no_dciodvfy_errors(path)
    csv_path = write_csv(aset, [volume], tmp_path / "tcia.csv", patient="TCIA001")
    rows_out = list(csv.DictReader(csv_path.open()))
    assert [int(r["slice_index"]) for r in rows_out] == [10, 60, 61, 119, 0]
    assert rows_out[-1]["roi_clipped"] == "1" and rows_out[0]["roi_clipped"] == "0"
    validate_coco(coco_dict(aset, [volume], patient="TCIA001"))
    assert tree_digests(tcia_dir) == before


# ---------------------------------------------------------------------------------------------
# CSV and COCO


def test_csv_rows(tmp_path: Path, demo_study, demo_volumes) -> None:
    aset = lesion_rois(demo_study)
    margin = ContextMargin(fraction=0.3, mm=1.0)
    path = write_csv(aset, demo_volumes, tmp_path / "rois.csv", patient="NPC-0042", margin=margin)
    with path.open(newline="") as fp:
        reader = csv.DictReader(fp)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    assert len(rows) == len(aset)
    lesions = [les for les in demo_study.lesions if les.series_key in ("T1C", "T2")]
    spacing = {"S1": 0.9, "S2": 1.0}
    for row, roi, lesion in zip(rows, aset.rois, lesions):
        assert row["patient"] == "NPC-0042" and row["roi_id"] == roi.id and row["kind"] == roi.kind.value
        assert row["series"] == {"T1C": "S1", "T2": "S2"}[lesion.series_key]
        assert int(row["slice_index"]) == lesion.slice_index
        assert row["image_name"] == f"NPC-0042_{row['series']}_s{lesion.slice_index:04d}.png"
        assert float(row["row0"]) == roi.row0 and float(row["col1"]) == roi.col1
        assert float(row["height_mm"]) == pytest.approx(roi.height * spacing[row["series"]], abs=1e-3)
        assert float(row["width_mm"]) == pytest.approx(roi.width * spacing[row["series"]], abs=1e-3)
        assert int(row["patch_row0"]) <= roi.row0 and int(row["patch_col1"]) >= roi.col1
        assert float(row["margin_fraction"]) == 0.3 and float(row["margin_mm"]) == 1.0
    text = path.read_text()
    assert demo_study.study_instance_uid not in text and "2.25." not in text
    assert demo_study.patient_name not in text and demo_study.patient_id not in text


def test_csv_with_uids_and_labels(demo_study, demo_volumes) -> None:
    aset = lesion_rois(demo_study, ("T2",))
    rows = csv_rows(aset, demo_volumes, patient="P1", include_uids=True,
                    series_labels={demo_study.series_uids["T2"]: "t2w"})
    assert {r["series"] for r in rows} == {"t2w"}
    assert rows[0]["sop_instance_uid"] == aset.rois[0].sop_instance_uid and rows[0]["frame_number"] == ""


@pytest.mark.parametrize("patient", ["1.2.840.113619.2.1", "DOE^JOHN", "", "a b", "x" * 65])
def test_unsafe_pseudonyms_are_refused(patient: str, demo_study, demo_volumes) -> None:
    with pytest.raises(InteropError, match="pseudonym"):
        csv_rows(lesion_rois(demo_study, ("T2",)), demo_volumes, patient=patient)
    with pytest.raises(InteropError, match="pseudonym"):
        pseudonymous_image_name(patient, "S1", 3)


def test_roi_not_in_the_volumes(demo_study, demo_volumes) -> None:
    aset = lesion_rois(demo_study, ("T1C",))
    with pytest.raises(InteropError, match=f"ROI {aset.rois[0].id}: its image"):
        csv_rows(aset, demo_volumes[1:], patient="P1")
    with pytest.raises(InteropError, match="its image"):
        coco_dict(aset, demo_volumes[1:], patient="P1")


def validate_coco(data: dict[str, Any]) -> None:
    """Structural checks of a COCO detection file (the parts pycocotools and detectron2 rely on)."""
    assert set(data) >= {"images", "annotations", "categories"}
    assert isinstance(data["images"], list) and isinstance(data["annotations"], list)
    categories = {c["id"]: c for c in data["categories"]}
    assert len(categories) == len(data["categories"])
    assert {c["name"] for c in categories.values()} == {"tumour", "lymph_node"}
    images = {}
    for image in data["images"]:
        assert set(image) >= {"id", "file_name", "width", "height"}
        assert isinstance(image["id"], int) and image["id"] not in images
        assert isinstance(image["width"], int) and isinstance(image["height"], int)
        assert image["width"] > 0 and image["height"] > 0
        assert re.fullmatch(r"[A-Za-z0-9_-]+_s\d{4}\.png", image["file_name"]), image["file_name"]
        images[image["id"]] = image
    assert len({i["file_name"] for i in data["images"]}) == len(images)
    seen = set()
    for ann in data["annotations"]:
        assert set(ann) >= {"id", "image_id", "category_id", "bbox", "area", "iscrowd"}
        assert isinstance(ann["id"], int) and ann["id"] not in seen
        seen.add(ann["id"])
        assert ann["image_id"] in images and ann["category_id"] in categories
        x, y, w, h = ann["bbox"]
        image = images[ann["image_id"]]
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= image["width"] + 1e-9 and y + h <= image["height"] + 1e-9
        assert ann["area"] == pytest.approx(w * h) and ann["iscrowd"] == 0
    assert not re.search(r"\d+\.\d+\.\d+\.\d+", json.dumps(data)), "no UIDs in a COCO export"


def test_coco_export(tmp_path: Path, demo_study, demo_volumes) -> None:
    aset = lesion_rois(demo_study)
    path = write_coco(aset, demo_volumes, tmp_path / "coco.json", patient="NPC-0042")
    data = json.loads(path.read_text())
    validate_coco(data)
    assert data["categories"] == COCO_CATEGORIES
    assert len(data["annotations"]) == len(aset)
    # One image per annotated slice.
    slices = {(les.series_key, les.slice_index) for les in demo_study.lesions}
    assert len(data["images"]) == len(slices)
    images = {i["id"]: i for i in data["images"]}
    lesions = [les for les in demo_study.lesions if les.series_key in ("T1C", "T2")]
    for ann, roi, lesion in zip(data["annotations"], aset.rois, lesions):
        assert ann["bbox"] == [max(roi.col0, 0), max(roi.row0, 0), roi.col1 - max(roi.col0, 0), roi.row1 - max(roi.row0, 0)]
        assert data["categories"][ann["category_id"] - 1]["name"] == roi.kind.value
        image = images[ann["image_id"]]
        size = {"T1C": 256, "T2": 224}[lesion.series_key]
        assert (image["width"], image["height"]) == (size, size)
        assert image["file_name"].endswith(f"_s{lesion.slice_index:04d}.png")
        assert ann["attributes"]["roi_id"] == roi.id
    text = path.read_text()
    assert demo_study.patient_name not in text and demo_study.patient_id not in text


def test_coco_clips_boxes_to_the_image(demo_study, demo_volumes) -> None:
    volume = demo_volumes[1]
    ref = volume.slices[3]
    roi = RectRoi(study_instance_uid=demo_study.study_instance_uid, series_instance_uid=volume.meta.series_instance_uid,
                  sop_instance_uid=ref.sop_instance_uid, row0=-5, col0=200, row1=10, col1=240)
    data = coco_dict([roi], demo_volumes, patient="P1")
    validate_coco(data)
    assert data["annotations"][0]["bbox"] == [200.0, 0.0, 24.0, 10.0]
    outside = RectRoi(study_instance_uid=demo_study.study_instance_uid, series_instance_uid=volume.meta.series_instance_uid,
                      sop_instance_uid=ref.sop_instance_uid, row0=-50, col0=0, row1=-10, col1=10)
    with pytest.raises(InteropError, match="outside"):
        coco_dict([outside], demo_volumes, patient="P1")
