"""Manifest schema 2: the calibration object, and schema-1 manifests read by migration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from npc_desktop.core.models.errors import ManifestError
from npc_desktop.core.models.manifest import SCHEMA_VERSION, read_manifest


def as_schema_1(bundle: Path) -> dict[str, Any]:
    """Rewrite a bundle's manifest exactly as the schema-1 writer wrote it (no temperatures, no calibration)."""
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    data["schema_version"] = 1
    data.pop("calibration")
    for member in data["members"]:
        member.pop("temperature")
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data


@pytest.fixture
def bundle_copy(small_bundle_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small_bundle_dir, tmp_path / "bundle"))


def test_new_manifests_are_schema_2_with_calibration(bundle_copy: Path) -> None:
    data = json.loads((bundle_copy / "manifest.json").read_text())
    assert SCHEMA_VERSION == 2 and data["schema_version"] == 2
    assert [m["temperature"] for m in data["members"]] == [1.0, 1.0]
    assert data["calibration"]["patient_threshold"]["method"] == "argmax"
    manifest = read_manifest(bundle_copy)
    assert manifest.temperatures() == (1.0, 1.0) and manifest.patient_threshold["method"] == "argmax"


def test_schema_1_manifest_is_migrated_on_reading(bundle_copy: Path) -> None:
    old = as_schema_1(bundle_copy)
    manifest = read_manifest(bundle_copy)
    assert manifest.schema_version == 2 and manifest.calibration["migrated_from"] == 1
    assert manifest.temperatures() == (1.0, 1.0)
    assert manifest.vote_weights == tuple(m["vote_weight"] for m in old["members"])
    assert manifest.patient_threshold["method"] == "argmax"
    assert json.loads((bundle_copy / "manifest.json").read_text()) == old  # the file is left as it was


@pytest.mark.parametrize(("edit", "named"), [
    (lambda d: d.update(schema_version=3), "schema_version"),
    (lambda d: d["members"][0].update(temperature=0), "members[0].temperature"),
    (lambda d: d["members"][0].update(temperature="hot"), "members[0].temperature"),
    (lambda d: d.pop("calibration"), "calibration"),
    (lambda d: d["calibration"]["patient_threshold"].update(method="validation", value=1.5, **{"class": "IVa"}),
     "calibration"),
    (lambda d: d["calibration"]["patient_threshold"].update(method="validation", value=0.4, **{"class": "IX"}),
     "calibration"),
])
def test_bad_schema_2_fields_are_named(bundle_copy: Path, edit: Any, named: str) -> None:
    path = bundle_copy / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=named.replace("[", r"\[").replace("]", r"\]")):
        read_manifest(bundle_copy)
