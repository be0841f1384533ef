"""Ensemble inference benchmark (issue 5 section 9): five full-size members, random weights, CPU.

Measured in one run:

* the machine's float32 ``tf.linalg.matmul`` rate (GFLOP/s), the reference for "how fast can this
  CPU go";
* per-patch time at batch 1 and 32 for the naive way (five separate ``model.predict`` calls, then
  an eager ``GradientTape`` Grad-CAM per member, as in the Keras Grad-CAM example) and for our
  path (the fused graph: prediction alone, and prediction plus five Grad-CAMs in the same call);
* peak RSS of this process (batch 1 and 32 phases) and the time from a cold process to the first
  result (a fresh ``python`` that imports, builds the demo engine and stages one patch).

ONNX Runtime against the TF fused graph (issue 19), same run, same five members (the cached demo
ONNX bundle, built first if missing): per patch at batch 1 and 32, with and without Grad-CAM
(NumPy Grad-CAM through the head for ORT); a cold ``npc-desktop stage --json`` process (one ROI of
the demo study, ``--demo-bundle``) to its first result with ``--runtime onnx`` and ``--runtime tf``,
with each child's peak RSS. Targets: ``ort_vs_tf_cam_b1`` (TF time / ORT time, prediction plus
Grad-CAM at batch 1) >= 1.1; ``cold_start_ort_s`` <= 5 s.

Random weights give the same timings as trained ones. The five members cost 82.0 GFLOP per patch at
their native sizes. Targets: prediction path >= 80% of the matmul rate at batch 1; prediction plus
five Grad-CAMs >= 8x faster than naive; peak RSS <= 2.5 GB at batch 1. The last line is one JSON
object with the figures.

Usage: ``.venv/bin/python benchmarks/bench_ensemble.py [--repeats N] [--intra N] [--inter N]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GFLOP_PER_PATCH = 82.0


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _best(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(repeats: int) -> float:
    """Float32 matmul rate of this machine through TensorFlow (2048x2048 square products)."""
    import tensorflow as tf

    n = 2048
    a = tf.random.uniform((n, n), dtype=tf.float32)
    b = tf.random.uniform((n, n), dtype=tf.float32)
    step = tf.function(lambda x, y: tf.reduce_sum(tf.linalg.matmul(x, y)), jit_compile=False)
    seconds = _best(lambda: step(a, b).numpy(), repeats + 2)
    return 2.0 * n**3 / seconds / 1e9


_PEAK_RSS_CHILD = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(done.stderr)\n"
    "print(done.stdout)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
"""Runs the command as its own child and prints its exit status and peak RSS (KB) on the last line."""


def cold_stage_seconds(runtime: str, study: Path, annotations: Path) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of a fresh ``npc-desktop stage --json`` on one ROI with the demo bundle."""
    command = [sys.executable, "-m", "npc_desktop.cli", "stage", str(study), "--annotations", str(annotations),
               "--demo-bundle", "--runtime", runtime, "--json"]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS_CHILD, *command], capture_output=True, text=True,
                          env=dict(os.environ), cwd=Path(__file__).resolve().parents[1])
    wall = time.perf_counter() - start
    *output, last = done.stdout.strip().splitlines()
    status, peak_kb = (int(v) for v in last.split())
    if status != 0:
        raise RuntimeError(f"npc-desktop stage --runtime {runtime} failed: {done.stderr[-1500:]}")
    json.loads("\n".join(output))
    return wall, peak_kb / 1024.0


def one_roi_study(folder: Path) -> tuple[Path, Path]:
    """The demo study and an annotation file with one ROI on its first T2 lesion."""
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.rois import RectRoi
    from npc_desktop.core.demo.cache import ensure_demo_study

    study = ensure_demo_study()
    lesion = study.lesions_for("T2")[0]
    row0, col0, row1, col1 = lesion.bbox
    roi = RectRoi(study_instance_uid=study.study_instance_uid, series_instance_uid=study.series_uids[lesion.series_key],
                  sop_instance_uid=lesion.sop_instance_uid, row0=row0, col0=col0, row1=row1, col1=col1, kind="tumour")
    path = folder / "one-roi.json"
    path.write_text(json.dumps(AnnotationSet(study.study_instance_uid, [roi]).to_dict()), encoding="utf-8")
    return study.root, path


