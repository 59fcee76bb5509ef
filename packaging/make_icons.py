"""Every icon the installers need, drawn from the one source image ``resources/diffviews_resources/icons/diffviews.svg``.

Each size is rendered from the SVG itself (Qt's SVG renderer, already a dependency), so small icons stay sharp;
Pillow writes the container formats. Output (default ``build/icons``):

- ``hicolor/<N>x<N>/apps/diffviews.png`` for the freedesktop icon theme (Linux menus), N = 16 ... 512,
  and ``hicolor/scalable/apps/diffviews.svg``;
- ``diffviews.ico`` (Windows: 16 ... 256 px) and ``diffviews.icns`` (macOS: 32 ... 1024 px, i.e. 16-512 pt at 1x and 2x).

    python packaging/make_icons.py [--out build/icons]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "diffviews_resources" / "icons" / "diffviews.svg"
NAME = "diffviews"
HICOLOR_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)  # Pillow writes the retina (2x) entries from 16 pt up


def render(svg: Path, size: int):
    """The SVG drawn into a transparent size x size RGBA Pillow image."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


def make_icons(out: Path, svg: Path = SOURCE) -> list[Path]:
    """Write the hicolor PNGs, the scalable SVG, the .ico and the .icns under ``out``; returns the files written."""
    sizes = sorted(set(HICOLOR_SIZES) | set(ICO_SIZES) | set(ICNS_SIZES))
    images = {size: render(svg, size) for size in sizes}
    written = []
    for size in HICOLOR_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        images[size].save(path)
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)

    ico = out / f"{NAME}.ico"
    largest = images[max(ICO_SIZES)]
    largest.save(ico, sizes=[(s, s) for s in ICO_SIZES], append_images=[images[s] for s in ICO_SIZES])
    icns = out / f"{NAME}.icns"
    images[max(ICNS_SIZES)].save(icns, append_images=[images[s] for s in ICNS_SIZES])
    written += [ico, icns]
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "icons")
    args = parser.parse_args()
    for path in make_icons(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
