"""pyarrow's multithreaded CSV reader with exactly the results of the reference reader in ``table.py``.

Every cell is read as text by pyarrow, then each column is typed by pyarrow's casts only where the result is known to
equal the reference's (a cell pattern that Python's ``int``/``float`` read the same way); any other column is typed
by the reference code, and any file pyarrow objects to returns None so the caller runs the reference reader, which
gives the exact one-line message (row, column, cell). So this module only makes good files fast; it never decides
what a bad file is.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

# Cells matching these, and only these, are converted by pyarrow: Python's int()/float() read each of them, and to
# the same value (both round decimal text correctly). Anything else (spaces, '1_000', '3.0' in an int column,
# Unicode digits, '0x10', which pyarrow would take as hex, '+5', which its int cast refuses) goes to the reference
# conversion; a cast that fails anyway does too.
INT_PATTERN = r"^-?[0-9]+$"
SIGNED_INT_PATTERN = r"^[+-]?[0-9]+$"  # what the reference's int() reads among plain cells: decides int vs float
FLOAT_PATTERN = r"^[+-]?([0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])$"  # noqa: E501
INT64_DIGITS = 18  # at most 18 digits always fit int64; longer integers go to the reference conversion


def raw_header(raw: bytes) -> list[str] | None:
    """The first record's fields as the csv module reads them, or None when the header is not plain (a quoted
    newline, bad UTF-8) and the reference reader should handle the file."""
    end = raw.find(b"\n")
    line = raw if end < 0 else raw[:end]
    if line.count(b'"') % 2:
        return None
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0] if rows else None


def read_text_columns(raw: bytes, header: list[str], wanted: Sequence[int] | None = None):
    """Column index -> pyarrow string array of every data row (blank lines skipped, as the reference does), or None
    when pyarrow rejects the file (ragged rows, bad UTF-8...)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(header))]
    keep = list(range(len(header))) if wanted is None else list(wanted)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=[names[i] for i in keep],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        log.debug("pyarrow declined the CSV (%s); using the reference reader", exc)
        return None
    return {i: table.column(names[i]).combine_chunks() for i in keep}


def _all_match(column, pattern: str) -> bool:
    import pyarrow.compute as pc

    return len(column) == 0 or bool(pc.all(pc.match_substring_regex(column, pattern)).as_py())


def to_int(column) -> np.ndarray | None:
    """int64 when every cell is a plain decimal integer that fits, else None (the reference decides)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _all_match(column, INT_PATTERN):
        return None
    if len(column) and pc.max(pc.utf8_length(pc.utf8_ltrim(column, characters="-0"))).as_py() > INT64_DIGITS:
        return None
    try:
        return pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    except pa.ArrowInvalid:
        return None


def to_float(column) -> np.ndarray | None:
    """float64 when every cell is plain decimal or inf/nan text, else None (the reference decides)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _all_match(column, FLOAT_PATTERN):
        return None
    try:
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    except pa.ArrowInvalid:
        return None


def to_str(column) -> np.ndarray:
    """An object array of str; repeated values share one str object (class names: a thousand strings, not a
    million). Columns of mostly distinct values (image paths) are converted directly: encoding them costs more."""
    head = column.slice(0, 10_000)
    if len(head) and len(head.dictionary_encode().dictionary) > len(head) // 2:
        return column.to_numpy(zero_copy_only=False).astype(object, copy=False)
    encoded = column.dictionary_encode()
    values = np.array(encoded.dictionary.to_pylist(), dtype=object).reshape(-1)
    return values[encoded.indices.to_numpy(zero_copy_only=False)]


def guess(column) -> np.ndarray | None:
    """The reference's typing of an extra column (int if every cell is one, else float, else str), or None when only
    the reference can tell."""
    import pyarrow.compute as pc

    if _all_match(column, SIGNED_INT_PATTERN):
        return to_int(column)
    floats = to_float(column)
    if floats is not None:
        return floats
    first_other = pc.index(pc.invert(pc.match_substring_regex(column, FLOAT_PATTERN)), True).as_py()
    try:
        float(column[first_other].as_py())
    except ValueError:  # no number at all there: the reference's int() and float() both fail, so it is text
        return to_str(column)
    return None


def to_cells(column) -> list[str]:
    """The column as Python strings, for the reference conversion."""
    return column.to_pylist()
