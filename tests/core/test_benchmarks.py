"""Every benchmark runs on tiny sizes (``--smoke``), so none of them rots between measurements; speed goals are the
benchmarks' figures, never asserted here. The ones that need a display run in tests/gl/test_benchmarks_gl.py."""

from __future__ import annotations

import pytest
from benchmark_runs import NEEDS_DISPLAY, all_benchmarks, run_smoke

ENGINE_BENCHMARKS = [name for name in all_benchmarks() if name not in NEEDS_DISPLAY]


def test_every_benchmark_has_a_smoke_run():
    assert len(all_benchmarks()) >= 10 and set(NEEDS_DISPLAY) <= set(all_benchmarks())
    assert sorted(ENGINE_BENCHMARKS + list(NEEDS_DISPLAY)) == all_benchmarks()


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINE_BENCHMARKS)
def test_benchmark_smoke_run(name, tmp_path):
    out = run_smoke(name, tmp_path)
    assert "CHECKSUM MISMATCH" not in out and "tripwire fired: True" not in out
