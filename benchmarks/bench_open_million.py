"""The window opening a 1M-row dataset: time from launch to the first frame with every point drawn, and the
process's peak RSS, against the shipped compact demo (560 rows) through the same script in the same run.

The dataset is written on the fly into a temporary folder in the project's format, as a reduced cluster build
leaves it: samples.csv (4 levels x 2 label modes x 125,000 images, pointing at 1,000 shared 32x32 PNGs), two
layers stored as float16 PCA sketches (32 dimensions, with the sketch files), a 2D+3D map in embeddings/, a
manifest with checksums (about 300 MB in all). Needs an X display:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_open_million.py [--rows 1000000] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table, require_display  # noqa: E402

APP = """
import resource, sys, time
t0 = time.perf_counter()
from PySide6.QtCore import QSettings, QTimer
from diffviews_app.app import application, create_window, open_start_data
from diffviews_app.options import LaunchOptions
app = application()
w = create_window(LaunchOptions(data_dir=sys.argv[1] or None), QSettings(sys.argv[2], QSettings.Format.IniFormat))
w.resize(1440, 900)
w.show()
open_start_data(w, w.controller.options)
def drawn(_event=None):
    if w.state.model is not None and w.canvas.point_count == w.state.num_points and w.canvas.full_detail_drawn:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("FRAME", w.state.num_points, f"{rss:.0f}", flush=True)
        QTimer.singleShot(0, app.quit)  # not inside the paint: quitting closes the window
w.canvas.scene_canvas.events.draw.connect(drawn, position="last")  # after the frame: one with every point
app.exec()
"""

LEVELS, MODES, IMAGES, DIMS, SOURCE_SHAPE = 4, ("true", "null"), 1000, 32, (256, 8, 8)


def write_dataset(root: Path, rows: int) -> Path:
    """A reduced dataset of ``rows`` rows in ``root/million`` (see the module docstring)."""
    from numpy.lib import format as npf
    from PIL import Image

    from diffviews_core.atomic import atomic_write_json
    from diffviews_core.formats import native
    from diffviews_core.formats.embedding import write_embedding_files
    from diffviews_core.formats.reduction import LayerReduction, ReductionSpec
    from diffviews_core.formats.table import SampleTable, write_csv

    model = root / "million"
    rng = np.random.default_rng(0)
    per_block = rows // (LEVELS * len(MODES))
    n = per_block * LEVELS * len(MODES)
    for i in range(IMAGES):
        path = model / "images" / "synthetic" / f"image_{i:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(path)
    image = np.tile(np.arange(per_block), LEVELS * len(MODES))
    block = np.repeat(np.arange(LEVELS * len(MODES)), per_block)
    label = image % 10
    cols = {
        "sample_id": block * 10**6 + image,
        "class_label": label,
        "class_name": np.array([f"class {c}" for c in range(10)], dtype=object)[label],
        "image_path": np.array([f"images/synthetic/image_{i:06d}.png" for i in range(IMAGES)], dtype=object)[
            image % IMAGES],
        "conditioning_sigma": np.array([8.0, 2.0, 0.5, 0.1])[block // len(MODES)],
        "label_mode": np.array(MODES, dtype=object)[block % len(MODES)],
        "image_index": image,
        "level_index": block // len(MODES),
    }  # fmt: skip
    write_csv(model / native.SAMPLES, cols)
    layers, files = {}, [native.SAMPLES, "config.json"]
    centres = rng.standard_normal((10, DIMS)).astype(np.float32) * 3
    size = int(np.prod(SOURCE_SHAPE))
    for name in ("encoder_bottleneck", "midblock"):
        red = LayerReduction(name, ReductionSpec("pca", DIMS, True), SOURCE_SHAPE, np.zeros(size, np.float32),
                             np.linalg.qr(rng.standard_normal((size, DIMS)).astype(np.float32))[0].T)  # fmt: skip
        files += red.save(model)
        (model / "activations").mkdir(exist_ok=True)
        mm = npf.open_memmap(str(model / "activations" / f"{name}.npy"), mode="w+", dtype=np.float16, shape=(n, DIMS))
        for a in range(0, n, 200_000):
            m = min(200_000, n - a)
            mm[a : a + m] = centres[label[a : a + m]] + rng.standard_normal((m, DIMS), dtype=np.float32)
        mm.flush()
        del mm
        layers[name] = {"file": f"activations/{name}.npy", "shape": [DIMS], "reduction": red.manifest_entry()}
        files.append(layers[name]["file"])
    angle = label * (2 * np.pi / 10)
    xy = np.stack([np.cos(angle), np.sin(angle)], 1) * 10 + rng.standard_normal((n, 2)) * 1.5
    xyz = np.concatenate([xy, rng.standard_normal((n, 1))], axis=1)
    write_embedding_files(model / "embeddings" / "map.csv", SampleTable(cols, model / native.SAMPLES), xy, xyz,
                          {"layers": sorted(layers), "n_neighbors": 15, "min_dist": 0.1})  # fmt: skip
    atomic_write_json(model / "config.json", {"adapter": "edm", "checkpoint": None, "dataset_type": "synthetic"})
    native.write_manifest(model, n, layers, files, {"dataset_type": "synthetic"})
    return model


def first_frame(data_dir: str, settings: str, timeout: float) -> tuple[float, int, float]:
    """(seconds from launch to the first full frame, points, peak RSS in MB) of a fresh app process."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", APP, data_dir, settings], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise RuntimeError(f"no frame within {timeout:.0f} s") from None
    elapsed = time.perf_counter() - t0
    for line in out.splitlines():
        if line.startswith("FRAME"):
            _, n, rss = line.split()
            return elapsed, int(n), float(rss)
    raise RuntimeError(f"no frame (exit {proc.returncode}):\n{err[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="10,000 rows")
    args = ap.parse_args()
    require_display()
    rows = 10_000 if args.smoke else args.rows
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        model = write_dataset(Path(tmp), rows)
        size = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
        print(f"wrote {model.name}: {rows:,} rows, {size / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s")
        settings = str(Path(tmp) / "settings.ini")
        demo = [first_frame("", settings, 300) for _ in range(args.repeat)]
        big = [first_frame(str(model.parent), settings, 1800) for _ in range(args.repeat)]
    t_demo, n_demo, rss_demo = min(demo)
    t_big, n_big, rss_big = min(big)
    print_table("Window opening a dataset: launch to first full frame (ratio: against the compact demo)", [
        (f"compact demo, {n_demo:,} points", t_demo, None),
        (f"synthetic reduced dataset, {n_big:,} points", t_big, t_demo),
    ], unit="s")  # fmt: skip
    print(f"peak RSS: compact demo {rss_demo:,.0f} MB, {n_big:,} points {rss_big:,.0f} MB "
          f"({rss_big / rss_demo:.1f}x)")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
