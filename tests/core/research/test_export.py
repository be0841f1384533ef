"""Patch dataset export: layout, manifest, de-identification, patient-level split, cancel."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from npc_desktop.core.annotation.annotation_set import AnnotationSet
from npc_desktop.core.annotation.labels import PatientLabel
from npc_desktop.core.annotation.patches import ContextMargin
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.dicom import index_path, load_series
from npc_desktop.core.models.patch_preprocessing import prepare_patch
from npc_desktop.core.progress import OperationCancelled
from npc_desktop.core.research.export import MANIFEST_COLUMNS, export_dataset
from npc_desktop.core.research.export_manifest import csv_bytes
from npc_desktop.core.research.export_sources import (
    ExportError,
    ExportOptions,
    StudySource,
    normalise_patient_name,
    sequence_of,
    sources_from_paths,
)
from npc_desktop.core.research.patchset import DatasetError, load_patch_set
from npc_desktop.core.research.pngio import CRITICAL_CHUNKS, png_chunks, read_png
from tests.core.research.helpers import PlantedStudy, plant_phi

STAGES = ("IVa", "III", "IVa", "III", "IVa")
PSEUDONYM = re.compile(r"P-[0-9A-HJKMNP-TV-Z]{8}")


@pytest.fixture(scope="module")
def planted(demo_study, tmp_path_factory: pytest.TempPathFactory) -> list[PlantedStudy]:
    """Five patients (three IVa, two III), each a demo copy with planted PHI."""
    root = tmp_path_factory.mktemp("planted")
    return [plant_phi(demo_study, root / f"study{i}", i, stage) for i, stage in enumerate(STAGES, start=1)]


@pytest.fixture(scope="module")
def exported(planted: list[PlantedStudy], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("export")
    calls: list[tuple[int, int]] = []
    result = export_dataset(
        [StudySource(s.root, s.annotations) for s in planted], out / "dataset",
        options=ExportOptions(seed=3, mapping_file=out / "mapping.csv"), progress=lambda d, t: calls.append((d, t)),
    )
    return result, calls


def _manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def test_layout_manifest_and_counts(exported, planted) -> None:
    result, calls = exported
    rows = _manifest(result.root)
    lesions = sum(len(s.annotations.rois) for s in planted)
    assert result.patches == len(rows) == lesions
    assert calls[-1] == (lesions, lesions)
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    info = json.loads((result.root / "dataset.json").read_text())
    assert info["class_names"] == ["III", "IVa"]
    assert info["split"]["seed"] == 3 and info["split"]["train_fraction"] == 0.8
    for row in rows:
        clahe, raw = result.root / row["file"], result.root / row["raw_file"]
        assert row["file"] == f"clahe/{row['split']}/{row['label']}/{clahe.name}"
        assert hashlib.sha256(clahe.read_bytes()).hexdigest() == row["sha256"]
        assert hashlib.sha256(raw.read_bytes()).hexdigest() == row["raw_sha256"]
        assert read_png(clahe).dtype == np.uint8 and read_png(raw).dtype == np.uint16
        assert row["sequence"] in ("T1C", "T2") and row["kind"] in ("tumour", "node")
    assert {r["sequence"] for r in rows} == {"T1C", "T2"}


def test_patches_equal_the_core_crop(exported, planted) -> None:
    """The PNGs hold exactly prepare_patch's image and the stored values of the crop."""
    result, _ = exported
    study = planted[0]
    index = index_path(study.root)
    rows = {(r["patient"], r["series"], r["slice_index"], r["roi_row0"], r["roi_col0"]): r for r in _manifest(result.root)}
    mapping = {r["study_instance_uid"]: r["pseudonym"] for r in csv.DictReader(open(result.mapping_file))}
    pseudonym = mapping[study.annotations.study_instance_uid]
    checked = 0
    for series in index.image_series():
        volume = load_series(series)
        for roi in study.annotations.for_series(series.series_instance_uid)[:3]:
            prepared = prepare_patch(volume, roi, margin=ContextMargin())
            candidates = [r for key, r in rows.items() if key[0] == pseudonym and key[2] == str(prepared.patch.slice_index)
                          and float(key[3]) == roi.row0 and float(key[4]) == roi.col0]
            assert len(candidates) == 1
            row = candidates[0]
            np.testing.assert_array_equal(read_png(result.root / row["file"]), prepared.image)
            np.testing.assert_array_equal(read_png(result.root / row["raw_file"]), prepared.patch.pixels)
            assert (int(row["patch_row0"]), int(row["patch_col1"])) == (prepared.patch.box.row0, prepared.patch.box.col1)
            assert float(row["patch_height_px"]) * float(row["row_spacing_mm"]) == pytest.approx(prepared.patch.size_mm[0])
            checked += 1
    assert checked == 6


