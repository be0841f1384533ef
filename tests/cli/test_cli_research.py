"""``npc-desktop export``, ``train`` and ``evaluate`` as a user calls them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from npc_desktop.cli.main import main
from npc_desktop.core.annotation.store import AnnotationStore
from tests.core.research.helpers import plant_phi, write_patch_set

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("npc-desktop")
    return [str(script)] if script.exists() else [sys.executable, "-m", "npc_desktop"]


@pytest.fixture(scope="module")
def annotated(demo_study, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("annotated")
    store = AnnotationStore(root / "store")
    studies = [plant_phi(demo_study, root / f"s{i}", i, stage) for i, stage in enumerate(("III", "IVa", "IVa"), 1)]
    for study in studies:
        store.save(study.annotations)
    return studies, store.directory


def test_export(annotated, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    studies, store = annotated
    out = tmp_path / "dataset"
    argv = ["export", *(str(s.root) for s in studies), "-o", str(out), "--annotations-dir", str(store),
            "--margin", "0.3", "--split", "0.5", "--seed", "4", "--write-mapping", str(tmp_path / "map.csv")]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert f"patches of 3 patients to {out}" in stdout and "pseudonym mapping" in stdout
    rows = list(csv.DictReader(open(out / "manifest.csv")))
    assert {r["margin_fraction"] for r in rows} == {"0.3"}
    assert json.loads((out / "dataset.json").read_text())["split"]["seed"] == 4
    assert {r["patient"] for r in rows if r["split"] == "test"}.isdisjoint({r["patient"] for r in rows if r["split"] == "train"})
    assert (tmp_path / "map.csv").is_file()
    assert main(argv) == 2  # the folder is not empty any more
    assert "not empty" in capsys.readouterr().err


def test_export_bad_input_exits_2(annotated, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    studies, store = annotated
    assert main(["export", str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
    assert f"{tmp_path / 'nope'}: no such file or folder" in capsys.readouterr().err
    empty_store = tmp_path / "empty-store"
    empty_store.mkdir()
    assert main(["export", str(studies[0].root), "-o", str(tmp_path / "o"), "--annotations-dir", str(empty_store)]) == 2
    assert "annotated study" in capsys.readouterr().err
    assert main(["export", str(studies[0].root), "-o", str(tmp_path / "o"), "--annotations-dir", str(store),
                 "--margin", "-1"]) == 2
    assert "--margin" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [("export", "--seed", "-1"), ("train", "--seed", "-1"), ("evaluate", "--seed", "-3"), ("train", "--seed", "1.5"),
     ("export", "--split", "0"), ("export", "--split", "1.2"), ("train", "--split", "1"), ("evaluate", "--split", "0"),
     ("export", "--margin", "-0.1"), ("export", "--margin-mm", "nan"), ("train", "--epochs", "0"),
     ("train", "--basic-cnn-epochs", "-1"), ("train", "--fine-tune-epochs", "-2"), ("train", "--batch-size", "0"),
     ("train", "--learning-rate", "0"), ("train", "--learning-rate", "inf"), ("train", "--augmented-copies", "-1"),
     ("train", "--validation-fraction", "1"), ("train", "--input-size", "8"), ("train", "--input-size", "vgg16=x"),
     ("train", "--input-size", "inception_v3=32")],
)
def test_bad_numbers_are_one_line_naming_the_option(
        command: str, option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_patch_set(tmp_path / "data", patients_per_class=2, patches_per_patient=1)
    positional = {"export": [str(data)], "train": [str(data)], "evaluate": [str(data), str(data)]}[command]
    argv = [command, *positional, "-o", str(tmp_path / "out"), f"{option}={value}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("npc-desktop: error:") and option in lines[0], err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_overwrite_of_the_working_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_patch_set(tmp_path / "data", patients_per_class=3, patches_per_patient=1)
    (tmp_path / "IM0001.dcm").write_bytes(b"DICM")
    monkeypatch.chdir(tmp_path)
    for output, why in ((".", "is the current directory"), (str(data), f"is {data}")):
        assert main(["train", str(data), "-o", output, "--overwrite", "--members", "basic_cnn", "--input-size", "16",
                     "--epochs", "1"]) == 2
        err = capsys.readouterr().err
        assert why in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "IM0001.dcm").read_bytes() == b"DICM" and len(list(data.rglob("*.png"))) == 6


def test_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    for argv in (["train", str(tmp_path / "missing"), "-o", str(tmp_path / "b")],
                 ["evaluate", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "r")],
                 ["export", str(tmp_path), "-o", str(tmp_path / "e"), "--seed", "-1"],
                 ["train", str(tmp_path), "-o", str(tmp_path / "b"), "--members", "alexnet"]):
        result = subprocess.run(_entry_point() + argv, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("npc-desktop: error:") and "Traceback" not in result.stderr


@pytest.mark.slow
def test_train_and_evaluate_a_class_folder_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_patch_set(tmp_path / "data", patients_per_class=6, patches_per_patient=4, seed=2)
    bundle = tmp_path / "bundle"
    argv = ["train", str(data), "-o", str(bundle), "--members", "basic_cnn,densenet121", "--input-size", "32",
            "--epochs", "3", "--augmented-copies", "1", "--fold-column", "fold", "--test-folds", "1",
            "--cache-dir", str(tmp_path / "cache"), "--report", str(tmp_path / "report"), "--learning-rate", "1e-3",
            "--vote-weights", "equal", "--patient-threshold", "validation"]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert f"wrote bundle {bundle}" in out.out and "Ensemble: test accuracy" in out.out
    assert "random initialisation" in out.err and "DenseNet121 head: epoch 3/3" in out.err
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["class_names"] == ["III", "IVa"]
    assert manifest["provenance"]["split"]["fold_column"] == "fold"
    calibration = manifest["calibration"]
    assert calibration["vote_weights"]["method"] == "equal" and calibration["vote_weights"]["reason"]
    assert calibration["patient_threshold"]["method"] == "validation" and calibration["validation"]["patients"]
    assert "vote weights: equal" in out.out
    assert (tmp_path / "report" / "report.md").is_file()

    assert main(["evaluate", str(bundle), str(data), "-o", str(tmp_path / "eval"),
                 "--fold-column", "fold", "--test-folds", "1"]) == 0
    assert "Ensemble: accuracy" in capsys.readouterr().out
    assert (tmp_path / "eval" / "roc_patch.png").is_file() and (tmp_path / "eval" / "reliability.png").is_file()
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert {"accuracy", "ece", "brier"} <= set(metrics["patient_level"]["Ensemble"])
    assert "Patient threshold: IVa when" in (tmp_path / "eval" / "report.md").read_text()
    assert main(["evaluate", str(bundle), str(data), "-o", str(tmp_path / "eval2"), "--all"]) == 0
    assert main(["evaluate", str(bundle), str(data), "-o", str(tmp_path / "eval3")]) == 0  # the bundle's split
    capsys.readouterr()

    def files(report: str) -> list[str]:
        return [row["file"] for row in csv.DictReader(open(tmp_path / report / "predictions.csv"))]

    assert files("eval3") == files("eval") and len(files("eval2")) == 48 > len(files("eval"))

    assert main(["evaluate", str(bundle), str(data), "-o", str(tmp_path / "e3"), "--fold-column", "fold",
                 "--test-folds", "9"]) == 2
    assert "test fold '9' does not occur" in capsys.readouterr().err
    (tmp_path / "other" / "a").mkdir(parents=True)
    (tmp_path / "other" / "b").mkdir()
    for name in ("a/1.png", "b/1.png"):
        (tmp_path / "other" / name).write_bytes((data / "III" / "S001_00.png").read_bytes())
    (tmp_path / "other" / "manifest.csv").write_text("file,patient\na/1.png,X\nb/1.png,Y\n")
    assert main(["evaluate", str(bundle), str(tmp_path / "other"), "-o", str(tmp_path / "e4"), "--all"]) == 2
    assert "differ from the data's ['a', 'b']" in capsys.readouterr().err
    assert main(["train", str(data), "-o", str(bundle), "--members", "basic_cnn"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["train", str(data), "-o", str(tmp_path / "b0"), "--members", "basic_cnn", "--validation-fraction", "0",
                 "--vote-weights", "validation"]) == 2
    assert "need validation patients" in capsys.readouterr().err
    assert main(["train", str(data), "-o", str(tmp_path / "b2"), "--members", "inception_v3", "--input-size", "16"]) == 2
    assert "inception" in capsys.readouterr().err.lower()
