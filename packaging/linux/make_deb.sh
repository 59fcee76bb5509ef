#!/usr/bin/env bash
# Package a frozen bundle (PyInstaller one-folder) as a .deb:
#   /opt/diffviews-desktop/...                  the bundle
#   /usr/bin/diffviews-desktop, /usr/bin/diffviews   links into it
#   /usr/share/applications/diffviews-desktop.desktop and hicolor icons (16-512 px + scalable): the app menu entry
#   /usr/share/doc/diffviews-desktop/copyright
# Depends: the owners of the system libraries the bundle loads (packaging/linux/system_deps.py) and those it opens
# at run time. No maintainer scripts: dpkg's triggers refresh the icon cache and desktop database, and removal
# leaves nothing behind.
#
#   packaging/linux/make_deb.sh BUNDLE_DIR ICONS_DIR OUT_DIR VERSION      # prints the .deb's path
# Environment: DEB_COMPRESS (dpkg-deb -Z: zstd, xz, gzip, none; default zstd: dpkg reads it since Debian 12 and
# Ubuntu 21.10, and it packs ~900 MB in a tenth of the time xz -6 takes, ~25% larger), DEB_LEVEL (-z; default 12).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bundle=$(cd "$1" && pwd) icons=$(cd "$2" && pwd) out=$3 version=$4
name=diffviews-desktop
arch=$(dpkg --print-architecture)
PY=${PYTHON:-python3}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"
install -d "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" "$stage/usr/share/doc/$name" "$stage/DEBIAN"
cp -a --reflink=auto "$bundle" "$stage/opt/$name"
ln -s "/opt/$name/diffviews-desktop" "$stage/usr/bin/diffviews-desktop"
ln -s "/opt/$name/diffviews" "$stage/usr/bin/diffviews"
install -m644 "$here/diffviews-desktop.desktop" "$stage/usr/share/applications/$name.desktop"
for dir in "$icons"/hicolor/*/apps; do
  install -Dm644 -t "$stage/usr/share/icons/hicolor/$(basename "$(dirname "$dir")")/apps" "$dir"/diffviews.*
done
install -m644 "$here/copyright" "$stage/usr/share/doc/$name/copyright"
# Files readable by all, nothing writable but by root.
find "$stage" -type d -exec chmod 755 {} +
find "$stage/opt" "$stage/usr/share" -type f ! -perm -u+x -exec chmod 644 {} +
find "$stage/opt" -type f -perm -u+x -exec chmod 755 {} +

# What the bundle links against, plus what Qt and vispy open with dlopen (OpenGL, EGL, fonts, keyboard).
depends=$("$PY" "$here/system_deps.py" "$stage/opt/$name")
runtime="libgl1, libegl1, libfontconfig1, libxkbcommon-x11-0, libxcb-cursor0"
depends=$(printf '%s\n' "libc6 (>= 2.34)" $(echo "$depends, $runtime" | tr ',' '\n') | sed 's/^ *//' | grep -v '^$' \
          | sort -u | paste -sd, | sed 's/,/, /g')
cat >"$stage/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: DiffViews Desktop developers <diffviews-desktop@users.noreply.github.com>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Section: science
Priority: optional
Homepage: https://github.com/mckellcarter/diffviews
Description: explorer of what a diffusion model's layers encode
 DiffViews Desktop loads a diffusion model, records layer activations while
 images are denoised, projects them with UMAP into a 2D/3D point cloud, and
 generates new images from the averaged activations of a selection. Opens on
 an embedded Fashion-MNIST demo model; works offline, on CPU or CUDA.
CONTROL

mkdir -p "$out"
deb="$out/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-zstd}" -z"${DEB_LEVEL:-12}" --build "$stage" "$deb" >&2
echo "$deb"
