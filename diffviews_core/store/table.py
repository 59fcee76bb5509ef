"""The sample table (one row per activation row) and its CSV reading and writing.

CSV cells are parsed with the ``csv`` module, so quoted class names containing commas survive; every bad cell or
missing column is a DataError naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..safe_io import read_regular_bytes
from ..validate import INT64_MAX, INT64_MIN
from .files import atomic_write_text

INT_COLUMNS = ("sample_id", "class_label", "batch_index", "image_index", "level_index")
FLOAT_COLUMNS = ("conditioning_sigma", "umap_x", "umap_y", "umap_z", "umap3d_x", "umap3d_y", "umap3d_z", "sigma")
STR_COLUMNS = ("class_name", "image_path", "activation_path", "label_mode", "synset_id", "caption")
REQUIRED_COLUMNS = ("sample_id", "class_label", "image_path")
MAX_CSV_BYTES = 2 << 30
# Order used when writing: the original's columns first, then extras in sorted order.
STANDARD_ORDER = (
    "sample_id",
    "class_label",
    "class_name",
    "image_path",
    "conditioning_sigma",
    "activation_path",
    "batch_index",
    "label_mode",
    "image_index",
    "level_index",
)


def read_csv(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    """(header, column name -> raw cells) of a UTF-8 CSV; ragged rows and bad encodings are DataErrors."""
    path = Path(path)
    raw = read_regular_bytes(path, MAX_CSV_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(path, "empty file (no header row)") from None
    except csv.Error as exc:
        raise DataError(path, f"malformed CSV header: {exc}") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise DataError(path, f"duplicate column(s) {', '.join(dup)}")
    try:
        rows = [row for row in reader if row]
    except csv.Error as exc:
        raise DataError(path, f"malformed CSV: {exc}") from None
    bad = next((i for i, row in enumerate(rows) if len(row) != len(header)), None)
    if bad is not None:
        raise DataError(path, f"data row {bad + 1} has {len(rows[bad])} fields, the header has {len(header)}")
    columns = list(zip(*rows)) if rows else [()] * len(header)
    return header, {h: list(c) for h, c in zip(header, columns)}


def _convert(path: Path, name: str, cells: Sequence[str], kind: str) -> np.ndarray:
    if kind == "str":
        return np.array(list(cells), dtype=object)
    try:  # fast path: numpy parses the whole column at once
        return np.array(cells, dtype=np.int64 if kind == "int" else np.float64)
    except (ValueError, OverflowError):
        pass
    out = np.empty(len(cells), dtype=np.int64 if kind == "int" else np.float64)
    for i, cell in enumerate(cells):
        where = f"column {name!r}, data row {i + 1}"
        try:
            out[i] = (
                int(float(cell)) if kind == "int" and "." in cell else (int(cell) if kind == "int" else float(cell))
            )
        except ValueError:
            raise DataError(path, f"{where}: {cell[:40]!r} is not a number") from None
        except OverflowError:
            raise DataError(path, f"{where}: {cell[:40]!r} is out of the 64-bit integer range") from None
    return out


def _int64(cell: str) -> int:
    value = int(cell)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("out of range")
    return value


def _guess(cells: Sequence[str]) -> str:
    for kind, fn in (("int", _int64), ("float", float)):
        try:
            for c in cells:
                fn(c)
            return kind
        except ValueError:
            continue
    return "str"


def typed_columns(path: Path, cols: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Known columns get their fixed types; extra metadata columns become int, float or str, whichever fits."""
    out = {}
    for name, cells in cols.items():
        if name in INT_COLUMNS:
            kind = "int"
        elif name in FLOAT_COLUMNS:
            kind = "float"
        elif name in STR_COLUMNS:
            kind = "str"
        else:
            kind = _guess(cells)
        out[name] = _convert(path, name, cells, kind)
    return out


