"""Import a heavy module on a daemon thread ahead of its first use: the UI thread, which would otherwise stall for
the whole import when it first needs the module, only shares the interpreter with the import meanwhile (in turns of
a few milliseconds). A thread that needs the module while it is being imported waits for that import to finish, so
nothing is imported twice; a failed import is logged here and fails again, as before, where the module is used."""

from __future__ import annotations

import importlib
import logging
import sys
import threading

log = logging.getLogger(__name__)

_started: set[str] = set()
_ended: set[str] = set()  # of _started: imported, or failed


def import_in_background(*names: str) -> threading.Thread | None:
    """Start importing ``names`` in order on a daemon thread (each once per process); None when all of them are
    imported or under way."""
    todo = [name for name in names if name not in sys.modules and name not in _started]
    if not todo:
        return None
    _started.update(todo)
    thread = threading.Thread(target=_import, args=(todo,), name=f"import {todo[0]}", daemon=True)
    thread.start()
    return thread


def settled(name: str) -> bool:
    """True when importing ``name`` here would not wait: imported (and not being imported on a thread of
    ``import_in_background``), or its import on that thread has failed (using it raises again, at once)."""
    return name in _ended if name in _started else name in sys.modules


def _import(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # reported again where the module is used: this is only a head start
            log.warning("importing %s ahead of use failed", name, exc_info=True)
        finally:
            _ended.add(name)
