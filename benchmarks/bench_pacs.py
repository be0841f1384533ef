"""Retrieve the 120-image TCIA series from a local Orthanc by C-GET, C-MOVE and WADO-RS, beside baselines.

Baselines measured in the same run: dcmtk's ``getscu`` (C-GET into a folder) and a plain standard-library
HTTP download of the same WADO-RS URL (the multipart body saved to one file).
Targets (issue 16): C-GET >= 0.8x getscu; WADO-RS >= 0.8x the plain download.
The last line printed is one JSON object with the figures.

Usage: python benchmarks/bench_pacs.py [SERIES_FOLDER] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable

import pydicom

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the Orthanc launcher shared with the tests

from npc_desktop.core.network import PacsNode, StudyStore, Timeouts, retrieve_study  # noqa: E402
from tests.orthanc_server import OUR_AET, start_orthanc  # noqa: E402

DEFAULT_SERIES = REPO_ROOT.parent / "shared" / "data" / "dicom" / "mr-head-t1c-tcia-vs-seg-001"
TARGET_RATIO = 0.8


def timed(run: Callable[[Path], int], expected: int) -> float:
    """Wall time of ``run(fresh_folder)``; it must bring ``expected`` files."""
    folder = Path(tempfile.mkdtemp(prefix="bench-pacs-"))
    try:
        start = time.perf_counter()
        count = run(folder)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if count != expected:
        raise SystemExit(f"expected {expected} images, got {count}")
    return seconds


def interleaved_medians(runs: dict[str, Callable[[Path], int]], repeats: int, expected: int) -> dict[str, float]:
    """Median seconds per run; the runs take turns in each round, so a busy machine slows all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(timed(run, expected))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series", nargs="?", default=str(DEFAULT_SERIES))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    files = sorted(Path(args.series).glob("*.dcm"))
    if shutil.which("getscu") is None:
        raise SystemExit("getscu (Debian package dcmtk) is needed for the C-GET baseline")
    first = pydicom.dcmread(files[0], stop_before_pixels=True)
    study, series = str(first.StudyInstanceUID), str(first.SeriesInstanceUID)
    server = start_orthanc()
    try:
        server.upload(files)
        node = PacsNode(name="bench", ae_title="ORTHANC", host="127.0.0.1", port=server.dicom_port,
                        timeouts=Timeouts(5, 30, 60))
        web = PacsNode(name="bench-web", url=server.dicomweb_url, timeouts=Timeouts(5, 30, 60))
        n = len(files)

        def ours(method: str) -> Callable[[Path], int]:
            target = web if method == "wado" else node
            return lambda folder: len(retrieve_study(target, StudyStore(folder), study, series, method=method,
                                                     port=server.move_port).stored)

        def getscu(folder: Path) -> int:
            subprocess.run(["getscu", "-aet", OUR_AET, "-aec", "ORTHANC", "-S", "-k", "QueryRetrieveLevel=SERIES",
                            "-k", f"StudyInstanceUID={study}", "-k", f"SeriesInstanceUID={series}", "-od", str(folder),
                            "127.0.0.1", str(server.dicom_port)], check=True, capture_output=True)
            return len(list(folder.iterdir()))

        def plain_download(folder: Path) -> int:
            request = urllib.request.Request(f"{server.dicomweb_url}/studies/{study}/series/{series}",
                                             headers={"Accept": 'multipart/related; type="application/dicom"'})
            with urllib.request.urlopen(request, timeout=60) as answer, open(folder / "series.multipart", "wb") as out:
                shutil.copyfileobj(answer, out, 1 << 20)
            return n

        ours("get")(Path(tempfile.mkdtemp()))  # warm Orthanc's caches once
        seconds = interleaved_medians({"getscu": getscu, "c_get": ours("get"), "c_move": ours("move"),
                                       "plain_download": plain_download, "wado_rs": ours("wado")}, args.repeats, n)
    finally:
        server.stop()
    rate = {name: n / value for name, value in seconds.items()}
    get_ratio = rate["c_get"] / rate["getscu"]
    wado_ratio = rate["wado_rs"] / rate["plain_download"]
    for name, value in rate.items():
        print(f"{name:15s} {value:8.1f} images/s  ({seconds[name]:.3f} s for {n} images)")
    print(f"C-GET / getscu:           {get_ratio:.2f}x (target >= {TARGET_RATIO}x)")
    print(f"C-MOVE / getscu:          {rate['c_move'] / rate['getscu']:.2f}x")
    print(f"WADO-RS / plain download: {wado_ratio:.2f}x (target >= {TARGET_RATIO}x)")
    print(json.dumps({
        "images": n, "repeats": args.repeats,
        "images_per_s": {k: round(v, 1) for k, v in rate.items()},
        "c_get_vs_getscu": round(get_ratio, 3), "c_move_vs_getscu": round(rate["c_move"] / rate["getscu"], 3),
        "wado_vs_plain_download": round(wado_ratio, 3),
        "targets_met": {"c_get": get_ratio >= TARGET_RATIO, "wado_rs": wado_ratio >= TARGET_RATIO},
    }))


if __name__ == "__main__":
    main()
