"""``diffviews adapters``: list the registered adapters and their layers."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("adapters", help="list registered adapters (built-in and entry points)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..adapters import get_adapter, list_adapters

    rows = {name: get_adapter(name).get_default_config() for name in list_adapters()}
    if args.json:
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "network"} for k, v in rows.items()}, indent=2))
    else:
        for name, cfg in rows.items():
            print(f"{name:20s} sampler={cfg.get('sampler')} steps={cfg.get('num_steps')}")
    return 0
