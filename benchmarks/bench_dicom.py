"""Index and load the 120-slice TCIA series; compare with SimpleITK and pydicom in the same run.

Targets (issue 2): full load time <= 1.0x SimpleITK's ImageSeriesReader; indexing >= 2,000 files/s.
The last line printed is one JSON object with the figures.

Usage: python benchmarks/bench_dicom.py [SERIES_FOLDER] [--repeats N]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pydicom
import SimpleITK as sitk

from npc_desktop.core.dicom import index_path, load_series

DEFAULT_SERIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dicom" / "mr-head-t1c-tcia-vs-seg-001"


def median_time(function: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``function`` over ``repeats`` calls (results dropped between calls)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        del result
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_SERIES)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    folder: Path = args.folder
    if not folder.is_dir():
        print(f"bench_dicom: error: {folder}: no such folder", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    files = sorted(p for p in folder.iterdir() if p.is_file())
    dicom_files = [p for p in files if p.suffix == ".dcm"]

    # Warm the page cache so that every contender reads from memory.
    for path in files:
        path.read_bytes()

    index = index_path(folder)
    series = index.default_series()
    volume = load_series(series)
    reader = sitk.ImageSeriesReader()
    names = reader.GetGDCMSeriesFileNames(str(folder))
    reader.SetFileNames(names)
    image = reader.Execute()
    assert np.array_equal(volume.voxels, sitk.GetArrayViewFromImage(image)), "voxels differ from SimpleITK"
    del image, volume

    t_index = median_time(lambda: index_path(folder), args.repeats)
    t_pydicom_headers = median_time(
        lambda: [pydicom.dcmread(p, stop_before_pixels=True) for p in dicom_files], args.repeats
    )
    t_sitk_discover = median_time(lambda: sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)), args.repeats)
    t_load = median_time(lambda: load_series(series), args.repeats)
    t_sitk_read = median_time(reader.Execute, args.repeats)

    def ours_full() -> object:
        return load_series(index_path(folder).default_series())

    def sitk_full() -> object:
        full_reader = sitk.ImageSeriesReader()
        full_reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
        return full_reader.Execute()

    t_full = median_time(ours_full, args.repeats)
    t_sitk_full = median_time(sitk_full, args.repeats)

    figures = {
        "files": len(files),
        "slices": series.image_count,
        "index_s": round(t_index, 4),
        "index_files_per_s": round(len(files) / t_index),
        "pydicom_headers_files_per_s": round(len(dicom_files) / t_pydicom_headers),
        "sitk_series_discovery_files_per_s": round(len(files) / t_sitk_discover),
        "load_s": round(t_load, 4),
        "sitk_read_s": round(t_sitk_read, 4),
        "load_vs_sitk_ratio": round(t_load / t_sitk_read, 3),
        "full_s": round(t_full, 4),
        "sitk_full_s": round(t_sitk_full, 4),
        "full_vs_sitk_ratio": round(t_full / t_sitk_full, 3),
        "targets": {"full_vs_sitk_ratio_max": 1.0, "index_files_per_s_min": 2000},
    }
    print(f"series: {folder} ({series.image_count} slices, {series.matrix[0]}x{series.matrix[1]})")
    print(f"indexing:  ours {figures['index_files_per_s']} files/s | pydicom dcmread(stop_before_pixels) "
          f"{figures['pydicom_headers_files_per_s']} files/s | SimpleITK series discovery "
          f"{figures['sitk_series_discovery_files_per_s']} files/s")
    print(f"load:      ours {t_load * 1000:.1f} ms | SimpleITK Execute {t_sitk_read * 1000:.1f} ms | "
          f"ratio {figures['load_vs_sitk_ratio']}")
    print(f"full:      ours index+load {t_full * 1000:.1f} ms | SimpleITK discovery+Execute "
          f"{t_sitk_full * 1000:.1f} ms | ratio {figures['full_vs_sitk_ratio']} (target <= 1.0)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
