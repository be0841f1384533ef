#!/usr/bin/env bash
# Add NPC Desktop to the desktop's application menu for the current user (no root needed).
#
#   install-desktop-entry.sh [BUNDLE_DIR]          install or update the menu entry and icon
#   install-desktop-entry.sh --uninstall           remove them again
#
# BUNDLE_DIR is the application folder holding the npc-desktop executable; by default the folder
# this script is in (the script ships inside the bundle), else dist/npc-desktop of the checkout.
# It writes $XDG_DATA_HOME/applications/npc-desktop.desktop (default ~/.local/share/...) with Exec
# pointing at the bundle's absolute path, and the icon into $XDG_DATA_HOME/icons/hicolor/.
# Move the bundle? Run this script again from its new place.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
ENTRY="$DATA_HOME/applications/npc-desktop.desktop"
PNG_ICON="$DATA_HOME/icons/hicolor/256x256/apps/npc-desktop.png"
SVG_ICON="$DATA_HOME/icons/hicolor/scalable/apps/npc-desktop.svg"

die() { echo "install-desktop-entry.sh: error: $*" >&2; exit 2; }

refresh_caches() {
    # Menus pick the change up without these too, only later; failures here do not matter.
    if command -v update-desktop-database >/dev/null; then
        update-desktop-database -q "$DATA_HOME/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null && [[ -f "$DATA_HOME/icons/hicolor/index.theme" ]]; then
        gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" 2>/dev/null || true
    fi
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
fi
if [[ "${1:-}" == "--uninstall" ]]; then
    [[ $# == 1 ]] || die "--uninstall takes no other argument"
    rm -f "$ENTRY" "$PNG_ICON" "$SVG_ICON"
    refresh_caches
    echo "removed $ENTRY and the npc-desktop icons"
    exit 0
fi
[[ $# -le 1 ]] || die "expected at most one argument, the bundle folder (see --help)"

if [[ $# == 1 ]]; then
    BUNDLE="$1"
elif [[ -x "$SCRIPT_DIR/npc-desktop" ]]; then
    BUNDLE="$SCRIPT_DIR"
else
    BUNDLE="$SCRIPT_DIR/../dist/npc-desktop"
fi
[[ -d "$BUNDLE" ]] || die "$BUNDLE: no such folder (build the bundle with installer/build.sh first)"
BUNDLE="$(cd "$BUNDLE" && pwd)"
EXECUTABLE="$BUNDLE/npc-desktop"
[[ -x "$EXECUTABLE" ]] || die "$BUNDLE: no npc-desktop executable in this folder; is it the application bundle?"
RESOURCES="$BUNDLE/_internal/resources"
[[ -f "$RESOURCES/npc-desktop.desktop" ]] || die "$RESOURCES/npc-desktop.desktop: missing from the bundle"
case "$BUNDLE" in
    *[\"\`\$\\]* | *$'\n'*) die "$BUNDLE: the folder's path holds a quote, backquote, dollar, backslash or newline; move the bundle" ;;
esac

mkdir -p "$(dirname "$ENTRY")" "$(dirname "$PNG_ICON")" "$(dirname "$SVG_ICON")"
install -m 644 "$RESOURCES/npc-desktop.png" "$PNG_ICON"
install -m 644 "$RESOURCES/npc-desktop.svg" "$SVG_ICON"
# The packaged entry runs "npc-desktop" from PATH (pip installs); the bundle is run by its path,
# quoted because the path may hold spaces (Desktop Entry Specification, "The Exec key").
tmp="$(mktemp "$ENTRY.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [[ -n "$line" ]]; do
    case "$line" in
        Exec=*) printf 'Exec="%s" %%f\n' "$EXECUTABLE" ;;
        TryExec=*) ;;
        *) printf '%s\n' "$line"
           [[ "$line" == "Type=Application" ]] && printf 'TryExec=%s\n' "$EXECUTABLE" ;;
    esac
done < "$RESOURCES/npc-desktop.desktop" > "$tmp"
chmod 644 "$tmp"
mv "$tmp" "$ENTRY"
trap - EXIT
refresh_caches
echo "installed $ENTRY (runs $EXECUTABLE) and the icon in $DATA_HOME/icons/hicolor"
