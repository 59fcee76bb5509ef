"""packaging/make_icons.py draws every installer icon from the one SVG: hicolor PNGs, .ico and .icns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def icons(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "packaging" / "make_icons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("icons")
    module.make_icons(out)
    return out


@pytest.mark.parametrize("size", [16, 22, 24, 32, 48, 64, 128, 256, 512])
def test_hicolor_png_at_each_size(icons, size):
    image = Image.open(icons / "hicolor" / f"{size}x{size}" / "apps" / "diffviews.png")
    assert image.size == (size, size) and image.mode == "RGBA"
    pixels = np.asarray(image)
    assert pixels[size // 2, size // 2, 3] == 255, "the middle is drawn"
    assert pixels[0, 0, 3] < 255, "rounded corners stay transparent"


def test_scalable_icon_is_the_source_svg(icons):
    svg = icons / "hicolor" / "scalable" / "apps" / "diffviews.svg"
    assert svg.read_bytes() == (ROOT / "resources" / "diffviews_resources" / "icons" / "diffviews.svg").read_bytes()


def test_windows_ico_holds_16_to_256(icons):
    sizes = Image.open(icons / "diffviews.ico").info["sizes"]
    assert {(s, s) for s in (16, 32, 48, 256)} <= set(sizes)


def test_macos_icns_holds_16_to_512_points_at_2x(icons):
    icns = Image.open(icons / "diffviews.icns")
    assert {(16, 16, 2), (32, 32, 2), (128, 128, 1), (256, 256, 2), (512, 512, 2)} <= set(icns.info["sizes"])
    icns.size = (512, 512)
    icns.load(scale=2)
    assert icns.size == (1024, 1024)