def _all_outputs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


def test_no_planted_identifier_anywhere(exported, planted) -> None:
    result, _ = exported
    secrets = [v for s in planted for v in s.planted.values()] + [u for s in planted for u in s.uids]
    secrets += [str(s.root) for s in planted]
    outputs = _all_outputs(result.root)
    assert len(outputs) > 2 * result.patches
    for path in outputs:
        name = str(path.relative_to(result.root))
        data = path.read_bytes() if path.is_file() else b""
        lowered = data.lower()
        for secret in secrets:
            assert secret.lower() not in name.lower(), f"{secret} in file name {name}"
            assert secret.lower().encode() not in lowered, f"{secret} in {name}"
        if path.suffix == ".png":
            assert {kind for kind, _ in png_chunks(data)} <= CRITICAL_CHUNKS, f"metadata chunk in {name}"
    # the mapping, written only on request and outside the dataset, is where identity lives
    mapping = result.mapping_file.read_text()
    assert all(s.planted["patient_id"] in mapping and s.planted["family"] in mapping for s in planted)
    assert not result.mapping_file.resolve().is_relative_to(result.root.resolve())


def test_split_is_by_patient_and_stratified(exported) -> None:
    result, _ = exported
    rows = _manifest(result.root)
    sides: dict[str, set[str]] = {}
    for row in rows:
        sides.setdefault(row["patient"], set()).add(row["split"])
    assert all(len(s) == 1 for s in sides.values())
    assert set(result.split.train).isdisjoint(result.split.test)
    test_stages = {r["label"] for r in rows if r["split"] == "test"}
    assert test_stages == {"III", "IVa"}  # one test patient per stage (2 III, 3 IVa patients at 4:1)
    assert len(result.split.test) == 2 and len(result.split.train) == 3
    patch_set = load_patch_set(result.root)
    assert patch_set.split is not None and patch_set.split.test == result.split.test
    with pytest.raises(DatasetError, match="export with its own manifest"):
        load_patch_set(result.root, [result.root / "manifest.csv"])
    raw = load_patch_set(result.root, image="raw")
    assert raw.records[0].file.startswith("raw/") and raw.load_image(raw.records[0]).dtype == np.uint8
    assert patch_set.class_names == ("III", "IVa") and len(patch_set) == result.patches


def _sides_by_study(result) -> dict[str, str]:
    """Study UID -> split side, through the mapping file (pseudonym -> study)."""
    pseudonyms = {r["study_instance_uid"]: r["pseudonym"] for r in csv.DictReader(open(result.mapping_file))}
    return {uid: result.split.side(p) for uid, p in pseudonyms.items()}


def test_pseudonyms_are_random_and_the_split_is_seeded(planted, exported, tmp_path: Path) -> None:
    """The same studies and seed give the same split but new pseudonyms: the recorded seed does not invert them."""
    first, _ = exported
    sources = [StudySource(s.root, s.annotations) for s in planted]
    again = export_dataset(sources, tmp_path / "again", options=ExportOptions(seed=3, mapping_file=tmp_path / "m.csv"))
    assert _sides_by_study(again) == _sides_by_study(first)
    names = [set(r.split.train + r.split.test) for r in (first, again)]
    assert all(len(n) == 5 and all(PSEUDONYM.fullmatch(p) for p in n) for n in names)
    assert names[0].isdisjoint(names[1])
    other_seeds = {tuple(sorted(_sides_by_study(export_dataset(
        sources, tmp_path / f"seed{seed}", options=ExportOptions(seed=seed, mapping_file=tmp_path / f"m{seed}.csv")
    )).items())) for seed in (0, 1, 2)}
    assert len(other_seeds | {tuple(sorted(_sides_by_study(first).items()))}) > 1  # the seed does choose the split


def test_single_study_exports_get_distinct_pseudonyms(planted, tmp_path: Path) -> None:
    """As the GUI exports one open study at a time: merged, they must not share a pseudonym."""
    patients = []
    for number, study in enumerate(planted[:3]):
        result = export_dataset([StudySource(study.root, study.annotations)], tmp_path / f"gui{number}")
        patients.append({row["patient"] for row in _manifest(result.root)})
        assert len({row["export_id"] for row in _manifest(result.root)}) == 1
    assert all(len(p) == 1 for p in patients) and len(set.union(*patients)) == 3


