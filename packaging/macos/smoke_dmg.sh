#!/usr/bin/env bash
# Smoke-test the .dmg as a user would use it: mount it, copy the app out, open the demo window and save a
# screenshot (QT_QPA_PLATFORM=offscreen when no window server can be reached), generate an image with the bundled
# CLI, check both PNGs.
#   packaging/macos/smoke_dmg.sh build/DiffViews-Desktop-<version>-macos-<arch>.dmg
set -euo pipefail
dmg=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
PY=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
mnt=$work/mnt
mkdir "$mnt" "$work/Applications"
hdiutil attach -nobrowse -readonly -mountpoint "$mnt" "$dmg" >/dev/null
cp -R "$mnt/DiffViews Desktop.app" "$work/Applications/"
hdiutil detach "$mnt" >/dev/null
bin="$work/Applications/DiffViews Desktop.app/Contents/MacOS"
# A display exists on a logged-in Mac (and on GitHub's runners); otherwise render offscreen.
launchctl managername 2>/dev/null | grep -q Aqua || export QT_QPA_PLATFORM=offscreen
HOME=$work/home "$bin/diffviews-desktop" --screenshot "$work/window.png"
HOME=$work/home "$bin/diffviews" generate --demo --class 1 --steps 8 --seed 3 --out "$work/generated.png"
"$PY" - "$work/window.png" "$work/generated.png" <<'PYEOF'
import sys
import numpy as np
from PIL import Image
window, generated = (np.asarray(Image.open(p).convert("L"), dtype=float) for p in sys.argv[1:])
assert window.shape[0] >= 400 and window.std() > 10, f"window: {window.shape}"
assert generated.shape == (32, 32) and generated.std() > 10, f"generated: {generated.shape}"
print(f"smoke test passed: window {window.shape[1]}x{window.shape[0]} px, generated 32x32 px")
PYEOF