def onnx_figures(fused: Any, inputs: Callable[[int], list[np.ndarray]], figures: dict[str, Any], repeats: int) -> None:
    """ONNX Runtime timings of the cached demo ONNX bundle beside the TF fused graph's (already in ``figures``)."""
    from npc_desktop.core.models.demo_onnx import ensure_demo_onnx_bundle
    from npc_desktop.core.models.manifest import read_manifest
    from npc_desktop.core.models.onnx_ensemble import OnnxEnsemble

    t = time.perf_counter()
    path = ensure_demo_onnx_bundle()
    ort = OnnxEnsemble(path, read_manifest(path))
    figures["ort_device"] = ort.device
    print(f"ONNX Runtime: {ort.device}; demo ONNX bundle {path} ready and loaded in {time.perf_counter() - t:.1f} s")
    assert ort.input_sizes == fused.input_sizes
    for batch in (1, 32):
        x = inputs(batch)
        t_pred = _best(lambda: ort(x, cam=False), repeats) / batch
        t_cam = _best(lambda: ort(x, cam=True), repeats) / batch
        figures[f"ort_predict_s_b{batch}"] = round(t_pred, 4)
        figures[f"ort_predict_cam_s_b{batch}"] = round(t_cam, 4)
        figures[f"ort_vs_tf_predict_b{batch}"] = round(figures[f"ours_predict_s_b{batch}"] / t_pred, 3)
        figures[f"ort_vs_tf_cam_b{batch}"] = round(figures[f"ours_predict_cam_s_b{batch}"] / t_cam, 3)
        figures[f"rss_peak_mb_after_ort_b{batch}"] = round(_rss_peak_mb(), 1)
        print(f"batch {batch}: ORT predict {t_pred:.3f} s/patch (TF {figures[f'ours_predict_s_b{batch}']:.3f}, "
              f"x{figures[f'ort_vs_tf_predict_b{batch}']}), ORT predict+5 CAM {t_cam:.3f} s/patch "
              f"(TF {figures[f'ours_predict_cam_s_b{batch}']:.3f}, x{figures[f'ort_vs_tf_cam_b{batch}']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--intra", type=int, default=None, help="TF intra-op threads (default: TF's)")
    parser.add_argument("--inter", type=int, default=None, help="TF inter-op threads (default: TF's)")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-naive-32", action="store_true", help="naive batch 32 takes minutes")
    args = parser.parse_args()

    from npc_desktop.core.models.runtime import configure_tensorflow

    device = configure_tensorflow(intra_op_threads=args.intra, inter_op_threads=args.inter)
    import tensorflow as tf

    from npc_desktop.core.models.bundle import demo_bundle
    from npc_desktop.core.models.cam import GradCAM
    from npc_desktop.core.models.fused import FusedEnsemble
    from npc_desktop.core.models.inputs import batch_inputs

    load = os.getloadavg()
    print(f"device: {device.description}; TF {tf.__version__}; cpu count {os.cpu_count()}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    gflops = matmul_gflops(args.repeats)
    floor = GFLOP_PER_PATCH / gflops
    print(f"matmul float32: {gflops:.1f} GFLOP/s -> floor {floor:.3f} s per patch for {GFLOP_PER_PATCH} GFLOP")

    t = time.perf_counter()
    bundle = demo_bundle()
    print(f"built five full-size members in {time.perf_counter() - t:.1f} s; RSS peak {_rss_peak_mb():.0f} MB")
    models = bundle.models
    fused = FusedEnsemble(models)
    rng = np.random.default_rng(0)
    patches = [rng.integers(0, 256, (int(rng.integers(60, 200)), int(rng.integers(60, 200))), dtype=np.uint8)
               for _ in range(32)]

    def inputs(n: int) -> list[np.ndarray]:
        return [batch_inputs(patches[:n], size) for size in fused.input_sizes]

    cams = [GradCAM(m, e.cam_layer) for m, e in zip(models, bundle.manifest.members)]

    def naive(x_by_member: list[np.ndarray]) -> None:
        probs = [m.predict(x, verbose=0) for m, x in zip(models, x_by_member)]
        ensemble = np.mean(probs, axis=0)
        target = np.argmax(ensemble, axis=1)
        for cam, x in zip(cams, x_by_member):
            cam.compute_map(x, target)

    figures: dict[str, Any] = {"matmul_gflops": round(gflops, 2), "floor_s_per_patch": round(floor, 4),
                               "device": device.description}
    for batch in (1, 32):
        x = inputs(batch)
        per_member = [x[fused.member_size_index[i]] for i in range(len(models))]
        t_fused = t_pred = 0.0
        t_pred = _best(lambda: fused(x, cam=False), args.repeats) / batch
        t_fused = _best(lambda: fused(x, cam=True), args.repeats) / batch
        figures[f"ours_predict_s_b{batch}"] = round(t_pred, 4)
        figures[f"ours_predict_cam_s_b{batch}"] = round(t_fused, 4)
        figures[f"ours_predict_gflops_b{batch}"] = round(GFLOP_PER_PATCH / t_pred, 2)
        figures[f"ours_predict_vs_matmul_b{batch}"] = round(GFLOP_PER_PATCH / t_pred / gflops, 3)
        if batch == 1 or not args.skip_naive_32:
            t_naive = _best(lambda: naive(per_member), max(1, args.repeats - 1 if batch > 1 else args.repeats)) / batch
            figures[f"naive_predict_cam_s_b{batch}"] = round(t_naive, 4)
            figures[f"speedup_cam_vs_naive_b{batch}"] = round(t_naive / t_fused, 2)
        figures[f"rss_peak_mb_after_b{batch}"] = round(_rss_peak_mb(), 1)
        print(f"batch {batch}: ours predict {t_pred:.3f} s/patch ({GFLOP_PER_PATCH / t_pred:.1f} GFLOP/s, "
              f"{GFLOP_PER_PATCH / t_pred / gflops:.0%} of matmul), ours predict+5 CAM {t_fused:.3f} s/patch, "
              f"naive {figures.get(f'naive_predict_cam_s_b{batch}', float('nan')):.3f} s/patch "
              f"-> {figures.get(f'speedup_cam_vs_naive_b{batch}', float('nan'))}x; RSS peak {_rss_peak_mb():.0f} MB")
    onnx_figures(fused, inputs, figures, args.repeats)
    if not args.skip_cold:
        import tempfile

        from npc_desktop.core.models.demo_onnx import ensure_demo_onnx_bundle

        ensure_demo_onnx_bundle()  # the one-time build of the cached ONNX demo models is not what is timed
        study, annotations = one_roi_study(Path(tempfile.mkdtemp(prefix="bench-ensemble-")))
        for runtime in ("onnx", "tf"):
            cold_stage_seconds(runtime, study, annotations)  # warm the page cache: we time the process, not the disk
        for runtime, key in (("onnx", "ort"), ("tf", "tf")):
            wall, rss = cold_stage_seconds(runtime, study, annotations)
            figures[f"cold_start_{key}_s"], figures[f"cold_rss_peak_mb_{key}"] = round(wall, 2), round(rss, 1)
            print(f"cold 'npc-desktop stage --json --demo-bundle --runtime {runtime}' (one ROI): {wall:.2f} s, "
                  f"peak RSS {rss:.0f} MB")
        figures["cold_start_to_first_result_s"] = figures["cold_start_ort_s"]  # the key earlier runs printed
    figures["targets"] = {
        "predict_vs_matmul_b1>=0.8": figures["ours_predict_vs_matmul_b1"] >= 0.8,
        "speedup_cam_vs_naive_b1>=8": figures.get("speedup_cam_vs_naive_b1", 0) >= 8,
        "rss_peak_mb_b1<=2560": figures["rss_peak_mb_after_b1"] <= 2560,
        "ort_vs_tf_cam_b1>=1.1": figures["ort_vs_tf_cam_b1"] >= 1.1,
        "cold_start_ort_s<=5": figures.get("cold_start_ort_s", float("inf")) <= 5,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
