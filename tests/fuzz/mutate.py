"""Seeded mutations of JSON, CSV and binary inputs: the hostile values and damage a reader must survive."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

# Raw JSON tokens json.dumps cannot write: stand-in strings are swapped for them after dumping.
RAW_TOKENS = {
    "__NAN__": "NaN",
    "__INF__": "Infinity",
    "__NEGINF__": "-Infinity",
    "__1E400__": "1e400",
    "__NEG1E400__": "-1e400",
    "__HUGE_INT__": "9" * 5000,
    "__DEEP__": "[" * 5000 + "]" * 5000,
    "__DEEP_OBJ__": '{"a":' * 3000 + "1" + "}" * 3000,
}
HOSTILE_VALUES: list[Any] = [
    *RAW_TOKENS,
    None, True, False, 0, -1, 1, 2**63, -(2**63) - 1, 2**70, 3e38, -3e38, 1e-320, 0.5,
    "", ".", "..", "../../x", "/etc/passwd", "a\x00b", "x" * 300, "é" * 200, "not a number", "NaN", "1e400",
    "http://", "ftp://example.com/x", "C:\\x", "a/b/../../../c",
    [], [1, 2, 3], ["a", None], [[1, [2, [3]]]], [1e400], list(range(70)),
    {}, {"a": 1}, {"": None},
]  # fmt: skip


def hostile(rng: random.Random) -> Any:
    """One of HOSTILE_VALUES, copied (they are shared, and mutations may change what they are put into)."""
    return copy.deepcopy(rng.choice(HOSTILE_VALUES))


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location (key path) inside a JSON value, the root included."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:20]):
            out += _paths(v, prefix + (i,))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


def _set(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(obj, path[:-1])[path[-1]] = value
    return obj


def mutate_json_value(obj: Any, rng: random.Random, rounds: int = 1) -> tuple[Any, str]:
    """A mutated deep copy of a JSON value and what was done (values replaced, keys dropped or added)."""
    obj = json.loads(json.dumps(obj))
    notes = []
    for _ in range(rounds):
        paths = _paths(obj)
        depth = rng.randint(0, max(len(p) for p in paths))  # a depth first: top-level fields are not drowned out
        path = rng.choice([p for p in paths if len(p) == depth] or paths)
        action = rng.random()
        if action < 0.65 or not path:
            value = hostile(rng)
            obj = _set(obj, path, value)
            notes.append(f"{'/'.join(map(str, path)) or '<root>'}={str(value)[:30]!r}")
        elif action < 0.8:
            parent = _get(obj, path[:-1])
            del parent[path[-1]]
            notes.append(f"drop {'/'.join(map(str, path))}")
        elif action < 0.9:
            parent = _get(obj, path[:-1])
            if isinstance(parent, dict):
                parent[rng.choice(["extra", "", "x" * 300, "__proto__"])] = hostile(rng)
            else:
                parent.append(hostile(rng))
            notes.append(f"add under {'/'.join(map(str, path[:-1])) or '<root>'}")
        else:
            value = _get(obj, path)
            obj = _set(obj, path, [value] if rng.random() < 0.5 else {"wrapped": value})
            notes.append(f"wrap {'/'.join(map(str, path))}")
    return obj, "; ".join(notes)


def dump_json(obj: Any) -> str:
    text = json.dumps(obj)
    for marker, raw in RAW_TOKENS.items():
        text = text.replace(json.dumps(marker), raw)
    return text


def mutate_bytes(data: bytes, rng: random.Random, header: int | None = None) -> tuple[bytes, str]:
    """Damaged bytes: bit flips (often in the first ``header`` bytes), truncation, insertion, deletion, splices."""
    data = bytearray(data)
    n = len(data)
    what = rng.random()
    if n == 0:
        return bytes(rng.randbytes(rng.randint(1, 64))), "random bytes"
    if what < 0.4:
        span = header if header and rng.random() < 0.7 else n
        flips = rng.randint(1, 8)
        for _ in range(flips):
            i = rng.randrange(min(span, n))
            data[i] ^= 1 << rng.randrange(8)
        return bytes(data), f"{flips} bit flip(s) in the first {span} bytes"
    if what < 0.6:
        cut = rng.randrange(n)
        return bytes(data[:cut]), f"truncated to {cut} of {n}"
    if what < 0.7:
        i = rng.randrange(n)
        junk = rng.randbytes(rng.randint(1, 32))
        return bytes(data[:i] + junk + data[i:]), f"{len(junk)} bytes inserted at {i}"
    if what < 0.8:
        i = rng.randrange(n)
        k = rng.randint(1, max(1, min(64, n - i)))
        return bytes(data[:i] + data[i + k :]), f"{k} bytes deleted at {i}"
    if what < 0.9:
        i = rng.randrange(n)
        k = rng.randint(1, 16)
        return bytes(data[:i] + bytes([rng.choice([0, 0xFF, 0x7F, 0x80])]) * k + data[i + k :]), f"{k} bytes set at {i}"
    i, j = sorted(rng.randrange(n) for _ in range(2))
    return bytes(data[:i] + data[j:] + data[i:j]), f"spliced {i}..{j}"


CSV_CELLS = ["", "nan", "inf", "-inf", "1e400", "-1e400", "99999999999999999999999", "-99999999999999999999",
             "1.5e300", "3e38", "abc", '"', '"unclosed', "a,b", "\x00", "x" * 200000, "0x10", " 1", "True", "-1"]  # fmt: skip


def mutate_csv_text(text: str, rng: random.Random) -> tuple[str, str]:
    """A damaged CSV: a cell replaced, a column renamed or dropped, rows cut or duplicated, bad bytes."""
    lines = text.splitlines()
    what = rng.random()
    if what < 0.55 and len(lines) > 1:
        r = rng.randrange(1, len(lines))
        cells = lines[r].split(",")
        c = rng.randrange(len(cells))
        value = rng.choice(CSV_CELLS)
        cells[c] = value
        lines[r] = ",".join(cells)
        return "\n".join(lines) + "\n", f"row {r} cell {c} = {value[:20]!r}"
    if what < 0.65:
        head = lines[0].split(",")
        c = rng.randrange(len(head))
        head[c] = rng.choice(["", head[(c + 1) % len(head)], "umap_x", "sample_id", "x" * 300])
        lines[0] = ",".join(head)
        return "\n".join(lines) + "\n", f"header {c} renamed"
    if what < 0.75:
        keep = rng.randrange(len(lines) + 1)
        return "\n".join(lines[:keep]) + ("\n" if keep else ""), f"cut to {keep} lines"
    if what < 0.85 and len(lines) > 1:
        r = rng.randrange(1, len(lines))
        lines.insert(r, lines[r])
        return "\n".join(lines) + "\n", f"row {r} duplicated"
    if what < 0.92:
        c = rng.randrange(len(lines[0].split(",")))
        lines = [",".join(x for j, x in enumerate(line.split(",")) if j != c) for line in lines]
        return "\n".join(lines) + "\n", f"column {c} dropped"
    return text[: len(text) // 2] + "\udcff" + text[len(text) // 2 :], "a lone surrogate (not UTF-8 when written)"
