"""``npc-desktop tnm STUDY`` from the workstation's autosave, and the TNM stage beside the ensemble
in ``npc-desktop stage`` (text and ``--json``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from npc_desktop.cli.main import main
from npc_desktop.core.annotation.store import AnnotationStore
from npc_desktop.core.dicom import index_path, load_series
from tests.tnm_study import tnm_annotations


@pytest.fixture
def autosave_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the workstation autosaves to, for this test only."""
    import npc_desktop.core.annotation.store as persistence

    folder = tmp_path / "autosave"
    monkeypatch.setattr(persistence, "default_annotation_dir", lambda: folder)
    return folder


@pytest.fixture(scope="module")
def volumes(demo_study: Any) -> dict[str, Any]:
    index = index_path(demo_study.root)
    return {uid: load_series(index.find_series(uid)) for uid in demo_study.series_uids.values()}


def _save(annotations, store: AnnotationStore | None = None) -> Path:
    """Autosave as the workstation does (one store per session); returns the file."""
    store = store or AnnotationStore()
    store.save(annotations)
    return store.path_for(annotations.study_instance_uid)


def test_tnm_study_text_and_json_from_the_autosave(demo_study, volumes, autosave_dir, capsys) -> None:
    _save(tnm_annotations(demo_study, volumes))
    assert main(["tnm", str(demo_study.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Stage IVA (T3 N3 M0, AJCC/UICC 8th edition)"
    assert "  N3: node 2, axial long axis 64 mm > 60 mm" in lines
    assert main(["tnm", str(demo_study.root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"t", "n", "m", "stage", "edition", "reasons"}
    assert (data["t"], data["n"], data["m"], data["stage"], data["edition"]) == ("T3", "N3", "M0", "IVA", 8)


def test_tnm_study_evaluates_the_cricoid_rule_on_the_node_series(demo_study, volumes, autosave_dir,
                                                                 capsys) -> None:
    from npc_desktop.core.annotation.cricoid import cricoid_level_at
    from npc_desktop.core.tnm.study import node_rois

    annotations = tnm_annotations(demo_study, volumes, node_long_mm=30.0)
    node = node_rois(annotations)[0]
    volume = volumes[node.series_instance_uid]
    # Mark the cricoid on the most superior slice: every node now extends below it, whatever its size.
    top = max(range(volume.shape[0]), key=lambda k: volume.index_to_patient(float(k), 0.0, 0.0)[2])
    annotations.set_cricoid_level(cricoid_level_at(volume, top, 20.0, 20.0))
    path = autosave_dir / "elsewhere.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(annotations.to_dict()))
    assert main(["tnm", str(demo_study.root), "--annotations", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == "N3" and data["stage"] == "IVA"
    assert any("below" in reason and "cricoid" in reason for reason in data["reasons"])


def test_tnm_study_without_a_saved_form_exits_2_naming_the_study(demo_study, volumes, autosave_dir,
                                                                 capsys) -> None:
    annotations = tnm_annotations(demo_study, volumes)
    annotations.set_tnm_form(None)
    _save(annotations)
    assert main(["tnm", str(demo_study.root)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1
    assert str(demo_study.root) in err[0] and "no saved TNM form" in err[0] and "TNM dock" in err[0]


def test_tnm_study_with_no_autosave_at_all_names_the_study(demo_study, autosave_dir, capsys) -> None:
    assert main(["tnm", str(demo_study.root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no saved TNM form" in err[0] and str(demo_study.root) in err[0]


@pytest.mark.parametrize(("args", "expected"), [
    (["--t", "T3"], "--t: give either STUDY (its saved TNM form) or --t, --n and --m, not both"),
    (["--t", "T3", "--n", "N2", "--m", "M0"], "--t, --n, --m: give either STUDY"),
])
def test_study_with_categories_is_a_usage_error(demo_study, args, expected, capsys) -> None:
    assert main(["tnm", str(demo_study.root), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]


def test_invalid_saved_form_and_missing_study_exit_2_without_traceback(demo_study, volumes, tmp_path) -> None:
    annotations = tnm_annotations(demo_study, volumes)
    annotations.set_tnm_form(dict(annotations.tnm_form, m="M9"))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(annotations.to_dict()))
    script = Path(sys.executable).with_name("npc-desktop")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "npc_desktop"]
    for args, expected in (([str(demo_study.root), "--annotations", str(broken)], "tnm_form.m"),
                           ([str(tmp_path / "nowhere")], "no such file or folder")):
        done = subprocess.run([*command, "tnm", *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stdout == ""
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert expected in done.stderr


@pytest.mark.slow
def test_stage_prints_the_tnm_stage_beside_the_ensemble_and_the_discordance(demo_study, volumes, autosave_dir,
                                                                            capsys) -> None:
    from tests.core.conftest import TINY_SIZES

    size = min(TINY_SIZES.values())
    # The TensorFlow runtime builds the tiny demo members in memory; ONNX would export them first.
    argv = ["stage", str(demo_study.root), "--demo-bundle", "--demo-input-size", str(size), "--runtime", "tf",
            "--json"]
    store = AnnotationStore()
    _save(tnm_annotations(demo_study, volumes, node_long_mm=30.0), store)  # TNM III
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    ensemble = max(data["patient"]["probabilities"], key=data["patient"]["probabilities"].get)
    tnm_stage = "IVA" if ensemble == "III" else "III"
    # The TNM stage that disagrees with this ensemble's class: 64 mm node -> IVA, 30 mm -> III.
    _save(tnm_annotations(demo_study, volumes, node_long_mm=64.0 if tnm_stage == "IVA" else 30.0), store)
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"patches", "patient", "untrained_demo"} <= set(data)  # the existing keys stay
    assert data["tnm"]["stage"] == tnm_stage and data["tnm"]["discordant"] is True
    assert data["tnm"]["comparison"] == f"Discordant: TNM stage {tnm_stage}, ensemble {ensemble}"
    assert main(argv[:-1]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith(f"TNM stage: {tnm_stage} (T3 ") and lines[-2].endswith(f"ensemble: {ensemble}")
    assert lines[-1] == f"Discordant: TNM stage {tnm_stage}, ensemble {ensemble}"


def test_a_saved_form_that_cannot_be_staged_exits_2_like_the_categories(demo_study, volumes, autosave_dir,
                                                                       capsys) -> None:
    """A saved form without its M (or with T0 N0) gives no stage group: exit 2 and one line, as
    ``--t T0 --n N0 --m M0`` does, never a result with exit 0."""
    from npc_desktop.core.tnm.form import TnmForm

    annotations = tnm_annotations(demo_study, volumes)
    form = TnmForm.from_dict(annotations.tnm_form)
    annotations.set_tnm_form(TnmForm(findings=form.findings, nodes=form.nodes, primary_side=form.primary_side,
                                     m=None).to_dict())
    _save(annotations)
    assert main(["tnm", str(demo_study.root), "--json"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1
    assert str(demo_study.root) in err[0] and "saved TNM form" in err[0] and "M" in err[0]
