"""The installer's fast parts: desktop entry, its per-user installation, pinned versions, smoke helpers.

Building and smoke-testing the bundle itself takes many minutes and is its own command
(installer/build.sh, then installer/smoke_test.py); nothing here builds anything.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT
from tests.external_tools import run_tool

INSTALLER = REPO_ROOT / "installer"
RESOURCES = REPO_ROOT / "resources"
INSTALL_ENTRY = INSTALLER / "install-desktop-entry.sh"

needs_bash = pytest.mark.skipif(sys.platform != "linux" or shutil.which("bash") is None,
                                reason="the desktop entry installer is a Linux bash script")


def _load_smoke_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("installer_smoke_test", INSTALLER / "smoke_test.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def _fake_bundle(parent: Path) -> Path:
    """A folder laid out like dist/npc-desktop: the executable and _internal/resources."""
    bundle = parent / "npc-desktop"
    (bundle / "_internal").mkdir(parents=True)
    shutil.copytree(RESOURCES, bundle / "_internal" / "resources")
    executable = bundle / "npc-desktop"
    executable.write_text("#!/bin/sh\necho fake npc-desktop\n")
    executable.chmod(0o755)
    return bundle


def _run_installer(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "XDG_DATA_HOME": str(home / "share")}
    return subprocess.run(["bash", str(INSTALL_ENTRY), *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_packaged_desktop_entry_is_valid() -> None:
    entry = _desktop_entry(RESOURCES / "npc-desktop.desktop")
    assert entry["Type"] == "Application" and entry["Exec"] == "npc-desktop %f"
    assert (RESOURCES / f"{entry['Icon']}.png").is_file() and (RESOURCES / f"{entry['Icon']}.svg").is_file()
    result = run_tool("desktop-file-validate", "desktop-file-utils", RESOURCES / "npc-desktop.desktop")
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


@needs_bash
def test_install_desktop_entry_points_at_the_bundle_and_uninstalls(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path / "Applications with spaces")
    home = tmp_path / "home"
    result = _run_installer(home, str(bundle))
    assert result.returncode == 0, result.stderr
    installed = home / "share" / "applications" / "npc-desktop.desktop"
    entry = _desktop_entry(installed)
    assert entry["Exec"] == f'"{bundle}/npc-desktop" %f'
    assert entry["TryExec"] == f"{bundle}/npc-desktop"
    assert entry["Name"] == "NPC Desktop" and entry["Icon"] == "npc-desktop"
    icons = home / "share" / "icons" / "hicolor"
    assert (icons / "256x256" / "apps" / "npc-desktop.png").read_bytes() == (RESOURCES / "npc-desktop.png").read_bytes()
    assert (icons / "scalable" / "apps" / "npc-desktop.svg").read_bytes() == (RESOURCES / "npc-desktop.svg").read_bytes()
    validation = run_tool("desktop-file-validate", "desktop-file-utils", installed)
    assert validation.returncode == 0 and not validation.stdout.strip(), validation.stdout

    removed = _run_installer(home, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not installed.exists() and not (icons / "256x256" / "apps" / "npc-desktop.png").exists()


@needs_bash
def test_install_desktop_entry_refuses_bad_bundles_in_one_line(tmp_path: Path) -> None:
    not_a_bundle = tmp_path / "empty"
    not_a_bundle.mkdir()
    odd = _fake_bundle(tmp_path / "price$HOME")
    for argument, message in [
        (str(tmp_path / "missing"), "no such folder"),
        (str(not_a_bundle), "no npc-desktop executable in this folder"),
        (str(odd), "holds a quote, backquote, dollar"),
    ]:
        result = _run_installer(tmp_path / "home", argument)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith("install-desktop-entry.sh: error: ") and message in lines[0]
    assert not (tmp_path / "home" / "share" / "applications" / "npc-desktop.desktop").exists()


def test_constraints_pin_every_dependency_within_its_range() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins: dict[str, str] = {}
    for line in (INSTALLER / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
            assert match, f"constraints.txt: {line!r} is not name==version"
            pins[canonicalize_name(match[1])] = match[2]
    for text in [*project["dependencies"], "pyinstaller", "pyinstaller-hooks-contrib"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in installer/constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {requirement.specifier}"
        )


def test_smoke_helpers_read_png_headers_and_isolate_the_user_folders(tmp_path: Path) -> None:
    smoke = _load_smoke_module()
    from PIL import Image

    Image.new("RGB", (320, 200)).save(tmp_path / "shot.png")
    assert smoke.png_size(tmp_path / "shot.png") == (320, 200)
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(smoke.SmokeFailure, match="text.png: the screenshot is not a PNG file"):
        smoke.png_size(tmp_path / "text.png")
    with pytest.raises(smoke.SmokeFailure, match="the screenshot was not written"):
        smoke.png_size(tmp_path / "missing.png")

    env = smoke.isolated_environment(tmp_path / "home")
    assert env["QT_QPA_PLATFORM"] == "offscreen" and "PYTHONPATH" not in env
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "LOCALAPPDATA", "APPDATA"):
        assert Path(env[name]).is_dir() and Path(env[name]).is_relative_to(tmp_path / "home")


def test_smoke_test_names_a_missing_bundle(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(INSTALLER / "smoke_test.py"), str(tmp_path / "nothing")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"smoke_test.py: error: {tmp_path / 'nothing' / 'npc-desktop'}: no such executable (run installer/build.sh)"
    )


def test_smoke_test_tells_the_inference_only_build_from_the_full_one(tmp_path: Path) -> None:
    smoke = _load_smoke_module()
    bundle = smoke.Bundle(tmp_path, tmp_path)
    assert smoke.inference_only(bundle)
    (tmp_path / "_internal" / "tensorflow").mkdir(parents=True)
    assert not smoke.inference_only(bundle) and smoke.check_full_build_refusals(bundle) is None


def test_inference_only_build_leaves_out_what_only_training_needs() -> None:
    build = (INSTALLER / "build.sh").read_text(encoding="utf-8")
    spec = (INSTALLER / "npc_desktop.spec").read_text(encoding="utf-8")
    assert "--inference-only) export NPC_DESKTOP_INFERENCE_ONLY=1" in build
    pattern = re.search(r"TRAINING_ONLY='(.+)'", build).group(1)  # type: ignore[union-attr]
    dependencies = ["tensorflow>=2.16", "onnx>=1.16", "onnxruntime>=1.17", "tf2onnx==1.17.0", "numpy>=1.26"]
    assert [d for d in dependencies if not re.match(pattern, d)] == ["onnxruntime>=1.17", "numpy>=1.26"]
    assert '"tensorflow", "keras", "tf2onnx", "onnx"' in spec and "npc-desktop-inference" in spec
