"""The sample table (one row per activation row) and its CSV reading and writing.

CSV cells are parsed with the ``csv`` module, so quoted class names containing commas survive; every bad cell or
missing column is a DataError naming the file, the row and the column. Sample ids are opaque: integers when every id
is one (the original demo layout, the project's builds), else strings (``sample_000012_n82``, as the original's
current extraction script writes them); a table never mixes the two.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from ..errors import DataError
from ..safe_io import read_regular_bytes
from ..unique import int_unique
from ..validate import INT64_MAX, INT64_MIN
from . import table_cache

ID_COLUMN = "sample_id"
INT_COLUMNS = ("class_label", "batch_index", "image_index", "level_index")
FLOAT_COLUMNS = ("conditioning_sigma", "umap_x", "umap_y", "umap_z", "umap3d_x", "umap3d_y", "umap3d_z", "sigma")
STR_COLUMNS = ("class_name", "image_path", "activation_path", "label_mode", "synset_id", "caption")
REQUIRED_COLUMNS = ("sample_id", "image_path")
LABEL_COLUMNS = ("class_label", "caption")  # a sample is class- or text-conditioned: one of these is required
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


def read_source(path: Path) -> bytes:
    """The bytes of a table file (a regular file of at most MAX_CSV_BYTES); anything else is a DataError."""
    return read_regular_bytes(path, MAX_CSV_BYTES)


def check_header(path: Path, header: Sequence[str]) -> list[str]:
    """Column names with surrounding spaces removed; duplicates are a DataError."""
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise DataError(path, f"duplicate column(s) {', '.join(dup)}")
    return header


def read_csv(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    """(header, column name -> raw cells) of a UTF-8 CSV; ragged rows and bad encodings are DataErrors.

    The reference reader: slow, and the one that words every message about a bad file (``read_table`` uses it for
    any file the fast reader declines)."""
    return parse_csv(Path(path), read_source(path))


def parse_csv(path: Path, raw: bytes) -> tuple[list[str], dict[str, list[str]]]:
    """``read_csv`` of bytes already read from ``path``."""
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
    header = check_header(path, header)
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


_INT64 = np.iinfo(np.int64)


def _integer(cell: str) -> int | None:
    """The int64 a cell spells (``12``, ``12.0``), else None (text, fractions, numbers beyond int64)."""
    try:
        value = int(cell)
    except ValueError:
        try:
            number = float(cell)
        except ValueError:
            return None
        if not number.is_integer():
            return None
        value = int(number)
    return value if _INT64.min <= value <= _INT64.max else None


def parse_ids(path: Path, cells: Sequence[str]) -> np.ndarray:
    """Sample ids: int64 when every id is an integer, else an object array of strings; empty or mixed ids (some
    integers, some not) are DataErrors naming the rows."""
    try:
        return np.array(cells, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    ints = [_integer(c) for c in cells]
    for i, cell in enumerate(cells):
        if not str(cell).strip():
            raise DataError(path, f"column {ID_COLUMN!r}, data row {i + 1}: empty sample id")
    numeric = [i for i, v in enumerate(ints) if v is not None]
    if len(numeric) == len(cells):
        return np.array(ints, dtype=np.int64)
    if numeric:
        j = next(i for i, v in enumerate(ints) if v is None)
        k = numeric[0]
        raise DataError(
            path,
            f"column {ID_COLUMN!r} mixes integer ids (data row {k + 1}: {cells[k]!r}) and text ids (data row "
            f"{j + 1}: {cells[j]!r}); use one kind",
        )
    return np.array([str(c) for c in cells], dtype=object)


def show_id(value) -> str:
    """A sample id as a user reads it: ``sample_000012`` for integer ids, text ids as they are."""
    if isinstance(value, (int, np.integer)):
        return f"sample_{int(value):06d}"
    return str(value)


def _guess(cells: Sequence[str]) -> str:
    for kind, fn in (("int", _int64), ("float", float)):
        try:
            for c in cells:
                fn(c)
            return kind
        except ValueError:
            continue
    return "str"


def column_kind(name: str) -> str | None:
    """The type of a known column ("int", "float" or "str"); None for extra metadata (typed by its cells)."""
    if name in INT_COLUMNS:
        return "int"
    if name in FLOAT_COLUMNS:
        return "float"
    if name in STR_COLUMNS:
        return "str"
    return None


def typed_columns(path: Path, cols: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Known columns get their fixed types; extra metadata columns become int, float or str, whichever fits."""
    out = {}
    for name, cells in cols.items():
        if name == ID_COLUMN:
            out[name] = parse_ids(path, cells)
        else:
            out[name] = _convert(path, name, cells, column_kind(name) or _guess(cells))
    return out


