"""``diffviews checkpoint inspect|convert``: look inside a checkpoint safely, or turn it into safetensors + JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._output import json_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("checkpoint", help="inspect or convert EDM/DMD2 checkpoints (nothing stored in them runs)")
    actions = p.add_subparsers(dest="checkpoint_command", metavar="ACTION", required=True)

    inspect = actions.add_parser("inspect", help="format, class tree, parameter count, key hash, known architecture")
    inspect.add_argument("file", type=Path, help=".pkl (EDM persistence), .pt/.pth/.bin (state dict) or .safetensors")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(func=run_inspect)

    convert = actions.add_parser("convert", help="write safetensors + JSON config, so loads need no pickle at all")
    convert.add_argument("file", type=Path, help="the checkpoint to convert")
    convert.add_argument("out", type=Path, help="output .safetensors file (or a folder); the .json goes beside it")
    convert.add_argument(
        "--adapter",
        default="dmd2-imagenet-64",
        help="whose default architecture a bare state dict has (default: %(default)s); pickles carry their own",
    )
    convert.set_defaults(func=run_convert)


def run_inspect(args: argparse.Namespace) -> int:
    from ..checkpoints import inspect_checkpoint

    summary = inspect_checkpoint(args.file)
    if args.json:
        print(json_text(summary))
        return 0
    rows = [
        ("file", summary["file"]),
        ("format", summary["format"]),
        ("size", f"{summary['size_bytes'] / 1e6:.1f} MB"),
        ("tensors", summary["tensors"]),
        ("parameters", f"{summary['parameters']:,}"),
        ("key hash", summary["key_hash"]),
        ("architecture", summary["architecture"] or "unknown"),
        ("ImageNet-64", "yes" if summary["imagenet64"] else "no"),
        ("config", f"{summary['config_source'] or 'none (adapter default)'}"),
    ]
    if "top_level" in summary:
        rows.append(("top level", ", ".join(f"{k}: {v}" for k, v in summary["top_level"].items())))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if summary.get("class_tree"):
        print("class tree:")
        for line in summary["class_tree"]:
            print(f"  {line}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from ..adapters import get_adapter
    from ..checkpoints import convert_checkpoint

    default = get_adapter(args.adapter).get_default_config().get("network")
    info = convert_checkpoint(args.file, args.out, default_config=default)
    print(f"wrote {info['output']} and {info['config_file']} (from {info['format']})")
    return 0
