"""``diffviews viz``: launch the desktop explorer (the original's options, plus ``--screenshot``).

The option list lives here so ``diffviews viz`` and ``diffviews-desktop`` accept exactly the same flags. The core
never imports the app: the app registers its launcher as the ``desktop`` entry point of the ``diffviews.apps`` group,
and this command loads it only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

APP_ENTRY_POINT_GROUP = "diffviews.apps"
APP_ENTRY_POINT = "desktop"


def add_viz_arguments(p: argparse.ArgumentParser) -> None:
    """The desktop app's options, shared by ``diffviews viz`` and ``diffviews-desktop``."""
    p.add_argument("--data-dir", metavar="DIR", help="data root (one folder per model) or a model folder "
                   "(default: the embedded demo, else the user data folder)")  # fmt: skip
    p.add_argument("--embeddings", metavar="CSV", help="embeddings CSV to show instead of the model's default")
    p.add_argument("--checkpoint-path", metavar="FILE", help="checkpoint for generation (overrides config.json)")
    p.add_argument("--adapter", metavar="NAME", help="adapter name (overrides config.json)")
    p.add_argument("--device", metavar="DEV", help="cuda, mps or cpu (default: auto-detected)")
    p.add_argument("--num-steps", type=int, metavar="N", help="default number of denoising steps")
    p.add_argument("--guidance-scale", type=float, metavar="G", help="default classifier-free guidance scale")
    p.add_argument("--model", "-m", metavar="NAME", help="model folder to show first")
    p.add_argument("--session", metavar="FILE", help="restore a saved session (data, selection, trajectories, camera)")
    p.add_argument("--screenshot", metavar="PNG", help="render the window after the first full frame, save it, exit")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("viz", help="launch the desktop explorer (same options as diffviews-desktop)")
    add_viz_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = entry_points(group=APP_ENTRY_POINT_GROUP, name=APP_ENTRY_POINT)
    if not found:
        print(f"diffviews: error: the desktop app is not installed (no {APP_ENTRY_POINT!r} entry point in the "
              f"{APP_ENTRY_POINT_GROUP!r} group); install diffviews-desktop with PySide6 and vispy", file=sys.stderr)  # fmt: skip
        return 2
    try:
        launch = next(iter(found)).load()
    except ImportError as exc:
        print(f"diffviews: error: the desktop app is not available ({exc}); install PySide6 and vispy", file=sys.stderr)
        return 2
    return launch(args)
