"""``npc-desktop stage`` and ``npc-desktop bundle verify|info`` as a user calls them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from npc_desktop.cli.main import main
from tests.conftest import REPO_ROOT, roi_from_demo_lesion


@pytest.fixture(scope="module")
def cli_bundle(small_onnx_bundle: Path) -> Path:
    return small_onnx_bundle


@pytest.fixture(scope="module")
def annotation_file(demo_study: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet

    lesions = demo_study.lesions_for("T2")
    rois = [roi_from_demo_lesion(demo_study, lesions[len(lesions) // 2]), roi_from_demo_lesion(demo_study, lesions[0])]
    path = tmp_path_factory.mktemp("cli-annotations") / "rois.json"
    path.write_text(json.dumps(AnnotationSet(demo_study.study_instance_uid, rois).to_dict()))
    return path


def test_bundle_info_and_verify(cli_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "info", str(cli_bundle)]) == 0
    out = capsys.readouterr().out
    assert "bundle tiny-test 0.1" in out and "member densenet121: densenet121 32x32, preprocess torch" in out
    assert "training_data" in out
    assert "Uncalibrated probabilities" in out and "Patient threshold: argmax" in out
    assert main(["bundle", "verify", str(cli_bundle)]) == 0
    assert "OK - 2 member(s), every SHA-256 matches" in capsys.readouterr().out


def test_bundle_verify_names_a_tampered_file(cli_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = Path(shutil.copytree(cli_bundle, tmp_path / "copy"))
    target = copy / "basic_cnn.keras"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    assert main(["bundle", "verify", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("npc-desktop: error: ") and "basic_cnn.keras: SHA-256 does not match" in err
    assert len(err.strip().splitlines()) == 1


def test_stage_prints_patches_and_patient(
    demo_study: Any, cli_bundle: Path, annotation_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["stage", str(demo_study.root), "--annotations", str(annotation_file), "--bundle", str(cli_bundle)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("bundle tiny-test 0.1")
    assert sum(line.startswith("patch ") for line in lines) == 2
    # Slices are numbered from 1, as in the viewer ("Im k / n") and the PDF report.
    lesions = demo_study.lesions_for("T2")
    expected = sorted(lesion.slice_index + 1 for lesion in (lesions[len(lesions) // 2], lesions[0]))
    printed = [re.match(r"patch \d+ \([a-z_]+, slice (\d+), rows ", line) for line in lines]
    assert sorted(int(match.group(1)) for match in printed if match) == expected
    assert sum(line.strip().startswith(("densenet121", "basic_cnn")) for line in lines) == 4
    # The patient line, then the TNM stage beside it (this study has no saved TNM form).
    assert lines[-2].startswith("patient: ") and "mean of 2 patch(es)" in lines[-2]
    assert lines[-1].startswith("TNM stage: no saved TNM form for this study; ensemble: ")
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["untrained_demo"] is False and len(data["patches"]) == 2
    assert set(data["patient"]["probabilities"]) == {"III", "IVa"}
    assert data["patches"][0]["members"]["basic_cnn"]["vote"] in ("III", "IVa")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--annotations", "/nonexistent/rois.json", "--demo-bundle"], "--annotations /nonexistent/rois.json: no such file"),
        (["--bundle", "/nonexistent/bundle"], "/nonexistent/bundle: no such bundle folder"),
        ([], "choose a model bundle with --bundle DIR"),
    ],
)
def test_stage_bad_input_exits_2_naming_the_file(
    demo_study: Any, annotation_file: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["stage", str(demo_study.root)]
    if "--annotations" not in extra:
        argv += ["--annotations", str(annotation_file)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_stage_refuses_annotations_of_another_study(
    tmp_path: Path, demo_study: Any, cli_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet

    other = tmp_path / "other.json"
    other.write_text(json.dumps(AnnotationSet("1.2.3.4").to_dict()))
    assert main(["stage", str(demo_study.root), "--annotations", str(other), "--bundle", str(cli_bundle)]) == 2
    assert "its study is not in" in capsys.readouterr().err


def test_bundle_info_on_missing_folder_has_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "npc_desktop", "bundle", "info", str(tmp_path / "missing")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'missing'}: no such bundle folder" in result.stderr


@pytest.fixture
def autosave_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the workstation autosaves to, for this test only."""
    import npc_desktop.core.annotation.store as persistence

    folder = tmp_path / "autosave"
    monkeypatch.setattr(persistence, "default_annotation_dir", lambda: folder)
    return folder


def test_stage_says_when_it_used_the_backup_of_the_autosave(
    demo_study: Any, cli_bundle: Path, annotation_file: Path, autosave_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.store import AnnotationStore

    store = AnnotationStore()
    full = AnnotationSet.from_dict(json.loads(annotation_file.read_text()))
    store.save(AnnotationSet(full.study_instance_uid, full.rois[:1]))
    store.save(full)  # the backup holds the one-ROI version
    path = store.path_for(full.study_instance_uid)
    path.write_text("{ damaged")
    assert main(["stage", str(demo_study.root), "--bundle", str(cli_bundle)]) == 0
    captured = capsys.readouterr()
    (moved,) = autosave_dir.glob(path.name + ".corrupt-*")
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("npc-desktop: warning: ")
    assert str(path) in err[0] and str(moved) in err[0] and "restored from the backup" in err[0]
    assert sum(line.startswith("patch ") for line in captured.out.splitlines()) == 1  # the backup's ROI


def test_stage_with_an_unreadable_autosave_exits_2_naming_it(
    demo_study: Any, annotation_file: Path, autosave_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.store import AnnotationStore

    store = AnnotationStore()
    annotations = AnnotationSet.from_dict(json.loads(annotation_file.read_text()))
    store.save(annotations)
    path = store.path_for(annotations.study_instance_uid)
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert main(["stage", str(demo_study.root), "--demo-bundle"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err and "Permission denied" in err
    assert path.exists() and not list(autosave_dir.glob("*.corrupt-*"))  # left where it is


def test_stage_text_headline_says_when_the_members_split(
    demo_study: Any, cli_bundle: Path, annotation_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from npc_desktop.core.models.headline import stage_headline, voting_agreement

    argv = ["stage", str(demo_study.root), "--annotations", str(annotation_file), "--bundle", str(cli_bundle)]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    patient = data["patient"]
    manifest = json.loads((cli_bundle / "manifest.json").read_text())
    weights = {m["name"]: m["vote_weight"] for m in manifest["members"]}
    votes = [patient["members"][name]["vote"] for name in data["members"]]
    agreeing, voting = voting_agreement(patient["predicted"], votes, [weights[name] for name in data["members"]])
    expected = stage_headline(patient["predicted"], max(patient["probabilities"].values()), agreeing, voting)
    assert main(argv) == 0
    last = capsys.readouterr().out.splitlines()[-2]  # the patient line, before the TNM line
    assert last.startswith(f"patient: {expected} [")
    assert ("split:" in last) == (agreeing < voting)
