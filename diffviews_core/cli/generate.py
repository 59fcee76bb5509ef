"""``diffviews generate``: one image from the demo, a checkpoint, or a model of a data directory, as a PNG.

The same seed and settings give the same PNG bytes (CPU sampling is deterministic and the PNG has no timestamp).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate one image with the demo model, a checkpoint or a data directory")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--demo", action="store_true", help="the embedded Fashion-MNIST demo model")
    src.add_argument("--checkpoint", type=Path, metavar="PATH", help="weights file (with --adapter)")
    src.add_argument("--data-dir", type=Path, metavar="D", help="data directory (with --model)")
    p.add_argument("--adapter", default="edm", help="adapter name for --checkpoint (default: edm)")
    p.add_argument("--model", metavar="M", help="model name inside --data-dir (default: its only model)")
    p.add_argument("--class", dest="class_label", type=int, default=0, metavar="N", help="class index (-1: uniform)")
    p.add_argument("--steps", type=int, metavar="S", help="denoising steps (default: the model's)")
    p.add_argument("--seed", type=int, default=0, metavar="K", help="random seed (default: 0)")
    p.add_argument("--guidance", type=float, metavar="G", help="classifier-free guidance scale (default: the model's)")
    p.add_argument("--sampler", choices=("fewstep", "heun"), help="sampler (default: the model's)")
    p.add_argument("--scale", type=int, default=1, metavar="F", help="enlarge the PNG F times (nearest neighbour)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="output PNG")
    p.set_defaults(func=run)


def _resolve(args: argparse.Namespace) -> tuple[object, dict]:
    """The adapter to sample with and the model's default settings (sampler, steps, guidance)."""
    from ..adapters import get_adapter
    from ..errors import DataError

    if args.demo:
        from ..demo import DEMO_ADAPTER, DEMO_GENERATION, demo_model_path

        return get_adapter(DEMO_ADAPTER).from_checkpoint(demo_model_path()), dict(DEMO_GENERATION)
    if args.checkpoint is not None:
        adapter = get_adapter(args.adapter).from_checkpoint(args.checkpoint)
        return adapter, {}
    from ..formats import open_data

    root = open_data(args.data_dir)
    if args.model is None and len(root.models) == 1:
        model = next(iter(root.models.values()))
    elif args.model in root.models:
        model = root.models[args.model]
    else:
        known = ", ".join(root.models) or "none"
        problem = root.problems.get(args.model or "", "")
        raise DataError(args.data_dir, f"choose a model with --model ({known}){'; ' + problem if problem else ''}")
    cfg = model.config
    if cfg.get("checkpoint") is None:
        raise DataError(model.path / "config.json", "no checkpoint for this model")
    adapter = get_adapter(cfg.get("adapter", "edm")).from_checkpoint(cfg["checkpoint"])
    defaults = {"num_steps": cfg.get("default_steps"), "guidance_scale": cfg.get("default_guidance")}
    if cfg.get("sampler"):
        defaults["sampler"] = cfg["sampler"]
    return adapter, {k: v for k, v in defaults.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core import generate_with_mask_multistep
    from ..demo.images import upscale, write_png

    torch.set_num_threads(1)  # one image is fastest on one thread; more threads thrash on a busy CPU
    adapter, defaults = _resolve(args)
    result = generate_with_mask_multistep(
        adapter,
        None,
        class_label=args.class_label,
        num_steps=args.steps or defaults.get("num_steps"),
        guidance_scale=args.guidance if args.guidance is not None else defaults.get("guidance_scale", 1.0),
        sampler=args.sampler or defaults.get("sampler"),
        seed=args.seed,
    )
    write_png(args.out, upscale(result.images[0], max(1, args.scale)))
    s = result.settings
    print(
        f"wrote {args.out} (class {args.class_label}, {s['sampler']} {s['num_steps']} steps, "
        f"guidance {s['guidance_scale']}, seed {s['seed']})"
    )
    return 0
