"""The neighbour search warmed after opening: the exact index built ahead over the memory map (same answers as
building it on the click), the stored approximate index loaded where there is one, and nothing built where not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import diffviews_core.knn_index as knn
from diffviews_core.neighbour_warmup import advise_willneed, warm_index
from diffviews_core.neighbours import ActivationIndex


class StoredRows:
    """What the warm-up needs of a ModelData: a memory-mapped (N, D) file."""

    def __init__(self, path: Path, rows: np.ndarray) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "acts.npy", rows)
        self.path, self.name, self.manifest = path, path.name, None
        self.rows = np.load(path / "acts.npy", mmap_mode="r")

    @property
    def num_samples(self) -> int:
        return len(self.rows)

    def activations(self, layers):
        return self.rows


@pytest.fixture
def model(tmp_path):
    rng = np.random.default_rng(0)
    return StoredRows(tmp_path / "model", rng.standard_normal((3000, 16), dtype=np.float32))


def test_read_ahead_is_asked_of_memory_maps_only(model):
    if not hasattr(__import__("mmap"), "MADV_WILLNEED"):
        pytest.skip("no madvise on this platform")
    assert advise_willneed(model.rows) is True
    assert advise_willneed(model.rows[100:200]) is True  # a view of the map
    assert advise_willneed(np.zeros((4, 4), dtype=np.float32)) is False


def test_small_data_gets_the_exact_index_ahead_with_the_same_answers(model):
    messages = []
    index = warm_index(model, ["a"], progress=lambda f, m: messages.append((f, m)))
    assert index.kind == "exact" and messages[-1] == (1.0, "neighbour search ready")
    want = ActivationIndex(np.asarray(model.rows)).query_rows([5, 77], 8)
    got = index.query_rows([5, 77], 8)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


def test_large_data_loads_its_stored_index_and_never_builds_one(model, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("diffviews_core.neighbour_warmup.EXACT_MAX_VALUES", 1000)
    monkeypatch.setattr(knn, "EXACT_MAX_VALUES", 1000)
    assert warm_index(model, ["a"]) is None  # no stored index: only read ahead, nothing built
    assert not (tmp_path / "cache" / "knn").exists()
    pytest.importorskip("faiss", reason="faiss is not installed (pip install 'diffviews-desktop[cluster]')")
    built = knn.dataset_index(model, ["a"])  # the first query builds and stores it
    assert built.kind == "ivf"
    warmed = warm_index(model, ["a"])
    assert warmed is not None and warmed.kind == "ivf" and warmed.recall == built.recall
    np.testing.assert_array_equal(warmed.query_rows(9, 5)[0], built.query_rows(9, 5)[0])
