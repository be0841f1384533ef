"""``npc-desktop tnm --t/--n/--m``: the stage group and its reasons, as a user calls it.

Expected stage groups come from the AJCC Cancer Staging Manual, 8th ed. (2017), chapter 9,
AJCC Prognostic Stage Groups (e.g. T3 N2 M0 -> III; Any T N3 M0 -> IVA; Any T Any N M1 -> IVB).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from npc_desktop.cli.main import main


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("npc-desktop")
    return [str(script)] if script.exists() else [sys.executable, "-m", "npc_desktop"]


def test_text_output_names_the_stage_and_the_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tnm", "--t", "T3", "--n", "N2", "--m", "M0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Stage III (T3 N2 M0, AJCC/UICC 8th edition)"
    assert "  Stage III: T3 N2 M0 is in the row 'T3 / N2 / M0 -> III' of the AJCC/UICC 8th edition table" in lines


@pytest.mark.parametrize(("t", "n", "m", "stage"), [("T1", "N0", "M0", "I"), ("T0", "N1", "M0", "II"),
                                                    ("T3", "N2", "M0", "III"), ("T2", "N3", "M0", "IVA"),
                                                    ("t4", "n0", "m0", "IVA"), ("T1", "N0", "M1", "IVB")])
def test_json_has_exactly_the_documented_keys(t: str, n: str, m: str, stage: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tnm", "--t", t, "--n", n, "--m", m, "--edition", "8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"t", "n", "m", "stage", "edition", "reasons"}
    assert (data["t"], data["n"], data["m"], data["stage"], data["edition"]) == (t.upper(), n.upper(), m.upper(),
                                                                                stage, 8)
    assert data["reasons"][-1].startswith(f"Stage {stage}: ")


@pytest.mark.parametrize(("args", "expected"), [
    (["--t", "T0", "--n", "N0", "--m", "M0"], "T0 N0 M0 cannot be staged"),
    (["--t", "T5", "--n", "N0", "--m", "M0"], "--t 'T5' is not a T category of the AJCC/UICC 8th edition"),
    (["--t", "T1", "--n", "N9", "--m", "M0"], "--n 'N9' is not an N category"),
    (["--t", "T1", "--n", "N0", "--m", "M0", "--edition", "7"], "--edition '7' is not an edition"),
    (["--t", "T1", "--n", "N0"], "--m: give all of --t, --n and --m"),
])
def test_bad_input_exits_2_with_one_line(args: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tnm", *args]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1 and expected in err[0], err


@pytest.mark.parametrize(("args", "expected"), [
    (["--t", "T0", "--n", "N0", "--m", "M0"], "T0 N0 M0 cannot be staged"),
    (["--t", "T9", "--n", "N0", "--m", "M0"], "--t 'T9' is not a T category"),
])
def test_console_script_exits_2_without_traceback(args: list[str], expected: str) -> None:
    result = subprocess.run([*_entry_point(), "tnm", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_console_script_json() -> None:
    result = subprocess.run([*_entry_point(), "tnm", "--t", "T4", "--n", "N3", "--m", "M0", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stage"] == "IVA"
