"""The fast table reader (pyarrow + a binary copy in the user cache) gives exactly what the reference reader gives:
the same columns, types and values for good files, the same one-line message for bad ones."""

from __future__ import annotations

import csv
import io
import os
import random

import numpy as np
import pytest

from diffviews_core.errors import DataError
from diffviews_core.formats import table, table_cache
from diffviews_core.formats.table import read_csv, read_table, typed_columns


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(table, "FAST_READER_MIN_BYTES", 0)  # these small files take the fast path too


def reference(path):
    return typed_columns(path, read_csv(path)[1])


def assert_same(fast, ref):
    assert list(fast) == list(ref)
    for name in ref:
        assert fast[name].dtype == ref[name].dtype, name
        if ref[name].dtype == object:
            assert fast[name].tolist() == ref[name].tolist(), name
        else:
            np.testing.assert_array_equal(fast[name], ref[name], err_msg=name)


# Cells that Python's int()/float() and pyarrow's casts read differently, or that only one of them reads.
TRICKY = ["0x10", "nan(1)", " 1", "1 ", "1_000", "3.0", "+5", "-0", "1e5", ".5", "5.", "inf", "-Infinity", "NaN",
          "1e400", "99999999999999999999", "00012", "", "١٢", "1,5", "tench, Tinca tinca", 'say "hi"', "a\nb"]  # fmt: skip


def write_rows(path, header, rows, newline="\n", bom=False):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_read_as_the_reference_reads_them(tmp_path, seed):
    rng = random.Random(seed)
    n = rng.choice([0, 1, 5, 60])
    header = ["sample_id", "class_label", "class_name", "conditioning_sigma", "umap_x", "extra_a", "extra_b"]
    pools = {
        "int": lambda: str(rng.randint(-(10**6), 10**6)),
        "float": lambda: rng.choice([repr(rng.uniform(-1e3, 1e3)), f"{rng.gauss(0, 1):.6f}", f"{rng.random():.9g}"]),
        "str": lambda: rng.choice(["tench, Tinca tinca", "bag", 'tiger "shark"', "", "caf\u00e9"]),
    }
    kinds = ["int", "int", "str", "float", "float", rng.choice(list(pools)), rng.choice(list(pools))]
    rows = [[pools[k]() for k in kinds] for _ in range(n)]
    if n and rng.random() < 0.6:  # one odd cell somewhere
        rows[rng.randrange(n)][rng.randrange(len(header))] = rng.choice(TRICKY)
    path = tmp_path / "t.csv"
    write_rows(path, header, rows, newline=rng.choice(["\n", "\r\n"]), bom=rng.random() < 0.3)
    try:
        ref = reference(path)
    except (DataError, OverflowError) as exc:
        with pytest.raises(type(exc)) as info:
            read_table(path)
        assert str(info.value) == str(exc)
        return
    assert_same(read_table(path), ref)


@pytest.mark.parametrize("cell", TRICKY)
@pytest.mark.parametrize("column", ["class_label", "umap_x", "class_name", "extra"])
def test_each_tricky_cell_in_each_kind_of_column(tmp_path, cell, column):
    path = tmp_path / "t.csv"
    write_rows(path, ["sample_id", column], [["1", "7"], ["2", cell], ["3", "8"]])
    try:
        ref = reference(path)
    except (DataError, OverflowError) as exc:
        with pytest.raises(type(exc)) as info:
            read_table(path)
        assert str(info.value) == str(exc)
        return
    assert_same(read_table(path), ref)


BAD_FILES = {
    "empty": b"",
    "ragged row": b"sample_id,class_label,image_path\n1,2,a.png\n3,4\n",
    "blank-looking row": b"sample_id,class_label\n1,2\n \n",
    "not UTF-8": b"sample_id,class_name\n1,t\xe9nch\n",
    "duplicate column": b"sample_id,a, a\n1,2,3\n",
    "not a number": b"sample_id,class_label\n1,2\nabc,3\n",
    "unterminated quote": b'sample_id,class_name\n1,"tench\n',
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_give_the_reference_message(tmp_path, case):
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD_FILES[case])
    try:
        reference(path)
    except DataError as exc:
        expected = str(exc)
    else:
        assert case == "unterminated quote"  # the csv module accepts it; then both readers must agree
        assert_same(read_table(path), reference(path))
        return
    with pytest.raises(DataError) as info:
        read_table(path)
    assert str(info.value) == expected