def test_patient_identity_by_id_then_normalised_name(demo_study, tmp_path: Path) -> None:
    """One ID is one patient whatever the name's format; without an ID names match after normalisation;
    placeholder or empty names never merge patients."""
    specs = [  # (patient ID, name, stage)
        ("PIDX1", "DOE^JOHN", "IVa"), ("PIDX1", "Doe^John^^^", "IVa"), ("PIDX1", "ROE^JANE", "IVa"),
        ("", "SMITH^ANN", "III"), ("", " smith ^ann^^", "III"),
        ("", "ANONYMOUS", "IVa"), ("", "anonymous^^", "IVa"), ("", "", "III"),
    ]
    studies = [plant_phi(demo_study, tmp_path / f"s{i}", i, stage, patient_id=pid, name=name, max_rois=1)
               for i, (pid, name, stage) in enumerate(specs, start=1)]
    result = export_dataset([StudySource(s.root, s.annotations) for s in studies], tmp_path / "out",
                            options=ExportOptions(mapping_file=tmp_path / "map.csv"))
    mapping = {r["study_instance_uid"]: r["pseudonym"] for r in csv.DictReader(open(result.mapping_file))}
    pseudonym = [mapping[s.annotations.study_instance_uid] for s in studies]
    assert pseudonym[0] == pseudonym[1] == pseudonym[2]
    assert pseudonym[3] == pseudonym[4]
    assert len({pseudonym[0], pseudonym[3], pseudonym[5], pseudonym[6], pseudonym[7]}) == 5
    assert result.patients == 5
    sides: dict[str, set[str]] = {}
    for row in _manifest(result.root):
        sides.setdefault(row["patient"], set()).add(row["split"])
    assert all(len(s) == 1 for s in sides.values())
    notes = result.notes
    assert any(n.startswith(f"study 3 ({studies[2].root})") and "same patient ID as study 1" in n for n in notes)
    assert not any(n.startswith("study 2 ") for n in notes)  # DOE^JOHN = Doe^John^^^: nothing to doubt
    assert any(n.startswith("study 5 ") and "matched to study 4 by the patient name" in n for n in notes)
    for number in (6, 7):
        assert any(n.startswith(f"study {number} ") and "placeholder patient name" in n for n in notes)
    assert any(n.startswith("study 8 ") and "no patient ID and no patient name" in n for n in notes)
    assert not any(word in " ".join(notes).upper() for word in ("DOE", "ROE", "SMITH", "PIDX1", "ANONYMOUS"))


@pytest.mark.parametrize(("name", "normal"), [("DOE^JOHN^^^", "DOE^JOHN"), (" doe ^ john  paul ^", "DOE^JOHN PAUL"),
                                              ("^^", ""), ("Müller^Jörg", "MÜLLER^JÖRG")])
def test_patient_names_are_normalised(name: str, normal: str) -> None:
    assert normalise_patient_name(name) == normal


def test_merged_exports_with_one_pseudonym_are_reported(exported, tmp_path: Path) -> None:
    """Two exports merged into one folder: a pseudonym found in both is flagged when the set is read."""
    import shutil

    result, _ = exported
    merged = Path(shutil.copytree(result.root, tmp_path / "merged"))
    rows = _manifest(merged)
    assert load_patch_set(merged).warnings == ()
    victim = rows[0]["patient"]
    copied = [row for row in rows if row["patient"] == victim][1:]
    assert copied
    for row in copied:
        row["export_id"] = "0123456789ab"  # as if these rows came from another export under the same pseudonym
    (merged / "manifest.csv").write_bytes(csv_bytes(MANIFEST_COLUMNS, rows))
    patch_set = load_patch_set(merged)
    assert len(patch_set.warnings) == 1 and f"patient {victim} comes from 2 different exports" in patch_set.warnings[0]
    assert patch_set.description["warnings"] == list(patch_set.warnings)
    for row in copied:  # the other export put its patient in the other set
        row["split"] = "test" if rows[0]["split"] == "train" else "train"
    (merged / "manifest.csv").write_bytes(csv_bytes(MANIFEST_COLUMNS, rows))
    with pytest.raises(DatasetError, match=f"patient {victim} is in both .* different exports"):
        load_patch_set(merged)


def test_keras_reads_the_export(exported) -> None:
    import keras

    result, _ = exported
    dataset = keras.utils.image_dataset_from_directory(
        result.root / "clahe" / "train", image_size=(32, 32), batch_size=8, color_mode="grayscale", shuffle=False
    )
    assert dataset.class_names == ["III", "IVa"]
    assert sum(int(x.shape[0]) for x, _ in dataset) == result.counts["train"]["III"]["patches"] + result.counts["train"]["IVa"]["patches"]


