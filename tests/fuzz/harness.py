"""Running fuzz cases: a time limit per case, outcome classes, file-tree snapshots and per-reader tallies.

An outcome is ``load`` (the reader accepted the input), ``clean`` (a DiffViewsError, or a CLI exit status with one
stderr line naming the file) or ``bad`` (any other exception, a traceback, a message that names no file or spans
lines, a hang, or a write where none may happen).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import signal
import stat
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from diffviews_core.cli.main import build_parser, main
from diffviews_core.errors import DiffViewsError

CASE_TIMEOUT_S = 30.0  # a hang, not a slow case: generous for a loaded 2-core box


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` in a reader can swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float = CASE_TIMEOUT_S) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM also breaks a blocking open() or read())."""

    def _alarm(_signum, _frame):
        raise CaseTimeout(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Tally:
    tried: int = 0
    clean: int = 0
    loaded: int = 0
    bad: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, outcome: str, note: str) -> None:
        self.tried += 1
        if outcome == "load":
            self.loaded += 1
        elif outcome == "clean":
            self.clean += 1
        else:
            self.bad += 1
            self.failures.append(note)


TALLIES: dict[str, Tally] = {}


def tally(reader: str) -> Tally:
    return TALLIES.setdefault(reader, Tally())


@dataclass
class Outcome:
    kind: str  # load | clean | bad
    detail: str = ""
    value: Any = None


def _names_a_file(message: str, names: Iterable[str]) -> bool:
    return any(str(n) in message for n in names)


def call(fn: Callable[[], Any], names: Iterable[str]) -> Outcome:
    """Run a library reader: its value, a clean DiffViewsError (one line, naming one of ``names``), or bad."""
    try:
        with time_limit():
            value = fn()
    except CaseTimeout as exc:
        return Outcome("bad", f"hang: {exc}")
    except DiffViewsError as exc:
        message = str(exc)
        if "\n" in message:
            return Outcome("bad", f"multi-line message: {message[:200]!r}")
        if not _names_a_file(message, names):
            return Outcome("bad", f"names no file: {message[:200]!r}")
        return Outcome("clean", message)
    except Exception as exc:  # what the fuzz looks for
        return Outcome("bad", f"{type(exc).__name__}: {str(exc)[:200]}\n{traceback.format_exc(limit=6)}")
    return Outcome("load", value=value)


@functools.cache
def _parser():
    return build_parser()


def _main(args: list[str]) -> int:
    """``diffviews`` with one parser built for the whole run (building it costs ~50 ms, more than most cases)."""
    with mock.patch("diffviews_core.cli.main.build_parser", _parser):
        return main(args)


def cli(args: list[str], names: Iterable[str]) -> Outcome:
    """Run ``diffviews ARGS`` in-process: exit 0 (load; ``value`` = stdout), or one stderr line naming a file."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with time_limit(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = _main(args)
    except CaseTimeout as exc:
        return Outcome("bad", f"hang: {exc}")
    except BaseException as exc:  # noqa: BLE001 (SystemExit from argparse included: a traceback or exit is bad)
        return Outcome(
            "bad", f"escaped main(): {type(exc).__name__}: {str(exc)[:200]}\n{traceback.format_exc(limit=6)}"
        )
    stderr = err.getvalue()
    if "Traceback" in stderr:
        return Outcome("bad", f"traceback on stderr: {stderr[-400:]}")
    if code == 0:
        return Outcome("load", value=out.getvalue())
    # Progress bars (tqdm) share stderr; the error must be one whole line of its own after them.
    lines = [ln for ln in stderr.replace("\r", "\n").splitlines() if ln.strip() and "%|" not in ln]
    if not lines:  # e.g. `info` with problems: exit 4, the problems in stdout
        return Outcome("clean", out.getvalue(), value=out.getvalue())
    if len(lines) != 1 or not lines[0].startswith("diffviews: error: "):
        return Outcome("bad", f"exit {code} with stderr {stderr[:300]!r}")
    if not _names_a_file(lines[0], names):
        return Outcome("bad", f"names no file: {lines[0][:200]!r}")
    return Outcome("clean", lines[0], value=out.getvalue())


def snapshot(root: Path, skip: str | None = None) -> dict[str, str]:
    """Relative path -> content digest (files), link target (links) or kind, links never followed; the top-level
    entry ``skip`` is left out."""
    root = Path(root)
    out: dict[str, str] = {}
    if not os.path.lexists(root):
        return out
    for top, dirs, files in os.walk(root, followlinks=False):
        if skip is not None and Path(top) == root:
            dirs[:] = [d for d in dirs if d != skip]
            files = [f for f in files if f != skip]
        for name in dirs + files:
            p = Path(top) / name
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = "link->" + os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
            else:
                out[rel] = f"special {stat.S_IFMT(st.st_mode)}"
    return out


def changes(
    before: dict[str, str], after: dict[str, str], allowed: Callable[[str], bool] = lambda rel: False
) -> list[str]:
    """Paths added, removed or modified between two snapshots, except those ``allowed``."""
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k) and not allowed(k))


def scale(request) -> int:
    return 10 if request.config.getoption("--fuzz-long") else 1


def run_case(reader: str, arena: Path, case: Path, note: str, body: Callable[[], Outcome],
             allowed: Callable[[str], bool] = lambda rel: False) -> Outcome:  # fmt: skip
    """Run one case's ``body``, record its outcome under ``reader``; a write in ``arena`` outside ``case`` (unless
    ``allowed``, given paths relative to the arena) makes it bad."""
    before = snapshot(arena, skip=case.name)
    outcome = body()
    after = snapshot(arena, skip=case.name)
    written = changes(before, after, allowed)
    if written and outcome.kind != "bad":
        outcome = Outcome("bad", f"wrote outside its folder: {written[:5]}")
    tally(reader).add(outcome.kind, f"{note}: {outcome.detail}")
    return outcome


def assert_no_bad(reader: str) -> None:
    t = tally(reader)
    assert t.bad == 0, f"{t.bad} of {t.tried} {reader} inputs went badly:\n" + "\n---\n".join(t.failures[:8])
