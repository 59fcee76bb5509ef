"""Fail if this Python + PySide6 pair drops references to None or True (PySide6 6.12 on CPython < 3.12 does).

Makes ``--calls`` void Qt calls (``QLabel.setText``) and ``Signal.emit`` calls, then compares
``sys.getrefcount(None)`` and ``sys.getrefcount(True)`` with their values before. A leaking pair either shows the
counts falling by about one per call or aborts the interpreter ("Fatal Python error: none_dealloc") on the way,
so run this in a subprocess. Prints one JSON line; exit status 0 only when neither count fell.

    QT_QPA_PLATFORM=offscreen python packaging/check_refcounts.py [--calls 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import PySide6  # noqa: E402
from PySide6.QtCore import QObject, Signal  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel  # noqa: E402

# Falls smaller than this are ordinary churn (objects holding None freed meanwhile); a leak falls by ~1 per call.
SLACK = 100


class Emitter(QObject):
    changed = Signal(int)


def counts() -> tuple[int, int]:
    return sys.getrefcount(None), sys.getrefcount(True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    label = QLabel()
    emitter = Emitter()
    received = []
    emitter.changed.connect(received.append)
    label.setText("warm-up")
    emitter.changed.emit(0)
    received.clear()

    none_before, true_before = counts()
    for _ in range(args.calls):
        label.setText("x")  # a Qt method returning void: the leak dropped a reference to None here
    none_after_void, true_after_void = counts()
    for i in range(args.calls):
        emitter.changed.emit(i)  # Signal.emit: the leak dropped a reference to True here
    none_after_emit, true_after_emit = counts()

    report = {
        "python": sys.version.split()[0],
        "pyside6": PySide6.__version__,
        "calls": args.calls,
        "none_change": none_after_emit - none_before,
        "true_change": true_after_emit - true_before,
        "none_change_void_calls": none_after_void - none_before,
        "true_change_emits": true_after_emit - true_after_void,
        "emits_received": len(received),
    }
    leaked = report["none_change"] < -SLACK or report["true_change"] < -SLACK
    report["ok"] = not leaked and len(received) == args.calls
    print(json.dumps(report), flush=True)
    del app
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
