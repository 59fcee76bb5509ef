#!/usr/bin/env bash
# Build the Linux installers from the checkout's environment (.venv, made by scripts/setup.sh):
#   build/dist/diffviews-desktop/                        the PyInstaller one-folder bundle, trimmed
#   build/diffviews-desktop_<version>_<arch>.deb         /opt/diffviews-desktop, /usr/bin links, menu entry, icons
#   build/diffviews-desktop-<version>-linux-<arch>.tar.xz   the bundle, for distributions without dpkg
#
#   packaging/build_linux.sh [--no-tarball]
# Environment: PYTHON (default .venv/bin/python), DEB_COMPRESS / DEB_LEVEL (see packaging/linux/make_deb.sh).
# The bundle holds the Python that runs this script: it must keep None and True alive under PySide6
# (packaging/check_refcounts.py runs first and stops the build otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
tarball=1
[ "${1:-}" = --no-tarball ] && tarball=0
start=$SECONDS
step() { echo "== [$((SECONDS - start)) s] $*"; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# strip/objdump (binutils), the shared libpython PyInstaller bundles, xz for the tarball, dpkg-deb.
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
need=(binutils xz-utils dpkg)
"$PY" -c 'import sysconfig, sys; sys.exit(not sysconfig.get_config_var("Py_ENABLE_SHARED"))' || need+=("libpython$pyver")
missing=$(for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  step "apt: installing $(echo $missing)"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

step "PyInstaller into $PY's environment"
"$PY" -m pip install -q -e ".[packaging]"
step "this Python + PySide6 keep None and True alive"
QT_QPA_PLATFORM=offscreen "$PY" packaging/check_refcounts.py
step "icons from resources/diffviews_resources/icons/diffviews.svg"
"$PY" packaging/make_icons.py --out build/icons >/dev/null
step "PyInstaller bundle"
"$PY" -m PyInstaller packaging/diffviews-desktop.spec --noconfirm --log-level WARN \
  --distpath build/dist --workpath build/pyinstaller
bundle=build/dist/diffviews-desktop
ln -sfn diffviews-desktop "$bundle/diffviews"  # the CLI: the same executable, called by this name
step "trimming the bundle"
cpu=$("$PY" -c 'import torch; print("--cpu-torch" if torch.version.cuda is None else "")')
"$PY" packaging/trim_bundle.py "$bundle" $cpu

version=$("$PY" -c 'from importlib.metadata import version; print(version("diffviews-desktop"))')
step ".deb"
deb=$(PYTHON=$PY packaging/linux/make_deb.sh "$bundle" build/icons build "$version")
if [ "$tarball" = 1 ]; then
  step ".tar.xz"
  tarball=build/diffviews-desktop-$version-linux-$(uname -m).tar.xz
  tar -C build/dist --owner=0 --group=0 -cf - diffviews-desktop | xz -T0 -6 >"$tarball.part"
  mv "$tarball.part" "$tarball"
fi
step "done"
echo "   bundle  $(du -sm "$bundle" | cut -f1) MB  ($bundle)"
echo "   .deb    $(du -m "$deb" | cut -f1) MB  ($deb)"
[ "$tarball" = 0 ] || echo "   .tar.xz $(du -m "$tarball" | cut -f1) MB  ($tarball)"