class SampleTable:
    """Per-sample metadata as numpy columns; row order = activation row order = embedding row order."""

    def __init__(self, columns: Mapping[str, np.ndarray], source: Path | str = "<memory>") -> None:
        self.source = Path(source) if not isinstance(source, Path) else source
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if not any(c in columns for c in LABEL_COLUMNS):
            missing.append(" or ".join(LABEL_COLUMNS))
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
        self._rows: dict[int | str, int] | None = None
        self._no_labels: np.ndarray | None = None

    # Contract attributes -----------------------------------------------------------------------
    @property
    def sample_id(self) -> np.ndarray:
        return self.columns["sample_id"]

    @property
    def class_label(self) -> np.ndarray:
        """Class numbers; all -1 for text-conditioned samples (``has_classes`` is False, see ``caption``)."""
        if "class_label" in self.columns:
            return self.columns["class_label"]
        if self._no_labels is None:
            self._no_labels = np.full(len(self), -1, dtype=np.int64)
        return self._no_labels

    @property
    def has_classes(self) -> bool:
        """False for text-conditioned samples, which carry a caption instead of a class."""
        return "class_label" in self.columns

    @property
    def caption(self) -> np.ndarray | None:
        return self.columns.get("caption")

    @property
    def ids_are_text(self) -> bool:
        return self.sample_id.dtype == object

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

    def id_key(self, sample_id) -> int | str:
        """``sample_id`` as this table stores it: text ids as str; integer ids as int (from an int or its digits)."""
        if self.ids_are_text:
            return str(sample_id)
        if isinstance(sample_id, (bool, np.bool_)):
            raise KeyError(f"no sample with id {sample_id!r}")
        if isinstance(sample_id, (int, np.integer)):
            return int(sample_id)
        text = str(sample_id).strip()
        value = _integer(text) if text else None
        if value is None:
            raise KeyError(f"no sample with id {sample_id!r} (this model's ids are integers)")
        return value

    def row_of(self, sample_id: int | str) -> int:
        """Row index of a sample id, an int or str as ``id_key`` accepts it (KeyError if absent)."""
        if self._rows is None:
            self._rows = {s: i for i, s in enumerate(self.sample_id.tolist())}
        key = self.id_key(sample_id)
        try:
            return self._rows[key]
        except KeyError:
            raise KeyError(f"no sample with id {sample_id!r}") from None

    def sample_key(self, row: int) -> int | str:
        """The id of ``row`` as a plain int or str (what sessions, lineage and exports store)."""
        value = self.sample_id[row]
        return str(value) if self.ids_are_text else int(value)

    def id_text(self, row: int) -> str:
        """The id of ``row`` as a user reads it (``sample_000012`` or the text id)."""
        return show_id(self.sample_key(row))

    def check_unique_ids(self) -> None:
        ids = self.sample_id
        uniq, _inverse, counts = int_unique(ids)  # integer ids count (no sort); text ids go through np.unique
        if len(uniq) != len(ids):
            dup = uniq[counts > 1][0]
            rows = np.flatnonzero(ids == dup)[:2].tolist()
            shown = repr(str(dup)) if self.ids_are_text else str(int(dup))
            raise DataError(
                self.source, f"sample_id {shown} appears more than once (data rows {rows[0] + 1}, {rows[1] + 1})"
            )

    def fill_class_names(self, names: Mapping[int, str] | None) -> None:
        """Give rows without a class name the name from a class index; a name that is only the label's number
        (``"207"`` for class 207) counts as none. Labels the index lacks keep what they have."""
        if not names or not self.has_classes:
            return
        cn = self.columns["class_name"]
        label = self.class_label
        uniq, inverse, _counts = int_unique(label)  # each label's text once: astype(str) of 1M rows takes 0.3 s
        texts = np.array([str(v) for v in uniq.tolist()], dtype=object)
        empty = np.flatnonzero((cn == "") | (cn == texts[inverse]))
        for i, value in zip(empty.tolist(), label[empty].tolist()):
            if int(value) in names:
                cn[i] = names[int(value)]

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


