"""A build killed with SIGKILL halfway resumes and ends with the same bytes as an uninterrupted build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from data_fixtures import tree_checksums

HELPERS = Path(__file__).resolve().parents[1] / "helpers"  # tiny_model.py, for the child process

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, sys.argv[2])
    from tiny_model import seed_like_spec
    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm
    from diffviews_core.pipelines.builder import BuildSpec, build_dataset
    from diffviews_core.pipelines.sources import ArraySource

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    rng = np.random.default_rng(3)
    imgs = rng.integers(0, 256, (9, 16, 16, 3), dtype=np.uint8)
    spec = BuildSpec(sys.argv[1], ArraySource(imgs, np.arange(9) % 4, None), [9.0, 0.3],
                     ["encoder_block_1", "midblock"], batch_size=2, label_mode="both", seed=11)
    slow = len(sys.argv) > 3
    build_dataset(spec, adapter=EDMAdapter(net), progress=(lambda fraction, message: time.sleep(0.15)) if slow else None)
    """
)


def _run(script: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen([sys.executable, str(script), str(out), str(HELPERS), *extra], env=env)


@pytest.mark.slow
def test_sigkill_then_resume_gives_identical_files(tmp_path):
    script = tmp_path / "build.py"
    script.write_text(SCRIPT)
    ref = _run(script, tmp_path / "ref" / "ds")
    victim = _run(script, tmp_path / "killed" / "ds", "slow")
    progress = tmp_path / "killed" / "ds" / ".build" / "progress.json"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and victim.poll() is None:
        if progress.is_file():
            try:
                done = json.loads(progress.read_text())["done"]
            except (ValueError, KeyError):
                done = 0
            if done >= 6:
                break
        time.sleep(0.02)
    assert victim.poll() is None, "the build finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (tmp_path / "killed" / "ds" / "manifest.json").exists()
    assert ref.wait(timeout=120) == 0
    resumed = _run(script, tmp_path / "killed" / "ds")
    assert resumed.wait(timeout=120) == 0
    assert tree_checksums(tmp_path / "killed" / "ds") == tree_checksums(tmp_path / "ref" / "ds")
