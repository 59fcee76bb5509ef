"""Start-up to the first frame: the screenshot mode saves the window, and nothing imports torch or UMAP on the way."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

STARTUP = """
import sys
from pathlib import Path
from diffviews_app.__main__ import main
code = main(["--data-dir", sys.argv[1], "--screenshot", sys.argv[2], "-m", "edm"])
engines = ("torch", "umap", "numba", "sklearn", "scipy", "pynndescent", "ray", "faiss", "pandas", "pyarrow.compute")
heavy = sorted(m for m in engines if m in sys.modules)
print("EXIT", code, "HEAVY", ",".join(heavy) or "-")
"""


@pytest.mark.gui
@pytest.mark.gl
def test_screenshot_mode_saves_the_window_without_importing_torch_or_umap(fixture_root, tmp_path):
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DIFFVIEWS_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", STARTUP, str(fixture_root), str(out)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "EXIT 0 HEAVY -" in proc.stdout, proc.stdout + proc.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.size[0] >= 600 and im.size[1] >= 400
        pixels = im.convert("RGB").getcolors(1 << 20)
    assert len(pixels) > 50  # a window with widgets and coloured points, not a blank frame
