#!/usr/bin/env bash
# The Linux installer end to end, as a user gets it (CI runs this):
#   build it (packaging/build_linux.sh) unless --deb FILE is given; `apt-get install ./<deb>`; the menu entry
#   validated and its icons present; `diffviews-desktop --screenshot` under Xvfb; `diffviews generate --demo`;
#   the demo data imported into a temporary data root and a layer embedded twice by the installed app (the second
#   run must load numba's compiled code from the user cache); nothing written into /opt; `apt-get remove`;
#   nothing left under /opt, /usr/bin or /usr/share. Prints each step's time.
#
#   packaging/check_deb.sh [--deb build/diffviews-desktop_<version>_<arch>.deb]
# Environment: PYTHON (for checking the PNGs; default .venv/bin/python), KEEP_INSTALLED=1 skips the removal.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
PY=${PYTHON:-$repo/.venv/bin/python}
deb=""
[ "${1:-}" = --deb ] && deb=$(realpath "${2:?--deb needs a file}")
start=$SECONDS
step() { echo "== [$((SECONDS - start)) s] $*"; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
fail() { echo "check_deb: $*" >&2; exit 1; }

if [ -z "$deb" ]; then
  packaging/build_linux.sh --no-tarball
  deb=$(realpath "$(ls -t build/diffviews-desktop_*.deb | head -1)")
fi
missing=$(for p in xvfb xauth desktop-file-utils; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
[ -z "$missing" ] || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null; }
dpkg -s diffviews-desktop >/dev/null 2>&1 && fail "diffviews-desktop is already installed; remove it first"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
snapshot() { { find /opt /usr/bin /usr/share -xdev 2>/dev/null || true; } | sort; }
snapshot >"$work/before"

step "apt-get install $(basename "$deb") ($(du -m "$deb" | cut -f1) MB)"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$deb" >/dev/null
echo "   installed: $(du -sm /opt/diffviews-desktop | cut -f1) MB in /opt/diffviews-desktop, $(dpkg -L diffviews-desktop | wc -l) paths"
desktop-file-validate /usr/share/applications/diffviews-desktop.desktop
for size in 16 22 24 32 48 64 128 256 512; do
  [ -f "/usr/share/icons/hicolor/${size}x${size}/apps/diffviews.png" ] || fail "no ${size}px icon"
done
# A new user's PATH: a developer's own Python tools (pyenv shims, ~/.local/bin) must not stand in for the package's.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ "$(command -v diffviews-desktop)" = /usr/bin/diffviews-desktop ] || fail "diffviews-desktop is not /usr/bin's"
[ "$(command -v diffviews)" = /usr/bin/diffviews ] || fail "diffviews is not /usr/bin's"

# A new user: empty HOME, so caches and settings start empty.
export HOME=$work/home XDG_CACHE_HOME="" XDG_CONFIG_HOME="" XDG_DATA_HOME=""
unset XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME DIFFVIEWS_DATA_DIR DIFFVIEWS_CACHE_DIR DIFFVIEWS_CONFIG_DIR NUMBA_CACHE_DIR
mkdir -p "$HOME"
cd "$work"

step "diffviews-desktop --screenshot (Xvfb)"
xvfb-run -a -s "-screen 0 1600x1000x24" diffviews-desktop --screenshot "$work/window.png"
step "diffviews generate --demo"
diffviews generate --demo --class 7 --steps 8 --seed 1 --out "$work/generated.png"
"$PY" - "$work/window.png" "$work/generated.png" <<'PYEOF'
import sys
import numpy as np
from PIL import Image
window, generated = (np.asarray(Image.open(p).convert("L"), dtype=float) for p in sys.argv[1:])
assert window.shape[0] >= 600 and window.shape[1] >= 800 and window.std() > 10, f"window: {window.shape}"
assert generated.shape == (32, 32) and generated.std() > 10, f"generated image: {generated.shape}"
print(f"   window {window.shape[1]}x{window.shape[0]} px, generated {generated.shape[1]}x{generated.shape[0]} px")
PYEOF

step "diffviews import of the bundled demo data into a temporary data root"
demo=$(dirname "$(find /opt/diffviews-desktop -path '*demo/data/fashion-mnist-demo/manifest.json' | head -1)")
diffviews import "$demo" --data-dir "$work/data"
step "a session restored by the installed app: its selection prepares generation in a worker process"
printf '{"kind": "diffviews-desktop-session", "version": 1, "data_dir": "%s", "model": "fashion-mnist-demo", "selected": 0}\n' \
  "$work/data" >"$work/session.json"
xvfb-run -a -s "-screen 0 1600x1000x24" diffviews-desktop -v --session "$work/session.json" \
  --screenshot "$work/session.png" >"$work/session.log" 2>&1 || { tail -20 "$work/session.log"; fail "session run failed"; }
grep -q "worker process diffviews-models started" "$work/session.log" \
  || { tail -20 "$work/session.log"; fail "the frozen app started no worker process"; }
if grep -E "^(WARNING|ERROR) job |Traceback" "$work/session.log"; then fail "a job in the worker process failed"; fi
echo "   $(grep -c 'worker process' "$work/session.log") worker process(es) started; the restored selection's job ran"

embed() {  # embed NAME SEED: fit a UMAP map of one layer with the installed app; numba reports its cache use
  local t0=$SECONDS
  NUMBA_DEBUG_CACHE=1 diffviews embed "$work/data" -m fashion-mnist-demo --layers midblock --name "$1" --seed "$2" \
    >"$work/$1.log" 2>&1 || { tail -20 "$work/$1.log"; fail "embed $1 failed"; }
  echo "   $1: $((SECONDS - t0)) s, numba cache: $(grep -c 'data saved' "$work/$1.log" || true) saved," \
       "$(grep -c 'data loaded' "$work/$1.log" || true) loaded"
}
step "diffviews embed, first run (numba compiles and caches)"
embed first 1
numba_dir=$HOME/.cache/diffviews/numba
[ -d "$numba_dir" ] || fail "numba's cache is not in the user cache ($numba_dir)"
echo "   $numba_dir: $(find "$numba_dir" -name '*.nbi' | wc -l) index files, $(du -sm "$numba_dir" | cut -f1) MB"
step "diffviews embed, second run (numba loads from the cache)"
embed second 2
[ "$(grep -c 'data loaded' "$work/second.log")" -gt 0 ] || fail "the second run loaded nothing from numba's cache"
[ "$(grep -c 'data saved' "$work/second.log")" -eq 0 ] || fail "the second run compiled again"
[ -f "$work/data/fashion-mnist-demo/embeddings/second.csv" ] || fail "no embedding written"

step "nothing written into the installed files"
dpkg -L diffviews-desktop | grep '^/opt/' | sort >"$work/owned"
find /opt/diffviews-desktop | sort >"$work/present"
comm -13 "$work/owned" "$work/present" >"$work/extra"
[ ! -s "$work/extra" ] || { head "$work/extra"; fail "files appeared under /opt/diffviews-desktop"; }

[ "${KEEP_INSTALLED:-0}" = 1 ] && { step "kept installed (KEEP_INSTALLED=1)"; exit 0; }
step "apt-get remove"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq diffviews-desktop >/dev/null
snapshot >"$work/after"
if ! diff "$work/before" "$work/after" >"$work/left"; then
  cat "$work/left"; fail "removal left files behind (or removed others)"
fi
echo "   nothing left under /opt, /usr/bin, /usr/share"
step "installed-app check passed"