# Below this size the reference reader is quicker than importing pyarrow's compute module (and, where installed,
# the pandas that pyarrow pulls in: 2-3 s on the way to the window's first frame).
FAST_READER_MIN_BYTES = 2 << 20


def read_table(path: Path, names: Sequence[str] | None = None, cache_kind: str = "csv") -> dict[str, np.ndarray]:
    """Typed columns of a CSV (only ``names`` when given; absent ones are left out), exactly as ``read_csv`` +
    ``typed_columns`` give them: from the binary copy in the user cache when it is fresh, else through pyarrow's
    reader for files of 2 MiB and more, else (a small file, one pyarrow declines, or pyarrow missing) through the
    reference reader, whose messages name the bad row and column. A whole-table read refreshes the cached copy."""
    path = Path(path)
    wanted = None if names is None else set(names)
    cached = table_cache.load(path, cache_kind, names)
    if cached is not None:
        return cached
    raw = read_source(path)
    cols = _read_fast(path, raw, wanted) if len(raw) >= FAST_READER_MIN_BYTES else None
    if cols is None:
        _header, cells = parse_csv(path, raw)
        cols = typed_columns(path, {k: v for k, v in cells.items() if wanted is None or k in wanted})
    if wanted is None:
        table_cache.store(path, cache_kind, cols)
    return cols


def _read_fast(path: Path, raw: bytes, wanted: set[str] | None) -> dict[str, np.ndarray] | None:
    """``read_table`` through pyarrow; None when the reference reader must read the file."""
    try:
        import pyarrow  # noqa: F401 - the desktop bundle leaves pyarrow out; the reference reader works without it

        from . import table_arrow
    except ImportError:
        return None
    header = table_arrow.raw_header(raw)
    if header is None:
        return None
    names = check_header(path, header)
    keep = [i for i, n in enumerate(names) if wanted is None or n in wanted]
    text = table_arrow.read_text_columns(raw, header, keep)
    if text is None:
        return None
    out = {}
    for i in keep:
        name, column = names[i], text[i]
        kind = column_kind(name)
        if name == ID_COLUMN:  # int64 when every id is an integer, else text ids (or the error parse_ids gives)
            ints = table_arrow.to_int(column)
            out[name] = ints if ints is not None else parse_ids(path, table_arrow.to_cells(column))
            continue
        if kind == "str":
            out[name] = table_arrow.to_str(column)
            continue
        if kind == "int":
            values = table_arrow.to_int(column)
        elif kind == "float":
            values = table_arrow.to_float(column)
        else:  # as _guess: int if every cell is one, else float, else str
            values = table_arrow.guess(column)
        out[name] = values if values is not None else typed_columns(path, {name: table_arrow.to_cells(column)})[name]
    return out


def read_sample_table(path: Path) -> tuple[SampleTable, dict[str, np.ndarray]]:
    """A sample table from a CSV, plus all its typed columns (embedding CSVs also carry coordinates)."""
    cols = read_table(Path(path))
    return SampleTable(cols, path), cols
