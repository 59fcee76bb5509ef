"""The benchmarks that need a display (GL canvas, the real window) run on tiny sizes (``--smoke``) too."""

from __future__ import annotations

import pytest
from benchmark_runs import NEEDS_DISPLAY, run_smoke


@pytest.mark.slow
@pytest.mark.parametrize("name", NEEDS_DISPLAY)
def test_gl_benchmark_smoke_run(name, tmp_path):
    out = run_smoke(name, tmp_path)
    if name == "bench_startup.py":
        assert "heavy modules imported before the first frame: -" in out