class SampleTable:
    """Per-sample metadata as numpy columns; row order = activation row order = embedding row order."""

    def __init__(self, columns: Mapping[str, np.ndarray], source: Path | str = "<memory>") -> None:
        self.source = Path(source) if not isinstance(source, Path) else source
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise DataError(self.source, f"missing column(s) {', '.join(missing)}")
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise DataError(self.source, f"columns of different lengths {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        cols = dict(columns)
        if "class_name" not in cols:
            cols["class_name"] = np.array([""] * n, dtype=object)
        if "conditioning_sigma" not in cols:
            cols["conditioning_sigma"] = np.full(n, np.nan)
        self.columns: dict[str, np.ndarray] = cols
        self._rows: dict[int, int] | None = None

    # Contract attributes -----------------------------------------------------------------------
    @property
    def sample_id(self) -> np.ndarray:
        return self.columns["sample_id"]

    @property
    def class_label(self) -> np.ndarray:
        return self.columns["class_label"]

    @property
    def class_name(self) -> np.ndarray:
        return self.columns["class_name"]

    @property
    def conditioning_sigma(self) -> np.ndarray:
        return self.columns["conditioning_sigma"]

    @property
    def image_path(self) -> np.ndarray:
        return self.columns["image_path"]

    def __len__(self) -> int:
        return len(self.columns["sample_id"])

    def row_of(self, sample_id: int) -> int:
        """Row index of a sample id (KeyError if absent)."""
        if self._rows is None:
            self._rows = {int(s): i for i, s in enumerate(self.sample_id)}
        try:
            return self._rows[int(sample_id)]
        except KeyError:
            raise KeyError(f"no sample with id {sample_id}") from None

    def check_unique_ids(self) -> None:
        ids = self.sample_id
        uniq, counts = np.unique(ids, return_counts=True)
        if len(uniq) != len(ids):
            dup = int(uniq[counts > 1][0])
            rows = np.flatnonzero(ids == dup)[:2].tolist()
            raise DataError(
                self.source, f"sample_id {dup} appears more than once (data rows {rows[0] + 1}, {rows[1] + 1})"
            )

    def fill_class_names(self, names: Mapping[int, str] | None) -> None:
        """Give rows without a class name the name from a class index (labels without one keep '')."""
        if not names:
            return
        cn = self.columns["class_name"]
        for i, (label, name) in enumerate(zip(self.class_label, cn)):
            if not name and int(label) in names:
                cn[i] = names[int(label)]

    @classmethod
    def from_records(cls, records: Sequence[Mapping], source: Path | str) -> SampleTable:
        """Build from a list of dicts (dataset_info.json samples): columns are the union of keys."""
        keys: list[str] = []
        for rec in records:
            for k in rec:
                if k not in keys:
                    keys.append(k)
        cols = {k: ["" if rec.get(k) is None else str(rec.get(k)) for rec in records] for k in keys}
        return cls(typed_columns(Path(source), cols), source)


def format_cell(value) -> str:
    """Deterministic text of a cell: floats with 9 significant digits (float32 round-trips), others as str."""
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else format(float(value), ".9g")
    return str(value)


def column_order(names: Iterable[str]) -> list[str]:
    names = list(names)
    return [c for c in STANDARD_ORDER if c in names] + sorted(c for c in names if c not in STANDARD_ORDER)


def write_csv(path: Path, columns: Mapping[str, np.ndarray], order: Sequence[str] | None = None) -> None:
    """Write columns as a quoted-where-needed CSV, atomically and byte-for-byte deterministically."""
    order = list(order) if order is not None else column_order(columns)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(order)
    arrays = [columns[c] for c in order]
    n = len(arrays[0]) if arrays else 0
    for i in range(n):
        writer.writerow([format_cell(a[i]) for a in arrays])
    atomic_write_text(path, buf.getvalue())


def read_sample_table(path: Path) -> tuple[SampleTable, dict[str, np.ndarray]]:
    """A sample table from a CSV, plus all its typed columns (embedding CSVs also carry coordinates)."""
    _header, raw = read_csv(path)
    cols = typed_columns(Path(path), raw)
    return SampleTable(cols, path), cols
