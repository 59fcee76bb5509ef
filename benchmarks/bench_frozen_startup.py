"""Time to first frame of the installed (frozen) app against the same app run from the virtual environment.

Each case launches ``diffviews-desktop --screenshot PNG`` on the embedded demo in a fresh process: the app draws its
first full frame, saves it and exits. Per run: the time until the PNG appears (the first frame), until the process
has exited, and the CPU time it used (user + system, which other load on the machine does not stretch). Runs alternate between the cases (after one warm-up each) so that load on a shared machine
falls on both alike; the median of ``--repeat`` runs is shown, with a bare PySide6 window (Python + Qt's fixed cost)
as the baseline, and the load average before and after. Goal: the frozen app no slower than the venv app.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_frozen_startup.py \\
        [--frozen /opt/diffviews-desktop/diffviews-desktop] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table, require_display  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENTRY_SCRIPT = ROOT / "packaging" / "entry_desktop.py"  # what PyInstaller freezes
FROZEN_CANDIDATES = [
    Path("/opt/diffviews-desktop/diffviews-desktop"),
    ROOT / "build/dist/diffviews-desktop/diffviews-desktop",
]

BARE_QT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication([])
w = QMainWindow(); w.setCentralWidget(QLabel("hello")); w.resize(1440, 900); w.show()
QTimer.singleShot(0, lambda: (w.grab().save(sys.argv[1]), app.quit()))
app.exec()
"""


def launch(command: list[str], png: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Seconds until ``png`` appears, until the process exits (polled every 2 ms), and the CPU seconds (user + system)
    it used: the CPU figure holds still when other work on the machine stretches the wall times."""
    png.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    frame = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if frame is None and png.exists():
            frame = time.perf_counter() - t0
        time.sleep(0.002)
    done = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not png.exists():
        raise RuntimeError(f"{command[0]} exited {proc.returncode}:\n{proc.stderr.read().decode()[-2000:]}")
    return (frame if frame is not None else done), done, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frozen", type=Path, default=next((p for p in FROZEN_CANDIDATES if p.exists()), None),
                        help="the frozen app (default: the installed .deb's, else build/dist's)")  # fmt: skip
    parser.add_argument("--venv-app", type=Path, default=Path(sys.executable).parent / "diffviews-desktop",
                        help="the venv's app (default: beside this Python)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true",
                        help="one run per case; without a frozen app, the bundle's entry script run by this Python "
                             "stands in for it (checks the harness, measures nothing about the bundle)")  # fmt: skip
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 1
    require_display()
    stand_in = args.smoke and (args.frozen is None or not args.frozen.exists())
    if not stand_in and (args.frozen is None or not args.frozen.exists()):
        sys.exit("no frozen app: install the .deb or run packaging/build_linux.sh, or pass --frozen")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "QT_QPA_PLATFORM": "xcb"}
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
            env.pop(var, None)
        png = Path(tmp) / "frame.png"
        cases = {
            "bare": [sys.executable, "-c", BARE_QT, str(png)],
            "venv": [str(args.venv_app), "--screenshot", str(png)],
            "frozen": [sys.executable, str(ENTRY_SCRIPT), "--screenshot", str(png)] if stand_in
            else [str(args.frozen), "--screenshot", str(png)],
        }
        times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
        for command in cases.values():  # warm-up: disk cache, font cache, settings file
            launch(command, png, env)
        for _ in range(args.repeat):
            for name, command in cases.items():
                times[name].append(launch(command, png, env))
    load_after = os.getloadavg()

    def median(name: str, which: int) -> float:
        return statistics.median(t[which] for t in times[name])

    print_table(
        f"First frame, fresh process, median of {args.repeat} (demo; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after)",
        [
            ("bare PySide6 window (Python + Qt fixed cost)", median("bare", 0), None),
            ("venv app: first frame saved", median("venv", 0), median("bare", 0)),
            ("frozen app: first frame saved", median("frozen", 0), median("bare", 0)),
            ("frozen vs venv: first frame (goal <= 1)", median("frozen", 0), median("venv", 0)),
            ("venv app: exited", median("venv", 1), None),
            ("frozen app: exited", median("frozen", 1), median("venv", 1)),
            ("bare PySide6 window: CPU time", median("bare", 2), None),
            ("venv app: CPU time to exit", median("venv", 2), median("bare", 2)),
            ("frozen app: CPU time to exit", median("frozen", 2), median("bare", 2)),
            ("frozen vs venv: CPU time (goal <= 1)", median("frozen", 2), median("venv", 2)),
        ],
        unit="s",
    )
    print(f"frozen: {ENTRY_SCRIPT} (stand-in, --smoke)" if stand_in else f"frozen: {args.frozen}")
    print(f"venv:   {args.venv_app}")


if __name__ == "__main__":
    main()
