"""``npc-desktop cohort index|list|stage`` as a user calls them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from npc_desktop.cli.main import main


@pytest.fixture
def cohort_env(demo_study: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder for the database, an autosave folder, and the demo study twice (two copies)."""
    import npc_desktop.core.annotation.store as persistence

    monkeypatch.setenv("NPC_DESKTOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(persistence, "default_annotation_dir", lambda: tmp_path / "autosave")
    return demo_study.root


def test_index_then_list_as_text_and_json(cohort_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    assert main(["cohort", "index", str(cohort_env), str(tmp_path / "bad")]) == 0
    out = capsys.readouterr().out
    assert f"skipped: {tmp_path / 'bad' / 'broken.dcm'}" in out and "2 folder(s)" in out
    assert (tmp_path / "data" / "cohort.sqlite").is_file()
    assert main(["cohort", "index", str(cohort_env), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files_read"] == 0 and report["files_unchanged"] == report["files_found"]
    assert main(["cohort", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "0 of 1 labelled, 0 staged, 0 discordant"
    assert out[0].startswith("PT-") and "T1C+T2" in out[0] and "DEMO" not in out[0]
    assert main(["cohort", "list", "--filter", "unlabelled", "--json", "--real-names"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["filter"] == "unlabelled" and data["rows"][0]["patient"] == "DEMO^SYNTHETIC PATIENT"
    assert main(["cohort", "list", "--filter", "discordant"]) == 0
    assert capsys.readouterr().out.startswith("0 row(s) shown (discordant)")


def test_stage_needs_a_bundle_and_stages_rows_with_rois(
    cohort_env: Path, demo_study: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.store import AnnotationStore
    from tests.conftest import roi_from_demo_lesion
    from tests.core.conftest import write_small_bundle

    assert main(["cohort", "index", str(cohort_env)]) == 0
    assert main(["cohort", "stage"]) == 2
    assert "--bundle DIR" in capsys.readouterr().err
    lesion = next(les for les in demo_study.lesions_for("T2") if les.kind == "tumour")
    AnnotationStore().save(AnnotationSet(demo_study.study_instance_uid, [roi_from_demo_lesion(demo_study, lesion)]))
    bundle = write_small_bundle(tmp_path / "bundle")
    assert main(["cohort", "stage", "--bundle", str(bundle), "--filter", "unstaged"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "stage: 1 done, 0 skipped, 0 failed" and "done: PT-" in out
    assert main(["cohort", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["staged"] and not row["stale"] and row["tumours"] == 1 and len(row["bundle_sha256"]) == 64
    assert main(["cohort", "stage", "--bundle", str(bundle), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["outcome"] == "skipped"
    assert main(["cohort", "stage", "--bundle", str(bundle), "--runtime", "tf", "--json"]) == 0  # as `stage` has
    assert json.loads(capsys.readouterr().out)["rows"][0]["outcome"] == "skipped"


def test_bad_root_and_corrupt_database(cohort_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cohort", "index", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    database = tmp_path / "mine.sqlite"
    database.write_bytes(b"garbage" * 500)
    assert main(["cohort", "index", str(cohort_env), "--database", str(database)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("npc-desktop: warning: The cohort database") and "a new, empty one was built" in err
