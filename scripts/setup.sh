#!/usr/bin/env bash
# Set up DiffViews Desktop on a fresh Debian machine: system libraries for Qt/GL/Xvfb, CPU torch, the project.
#   scripts/setup.sh         runtime only
#   scripts/setup.sh --dev   plus test tools
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if command -v apt-get >/dev/null; then
  pkgs="xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
        libxcb-randr0 libxcb-xkb1 libxcb-cursor0 libxkbcommon-x11-0 libgl1 libegl1 libdbus-1-3 libfontconfig1
        dataset-fashion-mnist"  # the demo's training data (diffviews demo train / rebuild)
  missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
  fi
fi

PY=${PYTHON:-python3}
# The CPU build first: an unpinned torch would pull a multi-GB CUDA build. Keep an existing torch.
$PY -c "import torch" 2>/dev/null || $PY -m pip install -q "torch==2.13.0"
$PY -m pip install -q -e ".${extras}"
