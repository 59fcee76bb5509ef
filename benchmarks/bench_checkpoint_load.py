"""Load time and peak memory of a full-size (295.9M-parameter) ImageNet-64 checkpoint in each supported format.

Writes a synthetic checkpoint as an EDM persistence pickle, a DMD2-style torch.save state dict and safetensors to a
temporary folder, then loads each in a fresh subprocess started from this small, torch-free process (Linux keeps
``ru_maxrss`` across fork and exec, so each figure is that load's own peak). Baseline, in the same run: a bare
``torch.load(weights_only=True)`` of the state dict, with no network built.

    python3 benchmarks/bench_checkpoint_load.py [--keep DIR] [--smoke]

``--smoke`` runs every step on the tiny configuration (seconds; CI runs it so the benchmark keeps working).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def network_configs(name: str) -> tuple[dict, dict]:
    """(architecture written, default architecture given to the loader) of a benchmark size."""
    from diffviews_core import networks

    if name == "tiny":
        return networks.TINY, networks.TINY
    return networks.IMAGENET64_EDM, networks.IMAGENET64_DMD2


def child(path: Path, mode: str, config: str) -> None:
    """Runs in a fresh process: one load, then report time, memory and a checksum as JSON."""
    import torch

    from diffviews_core.checkpoints import load_network

    torch.set_num_threads(1)
    base = _rss_mb()
    start = time.perf_counter()
    if mode == "raw":
        sd = torch.load(path, map_location="cpu", weights_only=True)
    else:
        net, _ = load_network(path, default_config=network_configs(config)[1])
        sd = net.state_dict()
    seconds = time.perf_counter() - start
    peak = _rss_mb()
    checksum = sum(float(v.sum(dtype=torch.float64)) for v in sd.values())  # touches every weight once
    used = _rss_mb()
    print(json.dumps({"seconds": seconds, "import_mb": base, "peak_mb": peak, "used_mb": used, "checksum": checksum}))


PATHS = {
    "persistence .pkl": "edm-imagenet-64.pkl",
    "state dict .bin": "pytorch_model.bin",
    "safetensors": "dmd2.safetensors",
}


def write_checkpoints(folder: Path, config: str) -> None:
    """Runs in a subprocess: the same random network in the three formats; reports weight size and checksum."""
    import torch

    sys.path.insert(0, str(REPO / "tests" / "helpers"))
    from checkpoint_fixtures import edm_snapshot, write_edm_pickle

    from diffviews_core.checkpoints import save_network
    from diffviews_core.networks import build_edm

    torch.set_num_threads(1)
    architecture = network_configs(config)[0]
    net = build_edm(architecture).eval()
    sd = net.state_dict()
    weights_mb = sum(v.numel() * v.element_size() for v in sd.values()) / 2**20
    checksum = sum(float(v.sum(dtype=torch.float64)) for v in sd.values())
    paths = {name: folder / file for name, file in PATHS.items()}
    write_edm_pickle(paths["persistence .pkl"], edm_snapshot(net), architecture, tripwire=folder / "TRIPWIRE")
    torch.save(sd, paths["state dict .bin"])
    save_network(net, paths["safetensors"], architecture)
    print(json.dumps({"weights_mb": weights_mb, "checksum": checksum}))


def run_child(*args: str) -> dict:
    cmd = [sys.executable, __file__, *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="load", help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, help="write the checkpoints here and keep them")
    parser.add_argument("--smoke", action="store_true", help="the tiny configuration instead of ImageNet-64 (CI)")
    parser.add_argument("--config", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = args.config or ("tiny" if args.smoke else "imagenet64")
    if args.child:
        child(args.child, args.mode, config)
        return
    if args.write:
        write_checkpoints(args.write, config)
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        written = run_child("--write", str(folder), "--config", config)
        weights_mb, checksum = written["weights_mb"], written["checksum"]
        paths = {name: folder / file for name, file in PATHS.items()}
        print(f"wrote 3 checkpoints of {weights_mb:,.0f} MiB weights in {time.perf_counter() - start:.1f} s\n")
        rows = [("baseline: torch.load .bin, no network", paths["state dict .bin"], "raw")]
        rows += [(f"load_network {name}", path, "load") for name, path in paths.items()]
        results = [(label, path, run_child("--child", str(path), "--mode", mode, "--config", config))
                   for label, path, mode in rows]  # fmt: skip
        base_s = results[0][2]["seconds"]
        header = f"{'load':40s} {'file MiB':>9s} {'time s':>7s} {'x base':>7s} {'peak MiB':>9s} {'peak/w':>7s}"
        print(header + f" {'(peak-import)/w':>16s} {'after use/w':>12s}")
        for label, path, r in results:
            ok = abs(r["checksum"] - checksum) <= 1e-6 * max(1.0, abs(checksum))
            print(
                f"{label:40s} {path.stat().st_size / 2**20:9,.0f} {r['seconds']:7.2f} {r['seconds'] / base_s:7.2f}"
                f" {r['peak_mb']:9,.0f} {r['peak_mb'] / weights_mb:7.2f}"
                f" {(r['peak_mb'] - r['import_mb']) / weights_mb:16.2f} {r['used_mb'] / weights_mb:12.2f}"
                f"{'' if ok else '  CHECKSUM MISMATCH'}"
            )
        print(f"\nweights {weights_mb:,.0f} MiB ({weights_mb * 2**20 / 1e9:.2f} GB); peak/w = peak RSS / weights;")
        print("(peak-import)/w leaves out the interpreter + torch; after use/w: peak once every weight was read")
        print("(safetensors loads memory-mapped: its pages come in on first use)")
        print(f"tripwire fired: {(folder / 'TRIPWIRE').exists()}")


if __name__ == "__main__":
    main()
