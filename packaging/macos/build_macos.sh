#!/usr/bin/env bash
# Build the macOS installer: "DiffViews Desktop.app" (PyInstaller, ad-hoc signed by it) in a compressed .dmg that
# also holds a link to /Applications, so users drag the app across.
#   packaging/macos/build_macos.sh     -> build/DiffViews-Desktop-<version>-macos-<arch>.dmg
# Environment: PYTHON, an environment with torch and the project (default .venv/bin/python from scripts/setup.sh).
# The .app is not trimmed afterwards: changing files inside it would break its signature.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
start=$SECONDS
step() { echo "== [$((SECONDS - start)) s] $*"; }

step "PyInstaller into $PY's environment"
"$PY" -m pip install -q -e ".[packaging]"
step "this Python + PySide6 keep None and True alive"
QT_QPA_PLATFORM=offscreen "$PY" packaging/check_refcounts.py
step "icons"
"$PY" packaging/make_icons.py --out build/icons >/dev/null
step "PyInstaller .app"
"$PY" -m PyInstaller packaging/diffviews-desktop.spec --noconfirm --log-level WARN \
  --distpath build/dist --workpath build/pyinstaller
app="build/dist/DiffViews Desktop.app"
codesign --verify --deep "$app"

version=$("$PY" -c 'from importlib.metadata import version; print(version("diffviews-desktop"))')
dmg=build/DiffViews-Desktop-$version-macos-$(uname -m).dmg
step ".dmg"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
hdiutil create -volname "DiffViews Desktop" -srcfolder "$stage" -ov -format UDZO "$dmg" >/dev/null
step "done"
echo "   .app $(du -sm "$app" | cut -f1) MB, .dmg $(du -m "$dmg" | cut -f1) MB ($dmg)"
