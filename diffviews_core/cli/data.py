"""``diffviews info``, ``diffviews convert`` and ``diffviews build``: inspect, convert and create data folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._output import json_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="list the models of a data folder: points, layers, shapes, problems",
        description="Open a data root (one folder per model) or one model folder and report what "
        "it holds. Exit status 4 when a model could not be opened.",
    )
    p.add_argument("data_dir", type=Path, help="data root or model folder")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--verify", action="store_true", help="also check SHA-256 checksums of project-format datasets")
    p.set_defaults(func=run_info)

    p = sub.add_parser(
        "convert",
        help="convert .npz activations to memory-mapped .npy (much faster to open)",
        description="Convert each activations/<type>/*.npz into .npy + .npy.json (layers "
        "concatenated in sorted name order). The .npz is deleted afterwards unless --keep-npz.",
    )
    p.add_argument("data_dir", type=Path, help="model folder (e.g. data/dmd2) or data root (converts every model)")
    p.add_argument(
        "--model-type",
        default=None,
        help="activation subfolder (default: the model's dataset_type, else imagenet_real)",
    )
    p.add_argument("--keep-npz", action="store_true", help="keep the original .npz files after conversion")
    p.set_defaults(func=run_convert)

    p = sub.add_parser(
        "build",
        help="build a dataset: noised images -> layer activations (resumable)",
        description="Feed each clean image at each noise level (x = image + sigma * eps, seeded) "
        "through the model and store the chosen layers' activations, the images and the metadata "
        "in OUTPUT (the project's format, docs/data-format.md). Interrupted builds resume when the "
        "same command is run again.",
    )
    p.add_argument("output", type=Path, help="new model folder to create (e.g. data/my_model)")
    p.add_argument("--adapter", required=True, help="adapter name (see `diffviews adapters`)")
    p.add_argument("--checkpoint", type=Path, required=True, help="model weights (.safetensors or weights-only .pt)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--images",
        type=Path,
        help="folder of <class>/*.png; ImageNet synset folders (train/n01440764/*.JPEG); an .npz with 'images' and "
        "'labels'; Downsampled ImageNet .npz batches ('data', 'labels') or a folder of them; or an LMDB "
        "(images_{i}_data / labels_{i}_data rows, needs the [lmdb] extra). Read streaming",
    )
    src.add_argument("--generate", type=int, metavar="N", help="generate N images per class with the model")
    p.add_argument(
        "--classes",
        default=None,
        help="comma-separated class numbers to take (ImageNet sources: standard ImageNet-1k numbers; default: all)",
    )
    p.add_argument(
        "--label-map",
        type=Path,
        default=None,
        metavar="FILE",
        help="class order of a Downsampled ImageNet or LMDB source that is not the usual one: synset ids, one per "
        "source class (JSON list, JSON {index: synset or [synset, name]}, or text one per line)",
    )
    p.add_argument("--generate-steps", type=int, default=None, help="with --generate: denoising steps")
    p.add_argument("--sigmas", default="80,14,1.9,0.62", help="noise levels in sigma units (default: %(default)s)")
    p.add_argument(
        "--layers", default="encoder_bottleneck,midblock", help="comma-separated layers (default: %(default)s)"
    )
    p.add_argument(
        "--label-mode",
        choices=["true", "null", "both"],
        default="null",
        help="class label given to the model: the true one, the null label, or both as separate rows "
        "(default: %(default)s; with true labels activations cluster by label at every noise level)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="noise seed, recorded in the manifest (default: %(default)s)")
    p.add_argument(
        "--per-class", type=int, default=None, help="use only the first N images of each class (in source order)"
    )
    p.add_argument("--dataset-type", default="custom", help="name of the image subfolder (default: %(default)s)")
    p.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (default: %(default)s)")
    from .cluster import add_build_options

    add_build_options(p)
    p.set_defaults(func=run_build)


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    return value


def describe(root) -> dict:
    """What ``info`` reports, as plain JSON-able data."""
    models = {}
    for name, m in root.models.items():
        models[name] = {
            "path": str(m.path),
            "format": "diffviews" if m.is_native else "original",
            "num_samples": m.num_samples,
            "num_classes": int(len(set(m.samples.class_label.tolist()))) if m.samples.has_classes else 0,
            "labels": "class" if m.samples.has_classes else "caption",
            "noise_levels": sorted({float(s) for s in m.samples.conditioning_sigma if s == s}, reverse=True),
            "layers": {k: list(v) for k, v in m.layer_shapes.items()},
            "reductions": {
                k: v["reduction"]
                for k, v in (m.manifest or {}).get("layers", {}).items()
                if isinstance(v, dict) and v.get("reduction")
            },  # fmt: skip
            "activations_memory_mapped": m.memory_mapped,
            "embeddings": m.embedding_names,
            "config": {k: _jsonable(v) for k, v in m.config.items()},
            "warnings": list(m.warnings),
        }
    return {
        "path": str(root.path),
        "models": models,
        "problems": dict(root.problems),
        "num_class_names": len(root.class_names or {}),
    }


def run_info(args: argparse.Namespace) -> int:
    from ..formats import open_data

    root = open_data(args.data_dir)
    report = describe(root)
    if args.verify:
        for name, m in root.models.items():
            report["models"][name]["checksum_problems"] = m.verify()
    if args.json:
        print(json_text(report))
    else:
        print(f"{report['path']}: {len(root.models)} model(s), {len(root.problems)} problem(s)")
        for name, r in report["models"].items():
            cfg = r["config"]
            labels = f"{r['num_classes']} classes" if r["labels"] == "class" else "captions (text-conditioned)"
            print(
                f"\n{name}  [{r['format']}]  {r['num_samples']} points, {labels}, "
                f"adapter {cfg['adapter']}, checkpoint {cfg['checkpoint'] or 'none'}"
            )
            levels = ", ".join(f"{s:g}" for s in r["noise_levels"])
            print(f"  noise levels: {levels or '-'}")
            mapped = "memory-mapped" if r["activations_memory_mapped"] else "read into memory"
            print(f"  layers ({mapped}):" if r["layers"] else "  layers: none stored")
            for layer, shape in r["layers"].items():
                red = r["reductions"].get(layer)
                how = f"  {red['method']} of {tuple(red['source_shape'])}, {red['dtype']}" if red else ""
                print(f"    {layer:24s} {tuple(shape)}{how}")
            print(f"  embeddings: {', '.join(r['embeddings']) or 'none (run diffviews embed)'}")
            for w in r["warnings"] + r.get("checksum_problems", []):
                print(f"  warning: {w}")
        if root.problems:
            print("\nproblems:")
            for name, reason in root.problems.items():
                print(f"  {name}: {reason}")
    failed = root.problems or any(r.get("checksum_problems") for r in report["models"].values())
    return 4 if failed else 0


def run_convert(args: argparse.Namespace) -> int:
    from ..errors import DataError
    from ..formats.native import is_native
    from ..formats.root import is_model_dir
    from ..pipelines.convert import convert_model

    path = args.data_dir
    if not path.is_dir():
        raise DataError(path, "no such folder")
    try:
        models = [path] if is_model_dir(path) else sorted(p for p in path.iterdir() if p.is_dir() and is_model_dir(p))
    except OSError as exc:
        raise DataError(path, f"cannot list the folder: {exc.strerror or exc}") from None
    if not models:
        raise DataError(path, "no model folders here (a model folder has config.json or manifest.json)")

    def report(npz: Path, what: str) -> None:
        note = "" if what == "skipped" else (" (kept .npz)" if args.keep_npz else " (removed .npz)")
        print(f"  {what} {npz.name}{note}")

    for model in models:
        folder = model / "activations"
        if is_native(model):
            print(f"{model.name}: already in DiffViews' own format (memory-mappable .npy), nothing to convert")
            continue
        if not folder.is_dir():
            print(f"{model.name}: no activations folder, nothing to convert")
            continue
        print(f"{model.name}:")
        converted = convert_model(model, keep_npz=args.keep_npz, dataset_type=args.model_type, on_file=report)
        print(f"  {len(converted)} file(s) converted")
    return 0


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"diffviews build: error: --sigmas must be comma-separated numbers, got {text!r}") from None


def _ints(text: str, option: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"diffviews build: error: {option} must be comma-separated numbers, got {text!r}") from None


def run_build(args: argparse.Namespace) -> int:
    from ..adapters import get_adapter
    from ..device import pick_device, set_torch_threads
    from ..formats.reduction import parse_reductions
    from ..pipelines.builder import BuildSpec, build_dataset
    from ..pipelines.source_paths import source_from
    from ..pipelines.sources import GeneratedSource
    from ._progress import progress_bar
    from .cluster import check_build_options, run_scaled_build

    check_build_options(args)
    classes = _ints(args.classes, "--classes") if args.classes else None
    if args.generate is not None:
        source = GeneratedSource(
            per_class=args.generate, classes=classes, num_steps=args.generate_steps, seed=args.seed
        )
    else:
        source = source_from(args.images, classes=classes, label_map=args.label_map)
    device = pick_device(args.device)
    set_torch_threads(args.threads)
    adapter = get_adapter(args.adapter).from_checkpoint(args.checkpoint, device=device)
    layers = [x.strip() for x in args.layers.split(",") if x.strip()]
    try:
        reductions = parse_reductions(args.reduce, layers, args.float16)
    except ValueError as exc:
        raise SystemExit(f"diffviews build: error: {exc}") from None
    spec = BuildSpec(
        output=args.output,
        source=source,
        sigmas=_floats(args.sigmas),
        layers=layers,
        adapter=args.adapter,
        checkpoint=args.checkpoint,
        batch_size=args.batch_size,
        label_mode=args.label_mode,
        seed=args.seed,
        per_class=args.per_class,
        dataset_type=args.dataset_type,
        device=device,
        reductions=reductions,
        reduction_fit_rows=args.reduce_fit_rows,
    )
    if args.engine == "ray" or args.shard:
        return run_scaled_build(args, spec, adapter)
    try:
        with progress_bar(f"building {args.output.name}") as progress:
            path = build_dataset(spec, adapter=adapter, progress=progress)
    except KeyboardInterrupt:
        print(f"stopped; run the same command again to resume the build in {args.output}")
        raise
    print(f"dataset written to {path}")
    return 0
