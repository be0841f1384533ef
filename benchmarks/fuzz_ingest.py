"""Fuzz the ingestion paths with mutated real files; every outcome must be a load or a typed error.

Mutates the real DICOM files of ``../shared/data/dicom`` and the demo study (bit flips, byte changes,
length fields, truncation, insertions, deletions, zeroed runs), an annotation autosave file and a
tiny model bundle's manifest and weights. Each mutant runs in a child process (reused across
mutants, replaced after a crash or a hang) through index + load + thumbnail + patch crop, the
annotation store's load, or the bundle loader. Outcomes: loaded, typed (a typed error with a
message), untyped (any other exception, or a broken promise such as a half-loaded file), crash
(the child died) and hang (no answer within the time limit). Failing inputs are kept as
``<outcome>-s<seed>-<number>-<source>.<ext>``: the seed and number make the same mutant again.

Usage: python benchmarks/fuzz_ingest.py [--seed N] [--seconds S] [--jobs N] [--out DIR] [--only NUMBER]

The last line printed is one JSON object with the keys files, untyped, crashes, hangs (and more).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_mutate import Source, dicom_weight, is_dicom, mutant_rng, mutate  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dicom"
OUTCOMES = ("loaded", "typed", "untyped", "crash", "hang")
TCIA_SAMPLE = 4
SUFFIX = {"dicom": ".dcm", "autosave": ".json", "manifest": ".json", "weights": ".keras"}


# -- corpus ------------------------------------------------------------------------------------


def _dicom_sources(data_dir: Path, demo_dir: Path) -> list[Source]:
    sources: list[Source] = []
    for folder, prefix in ((data_dir, ""), (demo_dir, "demo")):
        files = sorted(p for p in folder.rglob("*") if p.is_file() and is_dicom(p))
        tcia = [p for p in files if "tcia" in str(p.relative_to(folder))]
        keep_tcia = set(tcia[:: max(1, len(tcia) // TCIA_SAMPLE)][:TCIA_SAMPLE])
        demo = files[:: max(1, len(files) // 6)][:6] if prefix else files
        for path in demo:
            if path in tcia and path not in keep_tcia:
                continue
            data = path.read_bytes()
            name = "-".join(filter(None, (prefix, path.parent.name, path.stem)))[-60:]
            siblings = ()
            if prefix:  # demo slices also go in among five intact slices of their series
                same_series = sorted(p for p in path.parent.iterdir() if p != path and p.suffix == ".dcm")
                siblings = tuple(p.read_bytes() for p in same_series[:5])
            sources.append(Source(name, data, "dicom", dicom_weight(data), siblings))
    return sources


def _autosave_source(work: Path) -> tuple[Source, str]:
    from npc_desktop.core.annotation.annotation_set import AnnotationSet
    from npc_desktop.core.annotation.measurements import Ruler
    from npc_desktop.core.annotation.rois import RectRoi
    from npc_desktop.core.annotation.store import AnnotationStore

    study = "1.2.826.0.1.3680043.8.498.1"
    annotations = AnnotationSet(study)
    for i, kind in enumerate(("tumour", "lymph_node")):
        annotations.add(RectRoi(study_instance_uid=study, series_instance_uid="1.2.826.0.1.3680043.8.498.2",
                                sop_instance_uid=f"1.2.826.0.1.3680043.8.498.3.{i}",
                                row0=10.0 + i, col0=12.0, row1=40.0 + i, col1=44.5, kind=kind))
    annotations.add_measurement(Ruler(study_instance_uid=study, series_instance_uid="1.2.826.0.1.3680043.8.498.2",
                                      sop_instance_uid="1.2.826.0.1.3680043.8.498.3.0",
                                      start=(5.0, 6.0), end=(30.0, 31.0)))
    store = AnnotationStore(work / "autosave")
    store.save(annotations)
    return Source("autosave", store.path_for(study).read_bytes(), "autosave", 1.0), study


def _tiny_bundle(work: Path) -> Path:
    from npc_desktop.core.models.architectures import build_member
    from npc_desktop.core.models.bundle_writer import write_bundle

    folder = work / "bundle"
    write_bundle(folder, [build_member("basic_cnn", input_size=32, seed=1, name="cnn_a")], name="fuzz-tiny",
                 provenance={"training_data": {"note": "random weights"}, "split": {"method": "none"},
                             "metrics": {"accuracy": 0.5}})
    return folder


# -- children ----------------------------------------------------------------------------------


class Child:
    """One reusable child process serving jobs; replaced after a crash or a hang."""

    def __init__(self, root: Path) -> None:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONWARNINGS="ignore", CUDA_VISIBLE_DEVICES="-1",
                   TF_CPP_MIN_LOG_LEVEL="3")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child"], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self.buffer = b""
        self.ready = self._read_line(120.0) is not None

    def _read_line(self, timeout: float) -> Optional[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout
        assert stdout is not None
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            readable, _, _ = select.select([stdout], [], [], left)
            if readable:
                chunk = os.read(stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send a job; the answer, or a crash or hang outcome."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
            answer = self._read_line(timeout)
        except TimeoutError:
            self.kill()
            return {"id": job["id"], "outcome": "hang", "detail": f"no answer within {timeout:g} s"}
        except (BrokenPipeError, OSError):
            answer = None
        if answer is None:
            code = self.process.wait()
            self.kill()
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            return {"id": job["id"], "outcome": "crash", "detail": f"the process died ({how})"}
        return answer

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


# -- the run -----------------------------------------------------------------------------------


class Fuzzer:
    """Draws mutants, runs them on child processes, counts and keeps the failures."""

    def __init__(self, args: argparse.Namespace, work: Path, sources: list[Source], study: str, bundle: Path) -> None:
        self.args = args
        self.work = work
        self.sources = sources
        self.weights = [s.weight for s in sources]
        self.study = study
        self.bundle = bundle
        self.counter = iter([args.only]) if args.only is not None else itertools.count()
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.by_kind: dict[str, Counter[str]] = {}
        self.failures: list[str] = []
        self.deadline = time.monotonic() + args.seconds
        self.root = Path(__file__).resolve().parents[1]

    def make_job(self, number: int, slot: Path) -> tuple[dict[str, Any], Source, bytes]:
        rng = mutant_rng(self.args.seed, number)
        source = rng.choices(self.sources, weights=self.weights)[0]
        data, operations = mutate(source, rng)
        folder = slot / f"m{number}"
        folder.mkdir(parents=True)
        job: dict[str, Any] = {"id": number, "kind": source.kind, "ops": operations, "cleanup": [str(folder)]}
        if source.kind == "dicom":
            job["path"] = str(folder / f"{source.name}.dcm")
            Path(job["path"]).write_bytes(data)
            if source.siblings and rng.random() < 0.5:
                for number_in_series, sibling in enumerate(source.siblings):
                    (folder / f"intact-{number_in_series}.dcm").write_bytes(sibling)
                job["path"] = str(folder)
        elif source.kind == "autosave":
            job.update(path=str(folder / "autosave.json"), study=self.study)
            Path(job["path"]).write_bytes(data)
        else:
            bundle = folder / "bundle"
            shutil.copytree(self.bundle, bundle)
            (bundle / source.name).write_bytes(data)
            job.update(path=str(bundle), mutated=source.name)
        return job, source, data

    def record(self, job: dict[str, Any], source: Source, data: bytes, answer: dict[str, Any]) -> None:
        outcome = answer["outcome"]
        with self.lock:
            self.counts[outcome] += 1
            self.by_kind.setdefault(source.kind, Counter())[outcome] += 1
            if outcome == "loaded" and str(answer.get("detail", "")).endswith(" fallback"):
                self.counts["fallback"] += 1
        if outcome in ("loaded", "typed"):
            return
        stem = f"{outcome}-s{self.args.seed}-{job['id']:06d}-{source.name.replace('.', '_')}"
        self.args.out.mkdir(parents=True, exist_ok=True)
        (self.args.out / (stem + SUFFIX[source.kind])).write_bytes(data)
        (self.args.out / (stem + ".txt")).write_text(
            f"seed {self.args.seed} mutant {job['id']} kind {source.kind} source {source.name} "
            f"operators {','.join(job['ops'])}\n\n{answer.get('detail', '')}\n", encoding="utf-8")
        with self.lock:
            self.failures.append(f"{outcome}: {stem}: {str(answer.get('detail', '')).strip().splitlines()[-1:]}")

    def slot_loop(self, slot_number: int) -> None:
        slot = self.work / f"slot{slot_number}"
        child: Optional[Child] = None
        try:
            while time.monotonic() < self.deadline:
                if child is None:
                    child = Child(self.root)
                    if not child.ready:
                        raise RuntimeError("a fuzz child process did not start; run it with --child to see why")
                with self.lock:
                    number = next(self.counter, None)
                if number is None:
                    break
                job, source, data = self.make_job(number, slot)
                limit = self.args.timeout * (3 if source.kind in ("manifest", "weights") else 1)
                answer = child.run(job, limit)
                if answer["outcome"] in ("crash", "hang"):
                    child = None
                    shutil.rmtree(job["cleanup"][0], ignore_errors=True)
                self.record(job, source, data, answer)
                if self.args.only is not None:
                    print(f"mutant {number} ({source.kind} {source.name}, {','.join(job['ops'])}): "
                          f"{answer['outcome']}: {answer.get('detail', '')}")
        finally:
            if child is not None:
                child.close()


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of the whole run")
    parser.add_argument("--jobs", type=int, default=1, help="child processes run side by side")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one mutant may take")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of real DICOM files")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failing inputs go")
    parser.add_argument("--only", type=int, help="run only this mutant number (to reproduce a kept failure)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.child:
        from fuzz_targets import child_main

        return child_main()
    if not args.data.is_dir():
        print(f"fuzz_ingest: error: {args.data}: no such folder", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-ingest-") as scratch:
        work = Path(scratch)
        from npc_desktop.core.demo.dicom_writer import write_demo_study

        write_demo_study(work / "demo")
        sources = _dicom_sources(args.data, work / "demo")
        autosave, study = _autosave_source(work)
        bundle = _tiny_bundle(work)
        sources.append(autosave)
        sources.append(Source("manifest.json", (bundle / "manifest.json").read_bytes(), "manifest", 1.0))
        sources.append(Source("cnn_a.keras", (bundle / "cnn_a.keras").read_bytes(), "weights", 1.0))
        dicom_weight_total = sum(s.weight for s in sources if s.kind == "dicom")
        sources = [Source(s.name, s.data, s.kind, dicom_weight_total * 0.04 if s.kind != "dicom" else s.weight,
                          s.siblings) for s in sources]
        setup_s = time.monotonic() - started
        fuzzer = Fuzzer(args, work, sources, study, bundle)
        fuzzer.deadline = time.monotonic() + max(1.0, args.seconds - setup_s)
        threads = [threading.Thread(target=fuzzer.slot_loop, args=(n,)) for n in range(max(1, args.jobs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - started
    files = sum(fuzzer.counts.values())
    print(f"{len(sources)} source files; {files} mutants in {elapsed:.0f} s ({files / max(elapsed, 1e-9):.1f}/s) "
          f"with seed {args.seed} on {args.jobs} child process(es)")
    for kind, counts in sorted(fuzzer.by_kind.items()):
        print(f"  {kind:9s} " + "  ".join(f"{o} {counts[o]}" for o in OUTCOMES))
    print("total     " + "  ".join(f"{o} {fuzzer.counts[o]}" for o in OUTCOMES))
    print(f"loaded by a fallback decoder after the first one failed: {fuzzer.counts['fallback']}")
    for line in fuzzer.failures:
        print(line)
    if fuzzer.failures:
        print(f"failing inputs kept in {args.out}")
    summary = {
        "files": files, "loaded": fuzzer.counts["loaded"], "typed": fuzzer.counts["typed"],
        "untyped": fuzzer.counts["untyped"], "crashes": fuzzer.counts["crash"], "hangs": fuzzer.counts["hang"],
        "fallback_decodes": fuzzer.counts["fallback"], "seed": args.seed, "seconds": round(elapsed, 1),
        "jobs": args.jobs,
        "by_kind": {kind: dict(counts) for kind, counts in sorted(fuzzer.by_kind.items())},
    }
    print(json.dumps(summary))
    return 0 if not (summary["untyped"] or summary["crashes"] or summary["hangs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
