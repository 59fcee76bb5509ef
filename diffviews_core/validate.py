"""Type checks for values read from JSON files, so a wrong type is a message about that field, not a crash later.

Each check returns the value in its Python type or raises ``Invalid`` saying which field is wrong and how; the
reader adds the file name (``DataError(path, str(exc))``). JSON booleans are never accepted as numbers.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_TEXT = 4096


class Invalid(ValueError):
    """A field with the wrong type or an out-of-range value; the message names the field."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def integer(value: Any, what: str, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{what} must be an integer, found {_show(value)}")
    if not lo <= value <= hi:
        raise Invalid(f"{what} must be in {lo}..{hi}, found {_show(value)}")
    return value


def optional_integer(value: Any, what: str, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int | None:
    return None if value is None else integer(value, what, lo, hi)


def number(value: Any, what: str, lo: float = -math.inf, hi: float = math.inf, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{what} must be a number, found {_show(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise Invalid(f"{what} is too large, found {_show(value)}") from None
    if finite and not math.isfinite(value):
        raise Invalid(f"{what} must be a finite number, found {_show(value)}")
    if not math.isnan(value) and not lo <= value <= hi:
        raise Invalid(f"{what} must be in {lo:g}..{hi:g}, found {_show(value)}")
    return value


def text(value: Any, what: str, max_len: int = MAX_TEXT, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{what} must be a string, found {_show(value)}")
    if len(value) > max_len:
        raise Invalid(f"{what} is longer than {max_len} characters")
    if "\x00" in value:
        raise Invalid(f"{what} holds a NUL character")
    if not empty and not value:
        raise Invalid(f"{what} must not be empty")
    return value


def optional_text(value: Any, what: str, max_len: int = MAX_TEXT) -> str | None:
    return None if value is None else text(value, what, max_len)


def boolean(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{what} must be true or false, found {_show(value)}")
    return value


def choice(value: Any, what: str, options: Collection[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise Invalid(f"{what} must be one of {', '.join(map(repr, options))}, found {_show(value)}")
    return value


def mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise Invalid(f"{what} must be an object, found {type(value).__name__}")
    return value


def sequence(value: Any, what: str, max_len: int | None = None) -> list:
    if not isinstance(value, list):
        raise Invalid(f"{what} must be a list, found {type(value).__name__}")
    if max_len is not None and len(value) > max_len:
        raise Invalid(f"{what} has {len(value)} entries, more than {max_len}")
    return value


def integers(value: Any, what: str, lo: int = INT64_MIN, hi: int = INT64_MAX, max_len: int | None = None) -> list[int]:
    return [integer(v, f"{what}[{i}]", lo, hi) for i, v in enumerate(sequence(value, what, max_len))]


def numbers(value: Any, what: str, finite: bool = True, max_len: int | None = None) -> list[float]:
    return [number(v, f"{what}[{i}]", finite=finite) for i, v in enumerate(sequence(value, what, max_len))]


def texts(value: Any, what: str, max_len: int | None = None) -> list[str]:
    return [text(v, f"{what}[{i}]") for i, v in enumerate(sequence(value, what, max_len))]


def sample_id(value: Any, what: str) -> int | str:
    """A sample id as a model's table holds it: an integer (int64) or a non-empty string."""
    return text(value, what, 1024, empty=False) if isinstance(value, str) else integer(value, what)


def optional_sample_id(value: Any, what: str) -> int | str | None:
    return None if value is None else sample_id(value, what)


def sample_ids(value: Any, what: str, max_len: int | None = None) -> list[int | str]:
    return [sample_id(x, f"{what}[{i}]") for i, x in enumerate(sequence(value, what, max_len))]


def shape(value: Any, what: str, max_rank: int = 8) -> tuple[int, ...]:
    """A tensor shape: up to ``max_rank`` non-negative ints whose product fits in int64."""
    dims = tuple(integers(value, what, 0, INT64_MAX, max_rank))
    if math.prod(dims) > INT64_MAX:
        raise Invalid(f"{what} {list(dims)} holds more than 2**63 elements")
    return dims


def fixed_length(value: Sequence, what: str, n: int) -> Sequence:
    if len(value) != n:
        raise Invalid(f"{what} must have {n} entries, found {len(value)}")
    return value


def relative_path(value: Any, what: str) -> str:
    """A path inside some folder, written with '/': no empty, '.', '..', absolute, drive or backslash forms, and no
    part over 255 bytes. Returns it normalised (no './' parts, no trailing '/')."""
    rel = text(value, what, max_len=4096, empty=False)
    if "\\" in rel or ":" in rel:
        raise Invalid(f"{what} {_show(rel)} must use '/' and no drive letters")
    if rel.startswith("/"):
        raise Invalid(f"{what} {_show(rel)} is absolute; it must be relative to its folder")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts:
        raise Invalid(f"{what} {_show(rel)} names no file")
    if ".." in parts:
        raise Invalid(f"{what} {_show(rel)} leads outside its folder")
    if any(len(p.encode("utf-8", "surrogatepass")) > 255 for p in parts):
        raise Invalid(f"{what} has a part longer than 255 bytes")
    return "/".join(parts)
