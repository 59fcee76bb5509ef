"""Run a benchmark of ``benchmarks/`` on its tiny ``--smoke`` sizes, as CI does, so every benchmark keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
NEEDS_DISPLAY = (  # run by tests/gl
    "bench_banner.py",
    "bench_canvas.py",
    "bench_click_handlers.py",
    "bench_frozen_startup.py",
    "bench_generation_ui.py",
    "bench_interaction.py",
    "bench_open_million.py",
    "bench_pan.py",
    "bench_program_build.py",
    "bench_rings.py",
    "bench_stall_floor.py",
    "bench_startup.py",
)


def all_benchmarks() -> list[str]:
    return sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))


def run_smoke(name: str, cwd: Path, timeout: float = 1200) -> str:
    """The benchmark's output; fails the test with its output when it exits with an error (a crash shows every
    thread's Python stack: faulthandler; and what was printed before it: unbuffered)."""
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-u", str(BENCHMARKS / name), "--smoke"], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{name} --smoke exited {proc.returncode}:\n{output[-4000:]}"
    assert "baseline" in proc.stdout, f"{name} --smoke printed no table:\n{output[-4000:]}"
    return proc.stdout