def test_unknown_stage_and_empty_studies_are_skipped(demo_study, planted, tmp_path: Path) -> None:
    unlabelled = AnnotationSet(planted[0].annotations.study_instance_uid, planted[0].annotations.rois)
    empty = AnnotationSet(planted[1].annotations.study_instance_uid, (), PatientLabel(stage="III"))
    sources = [StudySource(planted[0].root, unlabelled), StudySource(planted[1].root, empty),
               StudySource(planted[2].root, planted[2].annotations)]
    result = export_dataset(sources, tmp_path / "out")
    assert result.patients == 1
    assert any("no stage label" in n for n in result.notes) and any("no ROIs" in n for n in result.notes)
    with pytest.raises(ExportError, match="nothing to export"):
        export_dataset(sources[:2], tmp_path / "out2")


def test_conflicting_stages_of_one_patient_are_refused(planted, tmp_path: Path) -> None:
    relabelled = AnnotationSet(planted[0].annotations.study_instance_uid, planted[0].annotations.rois,
                               PatientLabel(stage="III"))
    sources = [StudySource(planted[0].root, planted[0].annotations), StudySource(planted[0].root, relabelled)]
    with pytest.raises(ExportError, match="a patient has one stage"):
        export_dataset(sources, tmp_path / "out")


def test_bad_output_and_mapping_paths(planted, tmp_path: Path) -> None:
    sources = [StudySource(planted[0].root, planted[0].annotations)]
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    with pytest.raises(ExportError, match="not empty"):
        export_dataset(sources, tmp_path / "busy")
    with pytest.raises(ExportError, match="outside the dataset"):
        export_dataset(sources, tmp_path / "new", options=ExportOptions(mapping_file=tmp_path / "new" / "map.csv"))
    (tmp_path / "taken.csv").write_text("keep me")
    with pytest.raises(ExportError, match="never overwritten"):
        export_dataset(sources, tmp_path / "new", options=ExportOptions(mapping_file=tmp_path / "taken.csv"))
    assert (tmp_path / "taken.csv").read_text() == "keep me"
    assert not (tmp_path / "new").exists()


def test_cancel_leaves_nothing_behind(planted, tmp_path: Path) -> None:
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 3:
            cancel.set()

    with pytest.raises(OperationCancelled):
        export_dataset([StudySource(planted[0].root, planted[0].annotations)], tmp_path / "out",
                       progress=progress, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_sources_from_the_annotation_store(planted, tmp_path: Path) -> None:
    store = AnnotationStore(tmp_path / "store")
    store.save(planted[0].annotations)
    sources, notes = sources_from_paths([planted[0].root, planted[1].root], store)
    assert [s.annotations.study_instance_uid for s in sources] == [planted[0].annotations.study_instance_uid]
    assert len(sources[0].annotations.rois) == len(planted[0].annotations.rois)
    assert len(notes) == 1 and str(planted[1].root) in notes[0]
    with pytest.raises(ExportError, match="annotated study"):
        sources_from_paths([planted[1].root], store)


@pytest.mark.parametrize(
    ("description", "sequence"),
    [("AX T1 +C FS (SYNTHETIC DEMO)", "T1C"), ("AX T2 FS", "T2"), ("WATER T2 TSE", "T2"), ("t1_se_tra_post_gd", "T1C"),
     ("T1 SE AXIAL", "T1"), ("STIR COR", "T2"), ("DWI b1000", "other"), ("T1C", "T1C")],
)
def test_sequence_from_series_description(description: str, sequence: str) -> None:
    assert sequence_of(description) == sequence


@pytest.mark.parametrize(
    "pixels",
    [np.array([[0, 4095], [17, 65535]], np.uint16), np.array([[-1024, 0], [300, 3071]], np.int16),
     np.array([[-3.5, 0.25], [1e5, 7.0]], np.float32)],
)
def test_raw_patch_maps_back_to_stored_values(pixels: np.ndarray) -> None:
    from npc_desktop.core.research.export_manifest import raw_uint16

    png, scale, offset = raw_uint16(pixels)
    assert png.dtype == np.uint16
    np.testing.assert_allclose(png * scale + offset, pixels, atol=scale / 2 + 1e-9)
    if pixels.dtype == np.uint16:
        assert (scale, offset) == (1.0, 0.0) and np.array_equal(png, pixels)
