"""Start-up: the command-line options, the screenshot mode, and no torch/umap import on the way to the first frame."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

OPTIONS = ["--data-dir", "--embeddings", "--checkpoint-path", "--adapter", "--device", "--num-steps",
           "--guidance-scale", "--model", "-m", "--screenshot"]  # fmt: skip

STARTUP = """
import sys
from pathlib import Path
from diffviews_app.__main__ import main
code = main(["--data-dir", sys.argv[1], "--screenshot", sys.argv[2], "-m", "edm"])
heavy = sorted(m for m in ("torch", "umap", "numba", "sklearn", "pynndescent", "ray", "faiss") if m in sys.modules)
print("EXIT", code, "HEAVY", ",".join(heavy) or "-")
"""


def test_viz_and_desktop_share_the_options():
    from diffviews_app.__main__ import build_parser

    from diffviews_core.cli.main import build_parser as cli_parser

    desktop = build_parser().format_help()
    viz = cli_parser()._subparsers._group_actions[0].choices["viz"].format_help()
    for option in OPTIONS:
        assert option in desktop and option in viz
    args = build_parser().parse_args(["--data-dir", "d", "-m", "edm", "--num-steps", "4", "--guidance-scale", "1.5"])
    assert (args.data_dir, args.model, args.num_steps, args.guidance_scale) == ("d", "edm", 4, 1.5)


@pytest.mark.gui
@pytest.mark.gl
def test_screenshot_mode_saves_the_window_without_importing_torch_or_umap(fixture_root, tmp_path):
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (pytest-xvfb starts one)")
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
