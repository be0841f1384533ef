"""Smoke test of the BUILT application bundle (not of the development venv).

    python3 installer/smoke_test.py [BUNDLE] [--screenshot PNG] [--skip-stage]
                                    [--onnx-bundle DIR]

BUNDLE defaults to dist/npc-desktop (the full build; dist/npc-desktop-inference is the
inference-only build, recognised by having no TensorFlow inside). Only the standard library is used, so any Python 3.9+ can run
it; the application itself runs from the bundle's own executable. Each check runs the executable in
a fresh, empty home (user cache, data and settings folders in a temporary directory), offscreen
(``QT_QPA_PLATFORM=offscreen``), and needs exit status 0 and no Python traceback on stderr:

1. ``--version``.
2. The workstation on the demo study (written to the empty cache on first use, with its example
   ROIs autosaved), through the bundle's hidden ``--bundle-smoke-gui``: an image is shown, the style
   sheet is applied, every toolbar icon renders, and the screenshot is a real PNG.
3. ``index`` on that demo study folder; and ``index`` on a missing path gives exit status 2 and a
   one-line message.
4. ``stage`` on the demo study with ``--json``: the full build stages with ``--demo-bundle``
   (the demo members are built and exported to ONNX with TensorFlow once, then ONNX Runtime
   stages); the inference-only build stages with ``--bundle DIR`` (``--onnx-bundle``, a bundle with
   ONNX graphs) and says in one line that ``--demo-bundle`` needs the full build the first time.
5. Inference-only build: ``train``, ``bundle export-onnx`` and ``convert`` (NIfTI, SimpleITK) exit
   with status 2 and one line saying they need the full build.
6. On Linux, the bundle's ``install-desktop-entry.sh`` writes a menu entry whose Exec runs this
   bundle's executable.

Exit status: 0 when every check passed, 1 when one failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = ROOT / "dist" / "npc-desktop"
DEFAULT_SCREENSHOT = ROOT / "test-artifacts" / "installer" / "frozen-app.png"
DEMO_MANIFEST = "npc-demo-manifest.json"
TIMEOUT_S = {"version": 120, "gui": 300, "index": 180, "stage": 1800}
"""Generous: the first start of a cold bundle reads a few hundred MB from disk."""


class SmokeFailure(Exception):
    """A check of the bundle failed; the message says which and why."""


@dataclass
class Run:
    """One execution of the bundle's executable."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        """The command, its status and the tail of stderr, for a failure message."""
        tail = "\n".join(self.stderr.strip().splitlines()[-15:])
        return f"`npc-desktop {' '.join(self.argv)}` exited with {self.returncode}" + (
            f"; stderr ends with:\n{tail}" if tail else ""
        )


@dataclass
class Bundle:
    """The built application and the isolated environment it runs in."""

    folder: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def executable(self) -> Path:
        """The bundle's launcher (``npc-desktop`` or ``npc-desktop.exe``)."""
        return self.folder / ("npc-desktop.exe" if os.name == "nt" else "npc-desktop")

    def run(self, argv: Sequence[str], timeout_s: float) -> Run:
        """Run the executable with ``argv``; raise :class:`SmokeFailure` on a timeout."""
        start = time.perf_counter()
        try:
            done = subprocess.run([str(self.executable), *argv], env=self.env, capture_output=True, text=True,
                                  timeout=timeout_s, cwd=self.home)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"`npc-desktop {' '.join(argv)}` did not finish within {timeout_s:.0f} s") from None
        return Run(list(argv), done.returncode, done.stdout, done.stderr, time.perf_counter() - start)

    def run_ok(self, argv: Sequence[str], timeout_s: float) -> Run:
        """Run and require exit status 0 and no traceback on stderr."""
        result = self.run(argv, timeout_s)
        if result.returncode != 0:
            raise SmokeFailure(result.describe())
        if "Traceback (most recent call last)" in result.stderr:
            raise SmokeFailure(f"`npc-desktop {' '.join(argv)}` printed a traceback:\n{result.stderr.strip()}")
        return result


def isolated_environment(home: Path) -> dict[str, str]:
    """The caller's environment with user folders moved into ``home`` and Qt offscreen.

    Parameters
    ----------
    home
        Empty folder that receives the cache, data and settings folders.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "LOCALAPPDATA", "APPDATA"):
        folder = home / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    env["HOME"] = str(home)
    env["USERPROFILE"] = str(home)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk.

    Raises
    ------
    SmokeFailure
        When the file is missing or not a PNG.
    """
    try:
        header = path.read_bytes()[:24]
    except OSError:
        raise SmokeFailure(f"{path}: the screenshot was not written") from None
    if len(header) < 24 or header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise SmokeFailure(f"{path}: the screenshot is not a PNG file")
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def check_version(bundle: Bundle) -> str:
    """``--version`` prints the application's version."""
    result = bundle.run_ok(["--version"], TIMEOUT_S["version"])
    if not result.stdout.startswith("npc-desktop "):
        raise SmokeFailure(f"--version printed {result.stdout.strip()!r}")
    return f"{result.stdout.strip()} ({result.seconds:.1f} s)"


