"""Ensemble inference benchmark (issue 5 section 9): five full-size members, random weights, CPU.

Measured in one run:

* the machine's float32 ``tf.linalg.matmul`` rate (GFLOP/s), the reference for "how fast can this
  CPU go";
* per-patch time at batch 1 and 32 for the naive way (five separate ``model.predict`` calls, then
  an eager ``GradientTape`` Grad-CAM per member, as in the Keras Grad-CAM example) and for our
  path (the fused graph: prediction alone, and prediction plus five Grad-CAMs in the same call);
* peak RSS of this process (batch 1 and 32 phases) and the time from a cold process to the first
  result (a fresh ``python`` that imports, builds the demo engine and stages one patch).

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


def cold_start_seconds() -> float:
    """Wall time of a fresh process: import, build the demo engine at full size, stage one patch."""
    code = (
        "import time; t=time.perf_counter()\n"
        "import numpy as np\n"
        "from npc_desktop.core.staging.engine import StagingEngine, StagingItem\n"
        "e = StagingEngine.demo(batch_size=1)\n"
        "r = e.stage([StagingItem(np.random.default_rng(0).integers(0, 256, (120, 140), dtype=np.uint8))])\n"
        "print(time.perf_counter() - t)\n"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), cwd=Path(__file__).resolve().parents[1], check=True)
    wall = time.perf_counter() - start
    inner = float(out.stdout.strip().splitlines()[-1])
    return max(wall, inner)


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
    if not args.skip_cold:
        figures["cold_start_to_first_result_s"] = round(cold_start_seconds(), 2)
        print(f"cold process to first result: {figures['cold_start_to_first_result_s']} s")
    figures["targets"] = {
        "predict_vs_matmul_b1>=0.8": figures["ours_predict_vs_matmul_b1"] >= 0.8,
        "speedup_cam_vs_naive_b1>=8": figures.get("speedup_cam_vs_naive_b1", 0) >= 8,
        "rss_peak_mb_b1<=2560": figures["rss_peak_mb_after_b1"] <= 2560,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
