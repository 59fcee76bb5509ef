#!/usr/bin/env bash
# Make a wheelhouse: every wheel that `scripts/setup.sh --wheelhouse DIR` installs on a machine without network
# (PyTorch, the project's dependencies, the build tools of its editable install, the project's own wheel).
# Run it on a connected machine with the same OS, CPU architecture and Python version (X.Y) as the offline one,
# then carry DIR and this checkout across.
#
#   scripts/make_wheelhouse.sh DIR [--cpu | --cuda] [--dev]
#     --cpu / --cuda   PyTorch's build for the offline machine (default: decided on this machine, as setup.sh does)
#     --dev            also the test tools
# Environment: PYTHON (the Python version to fetch for; default python3), TORCH_VERSION, TORCH_CPU_INDEX.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/torch_source.sh

out="" dev=0 requested=auto
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) requested=cpu ;;
    --cuda) requested=cuda ;;
    --dev) dev=1 ;;
    -h|--help) sed -n '2,12p' "$0" | cut -c3-; exit 0 ;;
    -*) echo "make_wheelhouse.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "usage: scripts/make_wheelhouse.sh DIR [--cpu|--cuda] [--dev]" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
PY=${PYTHON:-python3}

# pip from a throwaway venv: the distribution's Python may forbid installing into itself (PEP 668).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PY" -m venv "$work/venv" || { echo "make_wheelhouse.sh: $PY cannot make a venv (install python3-venv)" >&2; exit 1; }
choose_torch_variant "$requested"
torch_req=$(torch_requirement "$TORCH_VARIANT")
choose_torch_source "$TORCH_VARIANT" "$PY"
echo "== wheels for Python $("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])') on $(uname -sm)," \
     "$torch_req ($TORCH_VARIANT: $TORCH_WHY) from $TORCH_FROM"
# One resolution for everything, so the project's `torch>=2.2` is met by the chosen build and nothing newer.
# shellcheck disable=SC2086
"$work/venv/bin/python" -m pip wheel -q -w "$out" $TORCH_ARGS \
  ".$([ "$dev" = 1 ] && echo '[dev]')" "$torch_req" "setuptools>=69" wheel \
  || { [ "$TORCH_VARIANT" = cpu ] && torch_install_hint cpu; exit 1; }
echo "== $(ls "$out" | wc -l) wheels, $(du -sm "$out" | cut -f1) MB in $out"
echo "   offline: scripts/setup.sh --wheelhouse $out$([ "$dev" = 1 ] && echo ' --dev')"
