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


class _TextColumn:
    """A text column as its distinct lower-cased values and each row's index into them: a query scans the distinct
    values only (a few for a category, all of them for captions) and maps the hits back to rows."""

    def __init__(self, values: np.ndarray, inverse: np.ndarray | None = None) -> None:
        """``values`` per row, or (with ``inverse``) the distinct values and each row's index into them."""
        if inverse is None:  # a dict factorises text far faster than sorting it (np.unique)
            index: dict[object, int] = {}
            inverse = np.fromiter((index.setdefault(v, len(index)) for v in np.asarray(values).tolist()),
                                  dtype=np.int64, count=len(values))  # fmt: skip
            values = list(index)
        self.values = np.char.lower(np.asarray([str(v) for v in values], dtype=str))
        self.inverse = np.asarray(inverse, dtype=np.int64).ravel()

    def rows(self, needle: str) -> np.ndarray:
        """Rows whose text contains ``needle`` (or equals it, when it is shorter than ``MIN_SUBSTRING``)."""
        hits = self.values == needle if len(needle) < MIN_SUBSTRING else np.char.find(self.values, needle) >= 0
        return np.flatnonzero(hits[self.inverse]) if hits.any() else np.empty(0, dtype=np.int64)


def _match_number(values: np.ndarray, value: str) -> np.ndarray:
    """Rows of a numeric column equal to ``value`` read as a number (none when it is not one)."""
    try:
        number = float(value)
    except ValueError:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.isclose(np.asarray(values, dtype=np.float64), number, rtol=1e-6, atol=0.0))


def _class_names(samples, root_names: Mapping[int, str] | None) -> _TextColumn | None:
    """The class names (the table's, else the data root's) as a text column, factorised by class label (a class
    has one name, so this never compares texts); None without classes."""
    if not samples.has_classes:
        return None
    uniq, first, inverse = np.unique(np.asarray(samples.class_label, dtype=np.int64), return_index=True,
                                     return_inverse=True)  # fmt: skip
    table = np.asarray(samples.class_name)[first]
    names = [str(name) or str((root_names or {}).get(int(label), "")) for label, name in zip(uniq, table, strict=True)]
    return _TextColumn(np.asarray(names, dtype=object), inverse)


def _sample_row(samples, text: str) -> int:
    key = text if samples.ids_are_text else text.lower().removeprefix("sample_")
    try:
        return int(samples.row_of(key))
    except (KeyError, ValueError, IndexError):
        return -1


class SampleSearch:
    """Searches one model's samples; the text columns are prepared once, on first use, so typing stays quick on
    large datasets."""

    def __init__(self, samples, root_names: Mapping[int, str] | None = None) -> None:
        self.samples, self.root_names = samples, root_names
        self._columns: dict[str, _TextColumn | None] = {}

    def _text(self, name: str) -> _TextColumn | None:
        if name not in self._columns:
            if name == "class name":
                self._columns[name] = _class_names(self.samples, self.root_names)
            else:
                values = self.samples.columns.get(name)
                self._columns[name] = None if values is None else _TextColumn(values)
        return self._columns[name]

    def prepare(self, cancel=None) -> SampleSearch:
        """Build every text column and the id index now (a job does this when a model opens, off the UI thread)."""
        names = ["class name", *(["caption"] if self.samples.caption is not None else [])]
        names += [n for n, v in self.samples.columns.items() if n not in NOT_SEARCHED and n != "class_label"
                  and np.asarray(v).dtype.kind in "OUS"]  # fmt: skip
        for name in names:
            if cancel is not None and cancel.is_set():
                break
            self._text(name)
        if len(self.samples):
            self.samples.row_of(self.samples.sample_key(0))  # builds the table's id -> row index
        return self

    def __call__(self, text: str) -> SearchResult:
        """Every row matching ``text``: its id, class name, caption or any other text metadata; ``column=value``
        looks in that column only (numbers compared as numbers). Empty text finds nothing."""
        samples, query = self.samples, text.strip()
        if not query:
            return SearchResult(text)
        column, sep, value = query.partition("=")
        if sep and column.strip():
            column, value = column.strip(), value.strip()
            if column not in samples.columns:
                return SearchResult(text, problem=f"No column “{column}” (columns: {', '.join(samples.columns)})")
            values = np.asarray(samples.columns[column])
            if not value:
                rows = np.empty(0, dtype=np.int64)
            elif np.issubdtype(values.dtype, np.number) or values.dtype == bool:
                rows = _match_number(values, value)
            else:
                rows = self._text(column).rows(value.lower())
            return SearchResult(text, rows.astype(np.int64), ((column, int(rows.size)),) if rows.size else ())

        needle = query.lower()
        found: list[tuple[str, np.ndarray]] = []
        row = _sample_row(samples, query)
        if row >= 0:
            found.append(("sample id", np.array([row], dtype=np.int64)))
        if samples.has_classes:
            found.append(("class name", self._text("class name").rows(needle)))
        if samples.caption is not None and len(needle) >= MIN_SUBSTRING:
            found.append(("caption", self._text("caption").rows(needle)))
        for name, values in samples.columns.items():
            if name not in NOT_SEARCHED and name != "class_label" and np.asarray(values).dtype.kind in "OUS":
                found.append((name, self._text(name).rows(needle)))
        found = [(name, rows) for name, rows in found if rows.size]
        rows = np.unique(np.concatenate([r for _, r in found])) if found else np.empty(0, dtype=np.int64)
        return SearchResult(text, rows.astype(np.int64), tuple((name, int(r.size)) for name, r in found))


def search_samples(samples, text: str, root_names: Mapping[int, str] | None = None) -> SearchResult:
    """One search of ``samples`` (see ``SampleSearch``; keep one of those to search a model many times)."""
    return SampleSearch(samples, root_names)(text)
