#!/usr/bin/env bash
# Build the Linux application bundle dist/npc-desktop/ (PyInstaller one-folder) from this checkout.
#
#   installer/build.sh [--fresh] [--inference-only]
#
# It makes its own virtual environment build/installer-venv/ (--fresh recreates it), installs the
# project as a regular (non-editable) package with the pinned versions of installer/constraints.txt,
# plus PyInstaller, runs installer/npc_desktop.spec and prints the bundle's size. Only PyPI is
# needed. Environment: PYTHON (default python3, 3.11 or newer, built with its shared library).
# --inference-only builds dist/npc-desktop-inference/ instead (venv build/installer-venv-inference/):
# no TensorFlow, Keras, tf2onnx or onnx; it stages with ONNX Runtime, and train / bundle export-onnx
# say they need the full build. Check the result with: python3 installer/smoke_test.py [BUNDLE]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/build/installer-venv"
WORK="$ROOT/build/pyinstaller"
DIST="$ROOT/dist"
BUNDLE="$DIST/npc-desktop"
# Dependencies that only training and ONNX export need: left out of the inference-only build.
TRAINING_ONLY='^(tensorflow|keras|tf2onnx|onnx)(?=[<>=!~ ;\[]|$)'

die() { echo "build.sh: error: $*" >&2; exit 2; }

fresh=0
for arg in "$@"; do
    case "$arg" in
        --fresh) fresh=1 ;;
        --inference-only) export NPC_DESKTOP_INFERENCE_ONLY=1 ;;
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $arg (see --help)" ;;
    esac
done

command -v "$PYTHON" >/dev/null || die "PYTHON=$PYTHON: no such interpreter"
"$PYTHON" - <<'EOF' || die "PYTHON=$PYTHON: Python 3.11 or newer with its shared library (libpython) is needed"
import sys, sysconfig
sys.exit(0 if sys.version_info >= (3, 11) and sysconfig.get_config_var("Py_ENABLE_SHARED") else 1)
EOF

if [[ "${NPC_DESKTOP_INFERENCE_ONLY:-}" == 1 ]]; then
    VENV="$ROOT/build/installer-venv-inference"
    WORK="$ROOT/build/pyinstaller-inference"
    BUNDLE="$DIST/npc-desktop-inference"
else
    unset NPC_DESKTOP_INFERENCE_ONLY
fi
if [[ $fresh == 1 ]]; then
    rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "== creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

echo "== installing the project and PyInstaller (pinned by installer/constraints.txt)"
# The bundle gets tensorflow-cpu: the same TensorFlow without the CUDA kernels, which a bundle
# cannot use anyway (it holds no CUDA libraries); 470 MB smaller. Both distributions own the same
# tensorflow/ folder, so a venv that has the other one loses both before the install.
mapfile -t requirements < <("$VENV/bin/python" - "$ROOT/pyproject.toml" "$TRAINING_ONLY" <<'PY'
import os, re, sys, tomllib
with open(sys.argv[1], "rb") as f:
    for dependency in tomllib.load(f)["project"]["dependencies"]:
        if os.environ.get("NPC_DESKTOP_INFERENCE_ONLY") == "1":
            if not re.match(sys.argv[2], dependency):
                print(dependency)
        else:
            print(re.sub(r"^tensorflow(?=[<>=!~ ;\[]|$)", "tensorflow-cpu", dependency))
PY
)
if "$VENV/bin/python" -m pip show --quiet tensorflow >/dev/null 2>&1; then
    "${PIP[@]}" uninstall --quiet --yes tensorflow tensorflow-cpu
fi
"${PIP[@]}" install --quiet -c "$ROOT/installer/constraints.txt" "${requirements[@]}" \
    pyinstaller pyinstaller-hooks-contrib
# setuptools builds in build/lib; a stale copy there could bring back deleted modules. Reinstalled
# every time: the same version number would otherwise keep the previous copy of the package.
rm -rf "$ROOT/build/lib" "$ROOT"/build/bdist.*
"${PIP[@]}" install --quiet --no-deps --force-reinstall "$ROOT"
rm -rf "$ROOT/build/lib" "$ROOT"/build/bdist.*
# npc-desktop's metadata asks for "tensorflow", which tensorflow-cpu provides under another name.
if ! problems="$("${PIP[@]}" check 2>&1)"; then
    problems="$(grep -v -E '^npc-desktop .* requires (tensorflow|keras|tf2onnx|onnx), which is not installed\.$' \
        <<<"$problems" || true)"
    [[ -z "$problems" ]] || die "the build environment is inconsistent: $problems"
fi

echo "== running PyInstaller"
rm -rf "$BUNDLE"
# From build/ so that nothing in the checkout shadows the installed package.
(cd "$ROOT/build" && TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --workpath "$WORK" --distpath "$DIST" "$ROOT/installer/npc_desktop.spec")

[[ -x "$BUNDLE/npc-desktop" ]] || die "PyInstaller did not produce $BUNDLE/npc-desktop"
# Shipped beside the executable: it adds the bundle to the user's application menu.
install -m 755 "$ROOT/installer/install-desktop-entry.sh" "$BUNDLE/install-desktop-entry.sh"
"$VENV/bin/python" -m pip freeze --exclude-editable > "$ROOT/build/installer-freeze.txt"
size=$(du -sh "$BUNDLE" | cut -f1)
files=$(find "$BUNDLE" -type f | wc -l)
echo "== built $BUNDLE: $size in $files files"
echo "   run it: $BUNDLE/npc-desktop     check it: python3 installer/smoke_test.py"
