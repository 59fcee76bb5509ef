"""Launch options of the desktop app (``diffviews-desktop`` and ``diffviews viz``), and where data comes from."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class LaunchOptions:
    """What the command line asked for; generation settings are kept for the generation dock."""

    data_dir: Path | None = None
    embeddings: Path | None = None
    checkpoint_path: Path | None = None
    adapter: str | None = None
    device: str | None = None
    num_steps: int | None = None
    guidance_scale: float | None = None
    model: str | None = None
    screenshot: Path | None = None
    session: Path | None = None
    theme: str | None = None  # for this run only; View > Theme remembers the user's choice

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LaunchOptions:
        def path(value) -> Path | None:
            return Path(value).expanduser() if value else None

        return cls(
            data_dir=path(args.data_dir),
            embeddings=path(args.embeddings),
            checkpoint_path=path(args.checkpoint_path),
            adapter=args.adapter,
            device=args.device,
            num_steps=args.num_steps,
            guidance_scale=args.guidance_scale,
            model=args.model,
            screenshot=path(getattr(args, "screenshot", None)),
            session=path(getattr(args, "session", None)),
            theme=getattr(args, "theme", None),
        )


def demo_data_dir() -> Path | None:
    """The embedded demo's data root when it is installed (a bare checkout may lack it)."""
    try:
        from diffviews_resources import demo_paths
    except ImportError:
        return None
    data = demo_paths().data_dir
    return data if data.is_dir() and any(data.iterdir()) else None


def default_data_dir() -> Path | None:
    """Where to look when no --data-dir is given: the demo, else the user data root if it holds anything."""
    demo = demo_data_dir()
    if demo is not None:
        return demo
    from diffviews_core.paths import data_root

    root = data_root()
    if root.is_dir() and any(p.is_dir() for p in root.iterdir()):
        return root
    log.info("no demo and nothing under %s", root)
    return None
