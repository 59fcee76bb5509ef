"""``diffviews info``, ``diffviews convert`` and ``diffviews build``: inspect, convert and create data folders."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="list the models of a data folder: points, layers, shapes, problems",
                       description="Open a data root (one folder per model) or one model folder and report what "
                       "it holds. Exit status 4 when a model could not be opened.")
    p.add_argument("data_dir", type=Path, help="data root or model folder")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--verify", action="store_true", help="also check SHA-256 checksums of project-format datasets")
    p.set_defaults(func=run_info)

    p = sub.add_parser("convert", help="convert .npz activations to memory-mapped .npy (much faster to open)",
                       description="Convert each activations/<type>/*.npz into .npy + .npy.json (layers "
                       "concatenated in sorted name order). The .npz is deleted afterwards unless --keep-npz.")
    p.add_argument("data_dir", type=Path, help="model folder (e.g. data/dmd2) or data root (converts every model)")
    p.add_argument("--model-type", default=None, help="activation subfolder (default: the model's dataset_type, "
                   "else imagenet_real)")
    p.add_argument("--keep-npz", action="store_true", help="keep the original .npz files after conversion")
    p.set_defaults(func=run_convert)


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def describe(root) -> dict:
    """What ``info`` reports, as plain JSON-able data."""
    models = {}
    for name, m in root.models.items():
        models[name] = {
            "path": str(m.path),
            "format": "diffviews" if m.is_native else "original",
            "num_samples": m.num_samples,
            "num_classes": int(len(set(m.samples.class_label.tolist()))),
            "noise_levels": sorted({float(s) for s in m.samples.conditioning_sigma if s == s}, reverse=True),
            "layers": {k: list(v) for k, v in m.layer_shapes.items()},
            "activations_memory_mapped": m.memory_mapped,
            "embeddings": m.embedding_names,
            "config": _jsonable({k: v for k, v in m.config.items()}),
            "warnings": list(m.warnings),
        }
    return {"path": str(root.path), "models": models, "problems": dict(root.problems),
            "num_class_names": len(root.class_names or {})}


def run_info(args: argparse.Namespace) -> int:
    from ..store import open_data

    root = open_data(args.data_dir)
    report = describe(root)
    if args.verify:
        for name, m in root.models.items():
            report["models"][name]["checksum_problems"] = m.verify()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['path']}: {len(root.models)} model(s), {len(root.problems)} problem(s)")
        for name, r in report["models"].items():
            cfg = r["config"]
            print(f"\n{name}  [{r['format']}]  {r['num_samples']} points, {r['num_classes']} classes, "
                  f"adapter {cfg['adapter']}, checkpoint {cfg['checkpoint'] or 'none'}")
            levels = ", ".join(f"{s:g}" for s in r["noise_levels"])
            print(f"  noise levels: {levels or '-'}")
            mapped = "memory-mapped" if r["activations_memory_mapped"] else "read into memory"
            print(f"  layers ({mapped}):" if r["layers"] else "  layers: none stored")
            for layer, shape in r["layers"].items():
                print(f"    {layer:24s} {tuple(shape)}")
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
    from ..store.convert import convert_model
    from ..store.root import is_model_dir

    path = args.data_dir
    if not path.is_dir():
        raise DataError(path, "no such folder")
    models = [path] if is_model_dir(path) else sorted(p for p in path.iterdir() if p.is_dir() and is_model_dir(p))
    if not models:
        raise DataError(path, "no model folders here (a model folder has config.json)")

    def report(npz: Path, what: str) -> None:
        note = "" if what == "skipped" else (" (kept .npz)" if args.keep_npz else " (removed .npz)")
        print(f"  {what} {npz.name}{note}")

    for model in models:
        folder = model / "activations"
        if not folder.is_dir():
            print(f"{model.name}: no activations folder, nothing to convert")
            continue
        print(f"{model.name}:")
        converted = convert_model(model, keep_npz=args.keep_npz, dataset_type=args.model_type, on_file=report)
        print(f"  {len(converted)} file(s) converted")
    return 0
