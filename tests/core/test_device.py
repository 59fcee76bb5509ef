from __future__ import annotations

import pytest
import torch

from diffviews_core.device import default_threads, pick_device, set_torch_threads


def test_pick_device_auto_and_override():
    assert pick_device() in ("cuda", "mps", "cpu")
    assert pick_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            pick_device("cuda")


def test_thread_count_setting(monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_THREADS", "1")
    assert default_threads() == 1
    before = torch.get_num_threads()
    try:
        assert set_torch_threads(2) == 2
    finally:
        torch.set_num_threads(before)
