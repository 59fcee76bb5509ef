#!/usr/bin/env bash
# The README's screenshots of the installed .deb, taken under Xvfb: the app's window (`diffviews-desktop
# --screenshot`, from /usr/bin) and its entry in an application menu (rofi's drun mode, a launcher that lists the
# installed .desktop entries with their icons from the hicolor theme, as desktop menus do).
#   packaging/menu_screenshot.sh [OUT_DIR]     (default docs/images; the .deb must be installed)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/images}
dpkg -s diffviews-desktop >/dev/null 2>&1 || { echo "install the .deb first (packaging/check_deb.sh with KEEP_INSTALLED=1)" >&2; exit 1; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=$(for p in xvfb rofi imagemagick x11-utils fonts-dejavu-core; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
[ -z "$missing" ] || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null; }

work=$(mktemp -d)
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
rofi_pid=""
trap 'kill $rofi_pid $xvfb 2>/dev/null; rm -rf "$work"' EXIT
export DISPLAY=$display HOME=$work/home
mkdir -p "$HOME" "$out"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

/usr/bin/diffviews-desktop --screenshot "$out/installed-app.png"

rofi -show drun -show-icons -select "DiffViews Desktop" \
  -drun-display-format "{name} [<span weight='light' size='small'>({generic})</span>]" \
  -theme-str 'window { width: 720px; } listview { lines: 6; } element-icon { size: 1.6em; }' &
rofi_pid=$!
for _ in $(seq 100); do xwininfo -root -children 2>/dev/null | grep -qi rofi && break; sleep 0.1; done
sleep 1  # icons load after the window maps
geometry=$(xwininfo -root -children | grep -i '"rofi"' | head -1 | grep -o '[0-9]*x[0-9]*+[0-9-]*+[0-9-]*' | head -1)
import -window root "$work/screen.png"
convert "$work/screen.png" -crop "$geometry" +repage "$out/app-menu.png"
echo "$out/installed-app.png $out/app-menu.png"
