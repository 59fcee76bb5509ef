"""Builds beyond one process: ``diffviews build --shard i/N`` / ``--engine ray`` options, and ``diffviews merge``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge",
        help="join the shards of a sharded or Ray build into one dataset (verified)",
        description="Check every shard of the build in OUTPUT against the checksums it recorded, then write the "
        "dataset (the same bytes a single-process build writes) with its manifest. Lists the missing shards "
        "if some are not built yet. Needs no model.",
    )
    p.add_argument("output", type=Path, help="the dataset folder the shards were built into")
    p.add_argument("--keep-shards", action="store_true", help="keep the shards folder after merging")
    p.add_argument("--status", action="store_true", help="only report which shards are built and which are missing")
    p.set_defaults(func=run_merge)


def add_build_options(p: argparse.ArgumentParser) -> None:
    """The options of ``diffviews build`` for reductions, sharded and Ray builds."""
    g = p.add_argument_group("reduction (rows that fit: recorded per layer in the manifest)")
    g.add_argument("--reduce", default=None, metavar="SPEC",
                   help="store every layer reduced: 'mean' (spatial mean pooling) or 'pca:D' (a PCA sketch to D "
                   "dimensions fitted on a sample of the rows); per layer: 'midblock=pca:64,encoder_bottleneck=mean'")  # fmt: skip
    g.add_argument("--float16", action="store_true", help="store the reduced layers as float16")
    g.add_argument("--reduce-fit-rows", type=int, default=2048, metavar="N",
                   help="rows a PCA sketch is fitted on (default: %(default)s)")  # fmt: skip
    g = p.add_argument_group("more than one process")
    g.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process; ray: a Ray Data pipeline on a local Ray instance or the cluster at "
                   "--address (needs pip install 'diffviews-desktop[cluster]') (default: %(default)s)")  # fmt: skip
    g.add_argument("--shard", default=None, metavar="i/N",
                   help="build only shard i of N (0-based) in this process, without Ray (e.g. one task of a Slurm "
                   "array); run `diffviews merge OUTPUT` once all are built")  # fmt: skip
    g.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray instance)")
    g.add_argument("--workers", type=int, default=2, help="Ray model-forward actors (default: %(default)s)")
    g.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray actor (default: %(default)s)")
    g.add_argument("--threads", type=int, default=None,
                   help="torch threads per forward pass (default: DIFFVIEWS_THREADS, else half the CPUs; Ray actors: "
                   "1). Rows are byte-identical across engines when this is the same")  # fmt: skip
    g.add_argument("--shard-batches", type=int, default=16,
                   help="with --engine ray: batches per shard, the unit of resume (default: %(default)s)")  # fmt: skip
    g.add_argument("--no-merge", action="store_true", help="with --engine ray: leave the shards for `diffviews merge`")


def check_build_options(args: argparse.Namespace) -> None:
    if args.shard and args.engine == "ray":
        raise SystemExit("diffviews build: error: --shard runs one shard without Ray; drop --engine ray")
    if args.engine != "ray" and (args.address or args.no_merge):
        raise SystemExit("diffviews build: error: --address and --no-merge apply to --engine ray")


def run_scaled_build(args: argparse.Namespace, spec, adapter) -> int:
    """A sharded (``--shard i/N``) or Ray (``--engine ray``) build of ``spec``."""
    from ._progress import progress_bar

    if args.shard:
        return _run_shard(args, spec, adapter)
    from ..pipelines.ray_build import build_with_ray

    try:
        with progress_bar(f"building {args.output.name}") as progress:
            report = build_with_ray(spec, address=args.address, workers=args.workers,
                                    gpus_per_worker=args.gpus_per_worker, threads_per_worker=args.threads or 1,
                                    shard_batches=args.shard_batches, merge=not args.no_merge, adapter=adapter,
                                    progress=progress)  # fmt: skip
    except KeyboardInterrupt:
        print(f"stopped; run the same command again to resume the build in {args.output}")
        raise
    rate = f", {report.batches_run / report.seconds:.2f} batches/s" if report.batches_run else ""
    print(f"{report.batches_run} batches in {report.seconds:.1f} s on {report.workers} Ray workers{rate}")
    print(f"dataset written to {report.path}" if not args.no_merge else
          f"{report.shards} shards in {report.path / 'shards'}: run `diffviews merge {report.path}`")  # fmt: skip
    return 0


def _run_shard(args: argparse.Namespace, spec, adapter) -> int:
    from ..pipelines.merge import merge_state
    from ..pipelines.shards import ShardedBuild, parse_shard
    from ._progress import progress_bar

    try:
        index, count = parse_shard(args.shard)
    except ValueError as exc:
        raise SystemExit(f"diffviews build: error: {exc}") from None
    build = ShardedBuild(spec, count, adapter=adapter)
    if build.finished:
        print(f"{args.output} is already built and merged")
        return 0
    try:
        with progress_bar(f"building {args.output.name}") as progress:
            path = build.build_shard(index, progress=progress)
    except KeyboardInterrupt:
        print(f"stopped; run the same command again to build shard {index}/{count} of {args.output}")
        raise
    state = merge_state(args.output)
    print(f"shard {index}/{count} written to {path}; {state['done']} of {count} shards built")
    if not state["missing"]:
        print(f"all shards are built: run `diffviews merge {args.output}`")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from ..formats import native
    from ..pipelines.merge import merge_shards, merge_state

    if args.status:
        if native.is_native(args.output) and not (args.output / "shards").is_dir():
            print(f"{args.output}: merged")
            return 0
        state = merge_state(args.output)
        missing = ", ".join(f"{i}/{state['count']}" for i in state["missing"]) or "none"
        print(f"{args.output}: {state['done']} of {state['count']} shards built; missing: {missing}")
        return 0
    path = merge_shards(args.output, keep_shards=args.keep_shards)
    manifest = native.read_manifest(path)
    print(f"merged into {path}: {manifest['num_samples']} rows, checksums verified")
    return 0