def test_good_tables_take_the_fast_path(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    rows = [[i, i % 7, "tench, Tinca tinca", f"images/{i:06d}.png", 80.0, "n0144", i * 0.5] for i in range(500)]
    write_rows(path, ["sample_id", "class_label", "class_name", "image_path", "conditioning_sigma", "synset", "x"],
               rows)  # fmt: skip
    ref = reference(path)
    monkeypatch.setattr(table, "parse_csv", lambda *a: pytest.fail("the reference reader ran on a good file"))
    fast = read_table(path)
    assert_same(fast, ref)
    assert fast["synset"].dtype == object and fast["x"].dtype == np.float64
    assert fast["class_name"][0] is fast["class_name"][1]  # repeated names share one str


def test_some_columns_only(tmp_path):
    path = tmp_path / "t.csv"
    write_rows(path, ["sample_id", "umap_x", "class_name"], [[1, 0.5, "a"], [2, 1.5, "b"]])
    cols = read_table(path, ["umap_x", "class_label"])
    assert list(cols) == ["umap_x"] and cols["umap_x"].tolist() == [0.5, 1.5]


def big_table(path, n=30_000):
    rows = [[i, i % 10, f"class {i % 10}, x", f"images/sample_{i:06d}.png", 0.5 * (i % 4), f"{i * 0.25:.6f}"]
            for i in range(n)]  # fmt: skip
    write_rows(path, ["sample_id", "class_label", "class_name", "image_path", "conditioning_sigma", "umap_x"], rows)
    assert path.stat().st_size > table_cache.MIN_SOURCE_BYTES


def test_a_warm_read_comes_from_the_cache(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    big_table(path)
    first = read_table(path)
    assert table_cache.cache_file(path, "csv").is_file()
    monkeypatch.setattr(table, "read_source", lambda p: pytest.fail("the CSV was parsed again"))
    assert_same(read_table(path), first)
    part = read_table(path, ["umap_x", "class_label"])
    assert list(part) == ["class_label", "umap_x"] and np.array_equal(part["umap_x"], first["umap_x"])


def test_a_changed_file_is_parsed_again(tmp_path):
    path = tmp_path / "big.csv"
    big_table(path)
    read_table(path)
    text = path.read_text().replace("class 3, x", "class 3, y")  # same size
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert read_table(path)["class_name"][3] == "class 3, y"
    path.write_text(text + "30000,1,z,a.png,0.5,1.0\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime, other size
    assert len(read_table(path)["sample_id"]) == 30_001


def test_a_damaged_or_foreign_cache_file_is_ignored(tmp_path):
    path = tmp_path / "big.csv"
    big_table(path)
    first = read_table(path)
    target = table_cache.cache_file(path, "csv")
    for junk in (b"PK\x03\x04 not a zip", b""):
        target.write_bytes(junk)
        assert_same(read_table(path), first)
    # an .npz holding a pickled object array is never unpickled: np.load(allow_pickle=False) refuses, we re-parse
    stamp = np.load(target)["stamp"]
    with open(target, "wb") as fh:
        np.savez(fh, stamp=stamp, names=np.frombuffer(b"sample_id", np.uint8), counts=np.array([-1]),
                 n0=np.array([object()], dtype=object))  # fmt: skip
    assert_same(read_table(path), first)


def test_small_files_are_not_copied(tmp_path):
    path = tmp_path / "small.csv"
    write_rows(path, ["sample_id", "class_label"], [[1, 2]])
    read_table(path)
    assert not table_cache.cache_file(path, "csv").exists()


def test_a_cache_member_promising_more_than_it_holds_is_ignored(tmp_path):
    """A cached copy is read only after each member's header is checked against its size: a header claiming 8 TiB
    costs nothing (no allocation, no MemoryError); the CSV is parsed again."""
    import zipfile

    from numpy.lib import format as npf

    path = tmp_path / "big.csv"
    big_table(path)
    first = read_table(path)
    target = table_cache.cache_file(path, "csv")
    stamp = np.load(target)["stamp"]
    with zipfile.ZipFile(target, "w") as zf:
        for name, arr in (("stamp", stamp), ("names", np.frombuffer(b"sample_id", np.uint8)),
                          ("counts", np.array([-1]))):  # fmt: skip
            with zf.open(f"{name}.npy", "w") as fh:
                npf.write_array(fh, arr)
        with zf.open("n0.npy", "w") as fh:
            npf.write_array_header_1_0(fh, {"descr": "<i8", "fortran_order": False, "shape": (1 << 40,)})
            fh.write(b"\0" * 64)
    assert_same(read_table(path), first)


def test_a_fifo_or_an_oversized_table_is_refused_without_reading(tmp_path, monkeypatch):
    fifo = tmp_path / "samples.csv"
    os.mkfifo(fifo)  # a reader that opened it would block forever
    with pytest.raises(DataError, match="not a regular file"):
        read_table(fifo)
    path = tmp_path / "big.csv"
    write_rows(path, ["sample_id", "class_label", "image_path"], [[i, 1, f"images/{i}.png"] for i in range(100)])
    monkeypatch.setattr(table, "MAX_CSV_BYTES", 1000)
    with pytest.raises(DataError, match="more than the 1,000"):
        read_table(path)
