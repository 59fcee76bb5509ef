"""``diffviews demo``: train the embedded demo model, rebuild its shipped data directory, build the full demo."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train the Fashion-MNIST demo model or rebuild the shipped demo")
    demo_sub = p.add_subparsers(dest="demo_command", metavar="ACTION", required=True)

    t = demo_sub.add_parser("train", help="train the demo model (seeded, resumable, with progress)")
    t.add_argument("--out", type=Path, help="weights file to write (default: the shipped demo model)")
    _train_options(t)
    t.set_defaults(func=run_train)

    r = demo_sub.add_parser("rebuild", help="train (or reuse) the demo model, then rebuild the demo data directory")
    r.add_argument("--out-dir", type=Path, help="demo folder to write (default: the shipped one)")
    r.add_argument("--retrain", action="store_true", help="train even if the weights exist")
    r.add_argument("--per-class", type=int, help="real images per class in the data directory")
    _train_options(r)
    r.set_defaults(func=run_rebuild)

    f = demo_sub.add_parser("full", help="build the full demo (3,200 samples) into the user cache, resumably")
    f.add_argument("--out-dir", type=Path, help="data root to build into (default: <user cache>/demo-full)")
    f.set_defaults(func=run_full)

    g = demo_sub.add_parser("grid", help="write a class-by-row grid of demo samples as PNG")
    g.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="output PNG")
    g.add_argument("--per-class", type=int, default=10, help="samples per class (default: 10)")
    g.add_argument("--seed", type=int, default=0, help="seed of class 0; class c uses seed + c (default: 0)")
    g.set_defaults(func=run_grid)


def _train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="training steps (default: 1000)")
    p.add_argument("--batch-size", type=int, help="batch size (default: 64)")
    p.add_argument("--seed", type=int, help="random seed (default: 0)")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoint file if present")
    p.add_argument("--state", type=Path, help="resumable training state (default: in the user cache)")
    p.add_argument("--fashion-mnist", type=Path, metavar="DIR", help="folder of the Fashion-MNIST idx files")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")


def _train(args: argparse.Namespace, out: Path) -> Path:
    import torch
    from tqdm import tqdm

    from ..demo.fashion_mnist import load_fashion_mnist
    from ..demo.train import settings_from_kwargs, train_demo
    from ..paths import cache_dir

    torch.set_num_threads(max(1, args.threads))
    settings = settings_from_kwargs(steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    state = args.state or cache_dir() / "demo" / f"{out.stem}.train.safetensors"
    images, labels = load_fashion_mnist("train", args.fashion_mnist)
    with tqdm(total=settings.steps, desc="training demo", unit="step") as bar:

        def progress(p) -> None:
            bar.n = p.step
            bar.set_postfix(loss=f"{p.loss:.4f}", refresh=False)
            bar.refresh()

        train_demo(out, settings, resume=args.resume, state_path=state, images=images, labels=labels, callback=progress)
    print(f"wrote {out} and {out.with_suffix('.json').name} (resumable state: {state})")
    return out


def run_train(args: argparse.Namespace) -> int:
    from ..demo import demo_paths

    _train(args, args.out or demo_paths().model)
    return 0


def run_rebuild(args: argparse.Namespace) -> int:
    from ..demo import demo_paths
    from ..pipelines.demo_build import FULL_PER_CLASS, build_demo_data, write_full_images
    from ._progress import progress_bar

    paths = demo_paths()
    out_dir = args.out_dir or paths.root
    model = out_dir / paths.model.name
    if args.retrain or not model.is_file():
        _train(args, model)
    else:
        print(f"reusing {model} (--retrain to train again)")
    with progress_bar("building demo data") as progress:
        report = build_demo_data(
            model, out_dir / paths.data_dir.name, args.per_class, fashion_mnist=args.fashion_mnist, progress=progress
        )
    for line in report.lines():
        print(line)
    full = write_full_images(out_dir / paths.full_images.name, args.fashion_mnist)
    print(f"wrote {full} (the full demo's {FULL_PER_CLASS} test images per class)")
    return 0


def run_full(args: argparse.Namespace) -> int:
    import time

    import torch

    from ..pipelines.demo_build import build_full_demo_report, full_demo_root
    from ._progress import progress_bar

    torch.set_num_threads(1)
    started = time.perf_counter()
    with progress_bar("building the full demo") as progress:
        report = build_full_demo_report(args.out_dir, progress=progress)
    root = full_demo_root(args.out_dir)
    if report is None:
        print(f"the full demo is already built in {root} (delete that folder to rebuild it)")
    else:
        for line in report.lines():
            print(line)
        print(f"built in {time.perf_counter() - started:.0f} s")
    print(f"open it with: diffviews-desktop --data-dir {root}")
    return 0


def run_grid(args: argparse.Namespace) -> int:
    import torch

    from ..adapters import get_adapter
    from ..demo import DEMO_ADAPTER, DEMO_GENERATION, demo_model_path
    from ..demo.grid import class_grid
    from ..demo.images import write_png

    torch.set_num_threads(1)
    adapter = get_adapter(DEMO_ADAPTER).from_checkpoint(demo_model_path())
    write_png(args.out, class_grid(adapter, per_class=args.per_class, seed=args.seed))
    s = DEMO_GENERATION
    print(
        f"wrote {args.out}: rows = classes 0-9, {args.per_class} samples each ({s['sampler']} {s['num_steps']} "
        f"steps, guidance {s['guidance_scale']})"
    )
    return 0
