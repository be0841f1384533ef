"""What crash containment costs: compressed decoding in the worker pool versus in the app's process.

Measures, in the same run: loading the TCIA series (uncompressed, never goes to the pool), and loading
every compressed file of ../shared/data/dicom (a) in the calling process, (b) in the warm decode pool,
(c) in a cold pool (first use, worker start included). Also measures the other option, validating the
encapsulated fragment and RLE segment lengths before decoding, and checks whether that validation
would have stopped the file that made pylibjpeg-rle panic (tests/data/fuzz/rle_panic_fallback.dcm).

Usage: python benchmarks/bench_decode_isolation.py [--repeats N]
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import struct
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import pydicom
from pydicom.encaps import generate_fragments

from npc_desktop.core.dicom import decode_pool, index_path, load_path, load_series

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "dicom"
TCIA = DATA / "mr-head-t1c-tcia-vs-seg-001"
PANIC_FILE = ROOT / "tests" / "data" / "fuzz" / "rle_panic_fallback.dcm"
RLE = "1.2.840.10008.1.2.5"


def median_time(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compressed_files() -> list[Path]:
    files = []
    for path in sorted(DATA.rglob("*")):
        if not path.is_file() or "tcia" in str(path) or path.name == "DICOMDIR":
            continue
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            syntax = ds.file_meta.TransferSyntaxUID
        except Exception:  # noqa: BLE001 - not DICOM or broken on purpose: not part of this measurement
            continue
        if syntax.is_compressed and "PixelData" in pydicom.dcmread(path):
            try:
                load_path(path)
            except Exception:  # noqa: BLE001 - deliberately broken test files are left out
                continue
            files.append(path)
    return files


def fragments_are_valid(path: Path) -> bool:
    """The validation alternative: fragment items inside the value, RLE segment offsets inside the fragment."""
    ds = pydicom.dcmread(path)
    data = ds.PixelData
    try:
        fragments = list(generate_fragments(data))[1:]  # the first item is the Basic Offset Table
    except Exception:  # noqa: BLE001 - a broken item structure is what this check looks for
        return False
    if not fragments:
        return False
    if ds.file_meta.TransferSyntaxUID == RLE:
        for fragment in fragments:
            if len(fragment) < 64:
                return False
            count, *offsets = struct.unpack("<16L", fragment[:64])
            used = offsets[:count]
            if not 1 <= count <= 15 or used[0] != 64 or sorted(used) != used or used[-1] >= len(fragment):
                return False
    return True


def in_process(enabled: bool) -> None:
    os.environ[decode_pool.IN_PROCESS_ENV] = "1" if enabled else "0"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"bench_decode_isolation: error: {DATA}: no such folder", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    in_process(True)  # finding the files must not start the pool: the cold start is measured below
    files = compressed_files()

    def load_all() -> None:
        for path in files:
            load_path(path)

    started = time.perf_counter()
    in_process(False)
    load_path(files[0])  # cold: starts the pool's workers
    cold_first_s = time.perf_counter() - started
    pool_s = median_time(load_all, args.repeats)
    in_process(True)
    inproc_s = median_time(load_all, args.repeats)
    validate_s = median_time(lambda: [fragments_are_valid(p) for p in files], args.repeats)

    series = index_path(TCIA).default_series()
    for path in TCIA.iterdir():
        path.read_bytes()
    tcia_inproc_s = median_time(lambda: load_series(series), args.repeats)
    in_process(False)
    tcia_pool_s = median_time(lambda: load_series(series), args.repeats)
    panic_passes_validation = fragments_are_valid(PANIC_FILE)

    print(f"{len(files)} compressed files from {DATA}")
    print(f"compressed, in process: {inproc_s * 1000:.1f} ms | in the warm pool: {pool_s * 1000:.1f} ms | "
          f"ratio {pool_s / inproc_s:.2f}")
    print(f"first compressed file with a cold pool (workers start): {cold_first_s * 1000:.0f} ms")
    print(f"validating fragments and RLE offsets first: +{validate_s * 1000:.1f} ms "
          f"({validate_s / inproc_s:.2f} of the decode time)")
    print(f"TCIA series (uncompressed): {tcia_inproc_s * 1000:.1f} ms in process | {tcia_pool_s * 1000:.1f} ms with "
          f"the pool on | ratio {tcia_pool_s / tcia_inproc_s:.2f}")
    print(f"the file that made pylibjpeg-rle panic passes the length validation: {panic_passes_validation}")
    print(json.dumps({
        "compressed_files": len(files), "compressed_inprocess_s": round(inproc_s, 4),
        "compressed_pool_s": round(pool_s, 4), "pool_vs_inprocess_ratio": round(pool_s / inproc_s, 3),
        "cold_pool_first_file_s": round(cold_first_s, 3), "validation_s": round(validate_s, 4),
        "tcia_inprocess_s": round(tcia_inproc_s, 4), "tcia_pool_on_s": round(tcia_pool_s, 4),
        "tcia_ratio": round(tcia_pool_s / tcia_inproc_s, 3), "panic_file_passes_validation": panic_passes_validation,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
