"""``--runtime onnx|tf``, ``bundle export-onnx`` and the inference-only build's one-line refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from npc_desktop.cli.main import main
from tests.conftest import REPO_ROOT, roi_from_demo_lesion


@pytest.fixture(scope="module")
def annotation_file(demo_study: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet

    lesion = demo_study.lesions_for("T2")[0]
    path = tmp_path_factory.mktemp("onnx-annotations") / "rois.json"
    path.write_text(json.dumps(AnnotationSet(demo_study.study_instance_uid,
                                             [roi_from_demo_lesion(demo_study, lesion)]).to_dict()))
    return path


def test_onnx_staging_never_imports_tensorflow(demo_study: Any, small_onnx_bundle: Path, annotation_file: Path) -> None:
    script = (
        "import json, sys\n"
        "from npc_desktop.cli.main import main\n"
        f"status = main(['stage', {str(demo_study.root)!r}, '--annotations', {str(annotation_file)!r}, "
        f"'--bundle', {str(small_onnx_bundle)!r}, '--runtime', 'onnx', '--json'])\n"
        "print(json.dumps({'status': status, 'tensorflow': 'tensorflow' in sys.modules, "
        "'keras': 'keras' in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    *result_lines, last = done.stdout.strip().splitlines()
    assert json.loads(last) == {"status": 0, "tensorflow": False, "keras": False}
    result = json.loads("\n".join(result_lines))
    assert result["runtime"] == "onnx" and "ONNX Runtime" in result["device"]
    assert result["device"].startswith("CPU: ") and len(result["patches"]) == 1


def test_both_runtimes_give_the_same_result(demo_study: Any, small_onnx_bundle: Path, annotation_file: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["stage", str(demo_study.root), "--annotations", str(annotation_file), "--bundle", str(small_onnx_bundle)]
    results = {}
    for runtime in ("onnx", "tf"):
        assert main([*argv, "--runtime", runtime, "--json"]) == 0
        results[runtime] = json.loads(capsys.readouterr().out)
    assert results["tf"]["runtime"] == "tf" and "TensorFlow" in results["tf"]["device"]
    onnx_p, tf_p = (results[r]["patient"]["probabilities"] for r in ("onnx", "tf"))
    assert all(abs(onnx_p[k] - tf_p[k]) < 1e-4 for k in tf_p)
    assert main([*argv, "--runtime", "onnx"]) == 0
    assert "ONNX Runtime" in capsys.readouterr().out.splitlines()[0]


def test_export_onnx_adds_graphs_to_a_keras_only_bundle(demo_study: Any, annotation_file: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from npc_desktop.core.models.architectures import build_member
    from npc_desktop.core.models.bundle_writer import write_bundle

    copy = tmp_path / "bundle"
    models = [build_member("basic_cnn", input_size=16, seed=0), build_member("basic_cnn", input_size=24, seed=1,
                                                                             name="basic_cnn_24")]
    write_bundle(copy, models, name="keras-only", provenance={"training_data": {"note": "random weights"}})
    stage = ["stage", str(demo_study.root), "--annotations", str(annotation_file), "--bundle", str(copy)]
    assert main(stage) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "has no ONNX graph" in err and "bundle export-onnx DIR" in err
    assert main(["bundle", "export-onnx", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "2 ONNX graph(s) written, each equal to Keras within 1e-4" in out
    assert main(["bundle", "verify", str(copy)]) == 0 and main(stage) == 0
    assert "no ONNX graph" not in (capsys.readouterr(), main(["bundle", "info", str(copy)]), capsys.readouterr().out)[2]


@pytest.mark.parametrize("argv", [["train", "dataset", "-o", "b"], ["bundle", "export-onnx", "somewhere"]])
def test_inference_only_build_refuses_in_one_line(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from npc_desktop.cli import bundle_onnx

    monkeypatch.setattr(bundle_onnx, "tensorflow_installed", lambda: False)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs the full build with TensorFlow" in err
