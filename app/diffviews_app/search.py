"""Finding samples by what a user types: a sample id, a class name, a caption, any metadata value, or
``column=value`` for one column (numbers compared as numbers). Pure numpy, no Qt: the Classes dock runs it as the
user types and highlights the rows it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

NOT_SEARCHED = {"sample_id", "image_path", "class_name", "caption", "umap_x", "umap_y", "umap_z"}
MIN_SUBSTRING = 2  # shorter text matches a metadata value only whole (one letter would match nearly everything)


@dataclass(frozen=True)
class SearchResult:
    """The rows found (sorted) and, per source ("sample id", "class name", "caption", a column), how many."""

    query: str
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    sources: tuple[tuple[str, int], ...] = ()
    problem: str = ""  # e.g. an unknown column in ``column=value``

    @property
    def count(self) -> int:
        return int(self.rows.size)

    def summary(self, samples=None) -> str:
        """One line for the user: what matched and how many, or that nothing did."""
        if not self.query.strip():
            return ""
        if self.problem:
            return self.problem
        if not self.count:
            return f"No match for “{self.query.strip()}”"
        if self.sources == (("sample id", 1),) and samples is not None:
            return f"{samples.id_text(int(self.rows[0]))} found (Enter selects it)"
        what = ", ".join(f"{name} {n:,}" for name, n in self.sources)
        return f"{self.count:,} match{'es' if self.count != 1 else ''} ({what}), highlighted"


def _text_column(values: np.ndarray) -> np.ndarray:
    return np.char.lower(np.asarray(values, dtype=str))


def _match_text(values: np.ndarray, needle: str) -> np.ndarray:
    """Rows whose text contains ``needle`` (or equals it, when it is shorter than ``MIN_SUBSTRING``)."""
    text = _text_column(values)
    if len(needle) < MIN_SUBSTRING:
        return np.flatnonzero(text == needle)
    return np.flatnonzero(np.char.find(text, needle) >= 0)


def _match_value(values: np.ndarray, value: str) -> np.ndarray:
    """Rows of one column equal to ``value``: numbers as numbers, text case-insensitively (whole or contained)."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.number) or values.dtype == bool:
        try:
            number = float(value)
        except ValueError:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(np.isclose(values.astype(np.float64), number, rtol=1e-6, atol=0.0))
    return _match_text(values, value.lower())


def _class_names(samples, root_names: Mapping[int, str] | None) -> np.ndarray | None:
    """Each row's class name (the table's, else the data root's), lower-cased; None without classes."""
    if not samples.has_classes:
        return None
    names = _text_column(samples.class_name)
    if root_names:
        labels = np.asarray(samples.class_label, dtype=np.int64)
        from_root = np.array([str(root_names.get(int(c), "")).lower() for c in labels])
        names = np.where(names == "", from_root, names)
    return names


def _sample_row(samples, text: str) -> int:
    key = text if samples.ids_are_text else text.lower().removeprefix("sample_")
    try:
        return int(samples.row_of(key))
    except (KeyError, ValueError, IndexError):
        return -1


def search_samples(samples, text: str, root_names: Mapping[int, str] | None = None) -> SearchResult:
    """Every row matching ``text``: its id, class name, caption or any other metadata value; ``column=value`` looks
    in that column only. Empty text finds nothing."""
    query = text.strip()
    if not query:
        return SearchResult(text)
    column, sep, value = query.partition("=")
    if sep and column.strip():
        column, value = column.strip(), value.strip()
        if column not in samples.columns:
            return SearchResult(text, problem=f"No column “{column}” (columns: {', '.join(samples.columns)})")
        rows = _match_value(samples.columns[column], value) if value else np.empty(0, dtype=np.int64)
        return SearchResult(text, rows.astype(np.int64), ((column, int(rows.size)),) if rows.size else ())

    needle = query.lower()
    found: list[tuple[str, np.ndarray]] = []
    row = _sample_row(samples, query)
    if row >= 0:
        found.append(("sample id", np.array([row], dtype=np.int64)))
    names = _class_names(samples, root_names)
    if names is not None:
        found.append(("class name", _match_text(names, needle)))
    if samples.caption is not None and len(needle) >= MIN_SUBSTRING:
        found.append(("caption", _match_text(samples.caption, needle)))
    for name, values in samples.columns.items():
        if name in NOT_SEARCHED or name == "class_label":
            continue
        if np.asarray(values).dtype == object or np.asarray(values).dtype.kind in "US":
            found.append((name, _match_text(values, needle)))
    found = [(name, rows) for name, rows in found if rows.size]
    rows = np.unique(np.concatenate([r for _, r in found])) if found else np.empty(0, dtype=np.int64)
    return SearchResult(text, rows.astype(np.int64), tuple((name, int(r.size)) for name, r in found))
