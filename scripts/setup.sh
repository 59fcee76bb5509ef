#!/usr/bin/env bash
# Set up DiffViews Desktop in its own virtual environment (.venv in the checkout), so it works with a distribution's
# Python (PEP 668: nothing is installed into the system's Python). Installs the system libraries Qt/OpenGL need
# (apt; python3-venv where missing), PyTorch (CPU build unless nvidia-smi lists a GPU), then the project (editable).
#
#   scripts/setup.sh                   runtime; then .venv/bin/diffviews-desktop
#   scripts/setup.sh --dev             plus test tools, Xvfb and the Fashion-MNIST data; then .venv/bin/python -m pytest
#   --cpu | --cuda                     force PyTorch's CPU or CUDA build (default: CUDA where `nvidia-smi -L` lists a GPU)
#   --wheelhouse DIR                   install only from DIR (made by scripts/make_wheelhouse.sh): no index, no network
#   --no-apt                           skip system packages (they must be there already)
#   --print-plan                       print what would be done and exit
# Environment: PYTHON (interpreter the venv is made from; default python3), VENV (default .venv),
#              TORCH_VERSION, TORCH_CPU_INDEX (see scripts/torch_source.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/torch_source.sh

dev=0 requested=auto wheelhouse="" apt=1 plan=0
while [ $# -gt 0 ]; do
  case $1 in
    --dev) dev=1 ;;
    --cpu) requested=cpu ;;
    --cuda) requested=cuda ;;
    --wheelhouse) wheelhouse=$(cd "${2:?--wheelhouse needs a folder}" && pwd); shift ;;
    --no-apt) apt=0 ;;
    --print-plan) plan=1 ;;
    -h|--help) sed -n '2,13p' "$0" | cut -c3-; exit 0 ;;
    *) echo "setup.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# System packages: the libraries PySide6's xcb platform plugin and OpenGL load at run time; the test tools with --dev.
pkgs="libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
      libxcb-xkb1 libxcb-cursor0 libxkbcommon-x11-0 libgl1 libegl1 libdbus-1-3 libfontconfig1"
dev_pkgs="xvfb xauth desktop-file-utils dataset-fashion-mnist"  # dataset: `diffviews demo train / rebuild` and its test

apt_install() {  # apt_install PKG...: install those not yet installed; warn about those apt does not know
  [ "$apt" = 1 ] && command -v apt-get >/dev/null || return 0
  local missing p known=""
  missing=$(for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  [ -n "$missing" ] || return 0
  echo "== apt: installing $(echo $missing)"
  $SUDO apt-get update -qq
  for p in $missing; do
    if apt-cache show "$p" >/dev/null 2>&1; then known="$known $p"; else echo "   (apt does not know $p; skipped)"; fi
  done
  # shellcheck disable=SC2086
  [ -z "$known" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $known >/dev/null
}

if [ "$plan" = 0 ]; then
  # shellcheck disable=SC2086
  apt_install $pkgs $([ "$dev" = 1 ] && echo $dev_pkgs)
  command -v "$PY" >/dev/null || apt_install python3
fi
command -v "$PY" >/dev/null || { echo "setup.sh: no Python found ($PY); set PYTHON=/path/to/python3" >&2; exit 1; }
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "setup.sh: $PY is Python $pyver; DiffViews needs 3.10 or newer (set PYTHON=/path/to/python3.X)" >&2; exit 1; }

choose_torch_variant "$requested"
variant=$TORCH_VARIANT
torch_req=$(torch_requirement "$variant")
pip_env=()
if [ -n "$wheelhouse" ]; then
  # Only the wheelhouse: no index, and no pip configuration that could add one.
  pip_env=(PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 "PIP_FIND_LINKS=$wheelhouse")
  torch_req="torch==${TORCH_VERSION}"  # whichever build the wheelhouse was made with
  TORCH_ARGS="" TORCH_FROM="the wheelhouse $wheelhouse"
else
  choose_torch_source "$variant" "$PY"
fi

if [ "$plan" = 1 ]; then
  echo "python: $(command -v "$PY") ($pyver)"
  echo "venv: $VENV"
  echo "torch: $torch_req ($variant: $TORCH_WHY) from $TORCH_FROM"
  echo "project: -e .$([ "$dev" = 1 ] && echo '[dev]')"
  exit 0
fi

# The virtual environment: the distribution's Python needs its venv package (ensurepip) for this.
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
  if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install "python${pyver}-venv"
    "$PY" -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
  fi
  echo "== creating $VENV with $(command -v "$PY") ($pyver)"
  "$PY" -m venv "$VENV"
fi
VPY=$VENV/bin/python
vpip() { env ${pip_env[@]+"${pip_env[@]}"} "$VPY" -m pip --disable-pip-version-check "$@"; }  # bash 3.2-safe

# PyTorch before the project, so the project's `torch>=2.2` never pulls another build. Keep a matching one.
read -r have_version have_build < <("$VPY" -c 'import torch; print(torch.__version__, "cuda" if torch.version.cuda else "cpu")' 2>/dev/null || echo "- -")
same_version=$([ "${have_version%%+*}" = "$TORCH_VERSION" ] && echo 1 || echo 0)
if [ "$same_version" = 1 ] && { [ "$variant" = default ] || [ -n "$wheelhouse" ] || [ "$have_build" = "$variant" ]; }; then
  echo "== torch $have_version ($have_build) already installed"
else
  echo "== installing $torch_req ($variant: $TORCH_WHY) from $TORCH_FROM"
  # shellcheck disable=SC2086
  vpip install -q $TORCH_ARGS "$torch_req" || { torch_install_hint "$variant"; exit 1; }
fi

echo "== installing the project (editable)$([ "$dev" = 1 ] && echo ' with test tools')"
vpip install -q -e ".$([ "$dev" = 1 ] && echo '[dev]')"
vpip install -q -e ./compat  # the original DiffViews' Python API (import diffviews), served by diffviews_core
"$VPY" - <<'PYEOF'
import PySide6, sys, torch
print(f"== ready: Python {sys.version.split()[0]}, torch {torch.__version__}, PySide6 {PySide6.__version__}")
PYEOF
