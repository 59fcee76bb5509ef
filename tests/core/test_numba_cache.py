"""Only the first UMAP fit on a machine compiles: a second process loads every compiled UMAP function from the user
cache (numba reports nothing saved, i.e. nothing compiled) and draws the same seeded map."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # two fresh interpreters import umap and fit a map

FIT = """
import json, sys
import numpy as np
from diffviews_core.embedding import fit_embedding
from diffviews_core.embedding.numba_cache import enable_disk_cache
X = np.random.default_rng(0).standard_normal((200, 24)).astype(np.float32)
coords = fit_embedding(X, seed=42).coords
print(json.dumps({"coords": coords.tolist(), "left_uncached": enable_disk_cache()}))
"""


def fit_in_new_process(cache_dir: str) -> tuple[np.ndarray, int, str]:
    env = {**os.environ, "DIFFVIEWS_CACHE_DIR": cache_dir, "NUMBA_DEBUG_CACHE": "1"}
    env.pop("NUMBA_CACHE_DIR", None)
    proc = subprocess.run([sys.executable, "-c", FIT], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return np.asarray(out["coords"]), out["left_uncached"], proc.stdout + proc.stderr


def test_a_second_process_compiles_nothing_and_draws_the_same_map(tmp_path):
    first, left, _ = fit_in_new_process(str(tmp_path))
    assert left == 0  # every UMAP function had its disk cache switched on at import
    assert any((tmp_path / "numba").rglob("*.nbi"))
    second, _, log = fit_in_new_process(str(tmp_path))
    assert "data saved" not in log and "data loaded" in log
    np.testing.assert_array_equal(first, second)