def check_gui(bundle: Bundle, screenshot: Path) -> str:
    """The workstation shows the demo study with its style sheet and icons; a screenshot is saved."""
    shot = bundle.home / "frozen-app.png"
    result = bundle.run_ok(["--bundle-smoke-gui", str(shot)], TIMEOUT_S["gui"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SmokeFailure(f"the GUI smoke run printed no report; stdout: {result.stdout.strip()!r}")
    report = json.loads(lines[-1])
    problems = []
    if not report.get("style_sheet_applied"):
        problems.append(f"style sheet not applied (looked for {report.get('style_sheet_file')})")
    if not report.get("icons_listed") or report.get("icons_rendered") != report.get("icons_listed"):
        problems.append(f"{report.get('icons_rendered')} of {report.get('icons_listed')} toolbar icons render")
    if report.get("qt_platform") != "offscreen":
        problems.append(f"Qt platform {report.get('qt_platform')!r} instead of offscreen")
    width, height = png_size(shot)
    if width < 640 or height < 400:
        problems.append(f"screenshot is only {width}x{height}")
    if problems:
        raise SmokeFailure("the workstation: " + "; ".join(problems))
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, screenshot)
    return (f"image shown, style sheet applied, {report['icons_rendered']}/{report['icons_listed']} icons "
            f"render, screenshot {width}x{height} -> {screenshot} ({result.seconds:.1f} s)")


def demo_study_folder(bundle: Bundle) -> Path:
    """The demo study the workstation wrote into the isolated user cache."""
    found = sorted(bundle.home.rglob(DEMO_MANIFEST))
    if not found:
        raise SmokeFailure(f"the workstation wrote no demo study ({DEMO_MANIFEST}) under {bundle.home}")
    return found[0].parent


def check_index(bundle: Bundle, study: Path) -> str:
    """``index`` lists the demo study; a missing path gets a one-line error and status 2."""
    result = bundle.run_ok(["index", str(study)], TIMEOUT_S["index"])
    if "Patient DEMO" not in result.stdout or "2 image series" not in result.stdout:
        raise SmokeFailure(f"index of the demo study printed:\n{result.stdout.strip()}")
    missing = bundle.run(["index", str(bundle.home / "no-such-study")], TIMEOUT_S["index"])
    error_lines = missing.stderr.strip().splitlines()
    if missing.returncode != 2 or len(error_lines) != 1 or not error_lines[0].startswith("npc-desktop: error: "):
        raise SmokeFailure("index of a missing path should fail with status 2 and one line: " + missing.describe())
    return f"{result.stdout.strip().splitlines()[-1]} ({result.seconds:.1f} s); a missing path: {error_lines[0]}"


def inference_only(bundle: Bundle) -> bool:
    """Whether the bundle is the inference-only build (no TensorFlow inside)."""
    return not any((bundle.folder / place / "tensorflow").is_dir() for place in ("_internal", "."))


def check_full_build_refusals(bundle: Bundle) -> Optional[str]:
    """Inference-only build: ``train`` and ``bundle export-onnx`` refuse in one line; None in the full build."""
    if not inference_only(bundle):
        return None
    lines = []
    for argv in (["train", str(bundle.home), "-o", str(bundle.home / "out")],
                 ["bundle", "export-onnx", str(bundle.home)],
                 ["convert", str(bundle.home), "-o", str(bundle.home / "volume.nii.gz")]):
        result = bundle.run(argv, TIMEOUT_S["index"])
        err = result.stderr.strip().splitlines()
        if result.returncode != 2 or len(err) != 1 or "needs the full build" not in err[0]:
            raise SmokeFailure("should exit 2 with one line saying it needs the full build: " + result.describe())
        lines.append(err[0])
    return " | ".join(lines)


def check_stage(bundle: Bundle, study: Path, onnx_bundle: Optional[str] = None) -> Optional[str]:
    """``stage --json`` runs the ensemble in the bundle; None if the build has no ``stage`` or no bundle to use."""
    source = ["--demo-bundle"]
    if inference_only(bundle):
        demo = bundle.run(["stage", str(study), "--demo-bundle", "--json"], TIMEOUT_S["stage"])
        err = demo.stderr.strip().splitlines()
        if demo.returncode != 2 or len(err) != 1 or "full build" not in err[0]:
            raise SmokeFailure("--demo-bundle without a cached demo should say it needs the full build: "
                               + demo.describe())
        if onnx_bundle is None:
            return None
        source = ["--bundle", onnx_bundle]
    result = bundle.run(["stage", str(study), *source, "--json"], TIMEOUT_S["stage"])
    if result.returncode == 2 and "invalid choice: 'stage'" in result.stderr:
        return None
    if result.returncode != 0 or "Traceback (most recent call last)" in result.stderr:
        raise SmokeFailure(result.describe())
    try:
        data = json.loads(result.stdout)
        patches = data["patches"]
        probabilities = data["patient"]["probabilities"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SmokeFailure(f"stage --json printed no staging result ({exc}):\n{result.stdout[:2000]}") from None
    if data.get("runtime") != "onnx" or "ONNX Runtime" not in str(data.get("device")):
        raise SmokeFailure(f"staged with runtime {data.get('runtime')!r} on {data.get('device')!r}, not ONNX Runtime")
    if data.get("untrained_demo") is not (source == ["--demo-bundle"]) or not patches \
            or set(probabilities) != {"III", "IVa"}:
        raise SmokeFailure(f"unexpected staging result: untrained_demo={data.get('untrained_demo')}, "
                           f"{len(patches)} patch(es), classes {sorted(probabilities)}")
    members = sorted(patches[0].get("members", {}))
    summary = ", ".join(f"{k} {float(v):.3f}" for k, v in sorted(probabilities.items()))
    return (f"{len(patches)} patch(es) x {len(members)} members ({', '.join(members)}); patient {summary} "
            f"on {data['device']} ({result.seconds:.1f} s)")


def check_desktop_entry(bundle: Bundle) -> Optional[str]:
    """The bundle's install-desktop-entry.sh points a menu entry at the bundle; None off Linux."""
    script = bundle.folder / "install-desktop-entry.sh"
    if not sys.platform.startswith("linux"):
        return None
    if not script.is_file():
        raise SmokeFailure(f"{script}: missing from the bundle")
    done = subprocess.run(["bash", str(script)], env=bundle.env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SmokeFailure(f"install-desktop-entry.sh exited with {done.returncode}: {done.stderr.strip()}")
    entry = Path(bundle.env["XDG_DATA_HOME"]) / "applications" / "npc-desktop.desktop"
    expected = f'Exec="{bundle.executable}" %f'
    lines = entry.read_text(encoding="utf-8").splitlines() if entry.is_file() else []
    if expected not in lines:
        raise SmokeFailure(f"{entry} has no line {expected}")
    return f"{entry.name}: {expected}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run every check and print one line per check; return the exit status."""
    parser = argparse.ArgumentParser(prog="smoke_test.py", description="Smoke test of the built NPC Desktop bundle.")
    parser.add_argument("bundle", nargs="?", default=str(DEFAULT_BUNDLE), help="bundle folder (dist/npc-desktop)")
    parser.add_argument("--screenshot", default=str(DEFAULT_SCREENSHOT), help="where to keep the screenshot")
    parser.add_argument("--skip-stage", action="store_true", help="leave out the (slow) staging check")
    parser.add_argument("--onnx-bundle", help="inference-only build: a bundle with ONNX graphs to stage with")
    args = parser.parse_args(argv)
    folder = Path(args.bundle).resolve()
    with tempfile.TemporaryDirectory(prefix="npc-bundle-smoke-") as temp:
        home = Path(temp)
        bundle = Bundle(folder, home, isolated_environment(home))
        if not bundle.executable.is_file():
            print(f"smoke_test.py: error: {bundle.executable}: no such executable (run installer/build.sh)",
                  file=sys.stderr)
            return 2
        checks: list[tuple[str, Callable[[], Optional[str]]]] = [
            ("version", lambda: check_version(bundle)),
            ("workstation", lambda: check_gui(bundle, Path(args.screenshot))),
            ("index", lambda: check_index(bundle, demo_study_folder(bundle))),
        ]
        if not args.skip_stage:
            checks.append(("stage", lambda: check_stage(bundle, demo_study_folder(bundle), args.onnx_bundle)))
        checks.append(("full-build commands", lambda: check_full_build_refusals(bundle)))
        checks.append(("desktop entry", lambda: check_desktop_entry(bundle)))
        print(f"smoke test of {folder}")
        for name, check in checks:
            try:
                outcome = check()
            except SmokeFailure as exc:
                print(f"FAIL {name}: {exc}")
                return 1
            if outcome is None:
                print(f"SKIP {name}: not in this build or not on this platform")
            else:
                print(f"ok   {name}: {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
