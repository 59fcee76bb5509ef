from __future__ import annotations

import pytest
import torch

from diffviews_core.device import default_threads, pick_device, set_torch_threads


@pytest.mark.parametrize(("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device() == expected
    assert pick_device("auto") == expected
    assert pick_device("cpu") == "cpu"  # an explicit choice wins


def test_asking_for_cuda_without_it_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA"):
        pick_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("cuda:1") == "cuda:1"


def test_thread_count_setting(monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_THREADS", "1")
    assert default_threads() == 1
    before = torch.get_num_threads()
    try:
        assert set_torch_threads(2) == 2
    finally:
        torch.set_num_threads(before)
