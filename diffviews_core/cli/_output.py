"""``--json`` output that is always valid JSON: NaN and infinities (which JSON cannot hold) become null."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def plain(value: Any) -> Any:
    """``value`` with paths as strings, tuples as lists, numpy scalars as Python numbers and non-finite floats as
    None (input comes from depth-checked files, so recursion is bounded)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value: Any) -> str:
    return json.dumps(plain(value), indent=2, allow_nan=False)
