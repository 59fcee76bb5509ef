#!/usr/bin/env bash
# Build a wheel from this repository, install it without dependencies into a fresh virtual environment that sees the
# dependencies (torch, numpy, ...) of the build environment's Python, then run `diffviews generate --demo` from
# outside the repository and check the PNG. Proves the wheel carries the demo model and data.
# PYTHON: the interpreter with the dependencies and `build` (default: the checkout's .venv made by scripts/setup.sh).
#   scripts/check_wheel_demo.sh            isolated build (`python3 -m build --wheel`, fetches setuptools)
#   scripts/check_wheel_demo.sh --offline  build with the installed setuptools (no network)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-}
[ -n "$PY" ] || { [ -x "$repo/.venv/bin/python" ] && PY=$repo/.venv/bin/python; } || PY=python3
build_args=(--wheel)
[ "${1:-}" = "--offline" ] && build_args+=(--no-isolation --skip-dependency-check)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building the wheel"
"$PY" -m build "${build_args[@]}" --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || {
  tail -30 "$work/build.log"; echo "wheel build failed" >&2; exit 1; }
wheel=$(ls "$work"/dist/*.whl)
echo "   $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
"$PY" - "$wheel" <<'PYEOF'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["diffviews_resources/demo/model.safetensors", "diffviews_resources/demo/model.json",
        "diffviews_resources/LICENSE-fashion-mnist.txt",
        "diffviews_resources/demo/data/fashion-mnist-demo/manifest.json",
        "diffviews_resources/demo/full_images.npz"]
missing = [n for n in need if n not in names]
if missing:
    sys.exit(f"wheel lacks: {', '.join(missing)}")
print(f"   {sum(n.startswith('diffviews_resources/demo/') for n in names)} demo files in the wheel")
PYEOF

echo "== installing into a fresh venv (--no-deps; dependencies seen from $PY's site-packages)"
"$PY" -m venv "$work/venv"
# A .pth line adds a folder to sys.path without running the .pth files inside it, so an editable install of the
# project there stays invisible; the fresh venv's own site-packages (holding the wheel) comes first anyway.
"$PY" -c 'import sysconfig; p = sysconfig.get_paths(); print(p["purelib"]); print(p["platlib"])' | sort -u \
  >"$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/deps-of-build-env.pth"
"$work/venv/bin/python" -m pip install -q --no-deps "$wheel"

echo "== generating from outside the repository"
cd "$work"  # outside the repository; PYTHONPATH cleared so only the wheel can be imported
out1="$work/one.png"; out2="$work/two.png"
env -u PYTHONPATH "$work/venv/bin/diffviews" generate --demo --class 1 --steps 8 --seed 3 --out "$out1"
env -u PYTHONPATH "$work/venv/bin/diffviews" generate --demo --class 1 --steps 8 --seed 3 --out "$out2"
env -u PYTHONPATH "$work/venv/bin/python" - "$out1" "$out2" "$work/venv" <<'PYEOF'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
import diffviews_core, diffviews_resources
one, two, venv = map(Path, sys.argv[1:])
for mod in (diffviews_core, diffviews_resources):
    where = Path(mod.__file__).resolve()
    assert venv.resolve() in where.parents, f"{mod.__name__} imported from {where}, not from the wheel"
assert one.read_bytes() == two.read_bytes(), "same seed gave different PNG bytes"
img = np.asarray(Image.open(one))
assert img.shape == (32, 32) and img.dtype == np.uint8, img.shape
assert img.std() > 10, "blank image"
print(f"   PNG ok: {img.shape}, {one.stat().st_size} bytes, identical on rerun, imported from the wheel")
PYEOF
echo "wheel demo check passed"
