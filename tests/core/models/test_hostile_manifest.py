"""Manifests the fuzz harness broke are refused as invalid JSON, naming the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from npc_desktop.core.models.errors import ManifestError
from npc_desktop.core.models.manifest import MANIFEST_NAME, read_manifest

FUZZ_DIR = Path(__file__).resolve().parents[2] / "data" / "fuzz"


@pytest.mark.parametrize("name", ["manifest_deep_nesting.json", "manifest_5000_digit_number.json"])
def test_a_hostile_manifest_is_refused_naming_the_file(tmp_path: Path, name: str) -> None:
    shutil.copyfile(FUZZ_DIR / name, tmp_path / MANIFEST_NAME)
    with pytest.raises(ManifestError) as refused:
        read_manifest(tmp_path)
    message = str(refused.value)
    assert str(tmp_path / MANIFEST_NAME) in message and "not valid JSON" in message
    assert "\n" not in message
