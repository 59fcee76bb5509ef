"""``diffviews-desktop``: parse the options, build the window, open the data, run (or screenshot and exit)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from diffviews_core.cli.viz import add_viz_arguments


def build_parser() -> argparse.ArgumentParser:
    from diffviews_core import __version__

    parser = argparse.ArgumentParser(prog="diffviews-desktop", description="DiffViews Desktop explorer.")
    parser.add_argument("--version", action="version", version=f"diffviews-desktop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    add_viz_arguments(parser)
    return parser


def launch(args: argparse.Namespace) -> int:
    """Run the app with parsed options; returns the exit code (screenshot mode: 0 once the PNG is saved)."""
    from .app import run_app
    from .options import LaunchOptions

    return run_app(LaunchOptions.from_args(args))


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # first: in a frozen app, a spawned worker process runs its job here and exits
    from diffviews_core.device import limit_blas_threads

    limit_blas_threads()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    return launch(args)


if __name__ == "__main__":
    sys.exit(main())
