"""vispy's comment stripping in linear time.

Before it binds a GL program's variables, vispy parses them from the program's source with its ``//`` comments
removed by ``re.sub(r"(.*)(//.*)", r"\\1", code, flags=re.M)``. That pattern backtracks over every line from every
position: on vispy's ~80,000-character text source it took ~26 ms of the UI thread per program built, in the frame
that first draws a visual (and in the warm-up that draws each once).
``install`` gives vispy's program module a ``re`` whose ``sub`` answers that one call by ``strip_line_comments``
(the same text, linearly) and passes every other call to ``re``.
"""

from __future__ import annotations

import re
from typing import Any

COMMENT_PATTERN = r"(.*)(//.*)"  # vispy.gloo.program's, with the replacement r"\1" and re.M


def strip_line_comments(code: str) -> str:
    """``code`` with each line cut at its last ``//``: what vispy's substitution returns (``.`` stops only at
    ``\\n``; its greedy first group keeps everything up to the last ``//``)."""
    if "//" not in code:
        return code
    return "\n".join(line[: line.rfind("//")] if "//" in line else line for line in code.split("\n"))


class _ProgramRegex:
    """The ``re`` vispy's program module sees: its comment substitution linear, anything else ``re``'s own."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def sub(pattern, repl, string, count=0, flags=0):
        if pattern == COMMENT_PATTERN and repl == r"\1" and flags == re.M and not count and isinstance(string, str):
            return strip_line_comments(string)
        return re.sub(pattern, repl, string, count=count, flags=flags)


def install(linear: bool = True) -> None:
    """Give vispy's program module the linear stripping (``linear=False``: its own ``re`` back, for a baseline)."""
    from vispy.gloo import program

    program.re = _ProgramRegex() if linear else re
