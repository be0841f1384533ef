<#
.SYNOPSIS
    Build the Windows application bundle dist\npc-desktop\ (PyInstaller one-folder) from this checkout.

.DESCRIPTION
    The Windows counterpart of installer/build.sh, with the same spec and pinned versions: it makes
    build\installer-venv\ (-Fresh recreates it), installs the project (non-editable) and PyInstaller
    with installer\constraints.txt, runs installer\npc_desktop.spec and prints the bundle's size.
    PyInstaller turns resources\npc-desktop.png into the executable's icon with Pillow (installed
    with matplotlib), so no .ico file is kept in the repository.
    $env:PYTHON selects the interpreter (default: py -3.11 when the launcher exists, else python).

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File installer\build.ps1
#>
param([switch]$Fresh)

$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
$Venv = Join-Path $Root "build\installer-venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
$Work = Join-Path $Root "build\pyinstaller"
$Dist = Join-Path $Root "dist"
$Bundle = Join-Path $Dist "npc-desktop"

function Invoke-Checked([string]$What, [scriptblock]$Command) {
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "build.ps1: $What failed with exit status $LASTEXITCODE" }
}

if ($Fresh -and (Test-Path $Venv)) { Remove-Item -Recurse -Force $Venv }
if (-not (Test-Path $VenvPython)) {
    Write-Host "== creating $Venv"
    if ($env:PYTHON) {
        Invoke-Checked "creating the venv" { & $env:PYTHON -m venv $Venv }
    } elseif (Get-Command py -ErrorAction SilentlyContinue) {
        Invoke-Checked "creating the venv" { & py -3.11 -m venv $Venv }
    } else {
        Invoke-Checked "creating the venv" { & python -m venv $Venv }
    }
}

Write-Host "== installing the project and PyInstaller (pinned by installer\constraints.txt)"
# setuptools builds in build\lib; a stale copy there could bring back deleted modules.
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Root "build\lib")
$Constraints = Join-Path $Root "installer\constraints.txt"
Invoke-Checked "pip install" {
    & $VenvPython -m pip install --quiet --disable-pip-version-check -c $Constraints $Root pyinstaller pyinstaller-hooks-contrib
}
Invoke-Checked "pip install (the project)" {
    & $VenvPython -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall $Root
}
Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Root "build\lib")

Write-Host "== running PyInstaller"
if (Test-Path $Bundle) { Remove-Item -Recurse -Force $Bundle }
$env:TF_CPP_MIN_LOG_LEVEL = "2"
# From build\ so that nothing in the checkout shadows the installed package.
Push-Location (Join-Path $Root "build")
try {
    Invoke-Checked "PyInstaller" {
        & $VenvPython -m PyInstaller --noconfirm --clean --log-level WARN --workpath $Work --distpath $Dist (Join-Path $Root "installer\npc_desktop.spec")
    }
} finally {
    Pop-Location
}

$Exe = Join-Path $Bundle "npc-desktop.exe"
if (-not (Test-Path $Exe)) { throw "build.ps1: PyInstaller did not produce $Exe" }
$Files = Get-ChildItem -Recurse -File $Bundle
$SizeMB = [math]::Round(($Files | Measure-Object -Property Length -Sum).Sum / 1MB)
Write-Host "== built ${Bundle}: $SizeMB MB in $($Files.Count) files"
Write-Host "   run it: $Bundle\NPC Desktop.exe (no console) or npc-desktop.exe (command line)"
Write-Host "   check it: python installer\smoke_test.py"
