"""The activation neighbour index: exact for small data, approximate (faiss IVF, re-ranked exactly) with a measured
recall for large data, built once per dataset and layers and loaded afterwards."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

import diffviews_core.knn_index as knn
from diffviews_core.errors import CancelledError
from diffviews_core.neighbours import ActivationIndex

pytest.importorskip("faiss", reason="faiss is not installed (pip install 'diffviews-desktop[cluster]')")


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((30, dim)).astype(np.float32) * 3
    return centres[rng.integers(0, 30, n)] + rng.standard_normal((n, dim), dtype=np.float32)


class StoredRows:
    """What ``dataset_index`` needs of a ModelData."""

    def __init__(self, path: Path, rows: np.ndarray) -> None:
        self.path, self.name, self.manifest, self.rows = path, path.name, None, rows

    @property
    def num_samples(self) -> int:
        return len(self.rows)

    def activations(self, layers):
        return self.rows


@pytest.fixture(scope="module")
def rows():
    return clustered(12000, 24)


def test_small_data_gets_the_exact_scan(rows):
    index = knn.build_index(rows[:500], "cosine")
    assert index.kind == "exact" and index.recall == 1.0
    want = ActivationIndex(rows[:500], "cosine").query_rows([3, 7], 5)
    got = index.query_rows([3, 7], 5)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_approximate_index_reaches_its_measured_recall(rows, metric):
    fractions = []
    index = knn.build_index(rows, metric, "approx", progress=lambda f, m: fractions.append(f))
    assert index.kind == "ivf" and index.recall >= knn.TARGET_RECALL
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert knn.measure_recall(index, queries=100, seed=5) >= 0.9  # on other rows than the tuning ones
    exact = knn.ExactIndex(rows, metric)
    got_rows, got_d = index.query_rows(11, 10)
    assert 11 not in got_rows
    want_rows, want_d = exact.query_rows(11, 10)
    shared = np.isin(got_rows, want_rows)
    # re-ranked exactly: the distances of the rows found are the true ones
    np.testing.assert_allclose(got_d[shared], want_d[np.isin(want_rows, got_rows)], rtol=1e-5)
    q = rows[40] + 0.01
    assert index.query(q, 3, exclude=[40])[0][0] != 40 and index.query(q, 3)[0][0] == 40


def test_dataset_index_is_built_once_then_loaded(rows, tmp_path, monkeypatch):
    monkeypatch.setattr(knn, "EXACT_MAX_VALUES", 0)
    model = StoredRows(tmp_path / "model", rows)
    first = knn.dataset_index(model, ["midblock"], folder=tmp_path / "index")
    assert first.kind == "ivf" and (tmp_path / "index" / "index.faiss").is_file()

    def no_build(*args, **kwargs):
        raise AssertionError("the stored index should have been loaded")

    monkeypatch.setattr(knn, "build_index", no_build)
    again = knn.dataset_index(model, ["midblock"], folder=tmp_path / "index")
    assert again.kind == "ivf" and again.nprobe == first.nprobe and again.recall == first.recall
    np.testing.assert_array_equal(again.query_rows(5, 8)[0], first.query_rows(5, 8)[0])
    assert knn.load_index(tmp_path / "index", rows[:-1], "euclidean") is None  # other rows: rebuilt, not reused
    assert knn.load_index(tmp_path / "index", rows, "cosine") is None
    (tmp_path / "index" / "index.faiss").write_bytes(b"not an index")
    assert knn.load_index(tmp_path / "index", rows, "euclidean") is None


def test_building_is_cancellable_and_needs_faiss_to_approximate(rows, monkeypatch, caplog):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        knn.build_index(rows, "euclidean", "approx", cancel=cancel)
    monkeypatch.setattr(knn, "faiss_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="diffviews_core.knn_index"):
        assert knn.build_index(rows, "euclidean", "approx").kind == "exact"
    assert "needs faiss" in caplog.text


def test_rows_holding_nan_or_inf_are_never_approximate_neighbours():
    """As in the exact scan (issue 11): NaN/inf rows are never returned, and querying one is a clear ValueError."""
    data = clustered(3000, 16, seed=3)
    bad = [5, 17, 2999]
    data[5, 3], data[17, 0], data[2999, :] = np.nan, np.inf, -np.inf
    index = knn.build_index(data, "euclidean", "approx")
    assert index.kind == "ivf"
    got, dists = index.query_rows(np.arange(100, 140), 20)
    assert not np.isin(got, bad).any() and np.isfinite(dists).all()
    got, _ = index.query(np.zeros(16, dtype=np.float32), 10)
    assert not np.isin(got, bad).any()
    with pytest.raises(ValueError, match="row 17 hold NaN or infinite"):
        index.query_rows(17, 5)
    with pytest.raises(ValueError, match="NaN or infinite"):
        index.query(data[2999], 5)


def test_a_damaged_stored_index_is_rebuilt_not_read(rows, tmp_path, monkeypatch):
    import json
    import os

    monkeypatch.setattr(knn, "EXACT_MAX_VALUES", 0)
    folder = tmp_path / "index"
    knn.dataset_index(StoredRows(tmp_path / "model", rows), ["midblock"], folder=folder)
    record = json.loads((folder / "index.json").read_text())
    for nprobe in ("8", None, 0, True, [1]):
        (folder / "index.json").write_text(json.dumps({**record, "nprobe": nprobe}))
        assert knn.load_index(folder, rows, "euclidean") is None
    (folder / "index.json").write_text(json.dumps(record))
    (folder / "index.faiss").unlink()
    os.mkfifo(folder / "index.faiss")  # faiss would block reading it
    assert knn.load_index(folder, rows, "euclidean") is None
