"""Frozen-base training: head epochs on cached features against plain ``model.fit`` through the frozen base.

One full-size member (VGG16 at 224x224 by default; random weights, which cost the same time as
ImageNet ones), the same patches, the same run:

- plain: the member with its base frozen, compiled with the recipe (Adam 1e-4, categorical
  cross-entropy, batch 32), ``model.fit`` on the images, one epoch at a time (the first, which
  traces the graph, is reported separately and left out of the mean);
- cached: the base features of the same patches computed once through the product's
  :class:`~npc_desktop.core.research.features.FeatureCache`, then the member's head (the same
  layer objects, :func:`member_parts`) trained on them with the same optimiser and batch size.

Both epochs see the same number of samples. Printed: seconds per epoch of each, the ratio
(target >= 10x), the one-time feature extraction, the end-to-end time for the recipe's default
run (10 epochs, 4 augmented copies) both ways, and the machine's load average. The last line is
one JSON object with the figures.

Usage: ``.venv/bin/python benchmarks/bench_training.py [--arch vgg16] [--patches 96] [--epochs 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def _patches(count: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    from tests.core.research.helpers import synthetic_patch

    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    return [synthetic_patch(rng, int(label)) for label in labels], labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vgg16")
    parser.add_argument("--patches", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=3, help="timed plain epochs after the warm-up epoch")
    parser.add_argument("--head-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from npc_desktop.core.models.architectures import HEAD_LAYERS, build_member, member_parts
    from npc_desktop.core.models.specs import get_spec, normalise_input_size
    from npc_desktop.core.research.augment import Augmentation
    from npc_desktop.core.research.features import cache_for, input_keys
    from npc_desktop.core.research.predict import compiled_call, grey_inputs, three_channels

    load_before = os.getloadavg()
    size = normalise_input_size(args.arch, None)
    images, labels = _patches(args.patches, args.seed)
    grey = grey_inputs(images, size)
    x_images = three_channels(grey)
    y = np.eye(2, dtype=np.float32)[labels]
    model = build_member(args.arch, input_size=size, class_names=("III", "IVa"), weights=None, seed=args.seed)
    parts = member_parts(model)
    print(f"{get_spec(args.arch).display_name} at {size[0]}x{size[1]}, {args.patches} patches, batch 32, "
          f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, load average before {load_before[0]:.2f}")

    # plain: model.fit through the frozen base
    for layer in model.layers:
        layer.trainable = layer.name in HEAD_LAYERS
    model.compile(keras.optimizers.Adam(1e-4), keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    plain = []
    for epoch in range(args.epochs + 1):
        started = time.perf_counter()
        model.fit(x_images, y, batch_size=32, epochs=1, shuffle=True, verbose=0)
        plain.append(time.perf_counter() - started)
        print(f"plain model.fit epoch {epoch + 1}: {plain[-1]:.2f} s{' (warm-up, traces the graph)' if epoch == 0 else ''}")
    plain_epoch = float(np.mean(plain[1:]))

    # cached: features once, then the head on the cache
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = cache_for(cache_dir, args.arch, size, parts.features, Augmentation(), args.seed)
        extract = compiled_call(parts.features, (*size, 3))
        keys = input_keys(grey)
        started = time.perf_counter()
        features = cache.features(grey, keys, 1, extract)[0]
        extraction = time.perf_counter() - started
        started = time.perf_counter()
        again = cache.features(grey, keys, 1, extract)[0]
        cache_read = time.perf_counter() - started
    assert np.array_equal(features, again)
    print(f"feature extraction, once: {extraction:.2f} s ({extraction / args.patches * 1000:.1f} ms per patch); "
          f"reading them back from the cache: {cache_read:.3f} s")
    parts.head.compile(keras.optimizers.Adam(1e-4), keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    head = []
    for epoch in range(args.head_epochs + 1):
        started = time.perf_counter()
        parts.head.fit(features, y, batch_size=32, epochs=1, shuffle=True, verbose=0)
        head.append(time.perf_counter() - started)
    head_epoch = float(np.mean(head[1:]))
    print(f"cached head epoch: {head_epoch * 1000:.1f} ms (mean of {args.head_epochs}; warm-up {head[0]:.2f} s)")

    ratio = plain_epoch / head_epoch
    # the recipe's default run: 10 epochs; the cache holds the original plus 4 augmented copies
    epochs, copies = 10, 5
    per_patch_forward = extraction / args.patches
    recipe_plain = epochs * plain_epoch
    recipe_cached = copies * per_patch_forward * args.patches + epochs * copies * head_epoch
    load_after = os.getloadavg()
    print(f"per-epoch speed-up: {ratio:.0f}x (target >= 10x)")
    print(f"recipe default, {epochs} epochs: plain {recipe_plain:.1f} s vs cached {recipe_cached:.1f} s including "
          f"the one-time extraction of {copies} copies ({recipe_plain / recipe_cached:.1f}x); a re-run on the "
          f"cache costs {epochs * copies * head_epoch:.2f} s")
    print(f"load average after: {load_after[0]:.2f} (other processes share the {os.cpu_count()} CPUs)")
    print(json.dumps({
        "architecture": args.arch, "input_size": list(size), "patches": args.patches,
        "plain_epoch_s": round(plain_epoch, 3), "plain_warmup_epoch_s": round(plain[0], 3),
        "cached_head_epoch_s": round(head_epoch, 5), "speedup_per_epoch": round(ratio, 1),
        "feature_extraction_s": round(extraction, 3), "cache_read_s": round(cache_read, 4),
        "recipe_plain_s": round(recipe_plain, 2), "recipe_cached_s": round(recipe_cached, 2),
        "target_speedup": 10, "meets_target": bool(ratio >= 10),
        "load_average_before": round(load_before[0], 2), "load_average_after": round(load_after[0], 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
