"""Tiny benchmark harness: median timings and a printed table with ratios against a same-run baseline."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def measure(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def stolen_cpu_s() -> float | None:
    """CPU time the hypervisor has taken from this virtual machine since boot, all CPUs together (the "steal"
    column of Linux's /proc/stat; None elsewhere): a virtual machine's stalls that no program on it caused."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def print_table(title: str, rows: list[tuple[str, float, float | None]], unit: str = "ms") -> None:
    """rows: (label, value in seconds, baseline in seconds or None)."""
    scale = {"ms": 1e3, "s": 1.0, "us": 1e6}[unit]
    print(f"\n{title}")
    print(f"{'case':52s} {unit:>10s} {'baseline':>10s} {'ratio':>7s}")
    for label, value, base in rows:
        b = f"{base * scale:10.2f}" if base is not None else f"{'-':>10s}"
        r = f"{value / base:7.2f}" if base else f"{'-':>7s}"
        print(f"{label:52s} {value * scale:10.2f} {b} {r}")


def first_frame(script: str, args: list[str], wait_s: float = 60) -> tuple[float, str]:
    """Seconds from launching a fresh interpreter on ``script`` (on the X display) to the first line it prints
    starting with FRAME, and that line."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip
    for line in proc.stdout:
        if line.startswith("FRAME"):
            elapsed = time.perf_counter() - t0
            proc.wait(wait_s)
            return elapsed, line.strip()
    err = proc.stderr.read()
    proc.wait(wait_s)
    raise RuntimeError(f"no frame (exit {proc.returncode}):\n{err[-2000:]}")


def require_display() -> None:
    """Exit with the way to run it where there is no X display (the benchmarks that draw need one)."""
    if not os.environ.get("DISPLAY"):
        sys.exit("needs an X display: run under xvfb-run (see the benchmark's docstring)")


def gui_app(make: Callable[[], object] | None = None):
    """The process's QApplication for a benchmark that draws (``make`` builds it: the app's own ``application``, or a
    bare QApplication by default), after ``require_display``."""
    require_display()
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or (make() if make is not None else QApplication([]))


def add_size_options(parser, sizes: list[int], repeat: int) -> None:
    """``--sizes``, ``--repeat`` and ``--data-root`` of the benchmarks that run on synthetic models of several sizes."""
    from pathlib import Path

    parser.add_argument("--sizes", type=int, nargs="+", default=sizes)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--data-root", type=Path, default=None,
                        help="keep the synthetic models here (DIR/<n>/) and reuse them in later runs")  # fmt: skip
