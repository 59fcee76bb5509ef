"""Shared fixtures: the tiny EDM configuration with the spec's seeding recipe."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# As the app does at start-up (before numpy loads): a fixed BLAS thread count, never changed while threads run.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def pytest_configure(config):
    # One torch thread: on a shared 2-core box more threads were 10-15x slower, and results stay bit-stable.
    import torch

    torch.set_num_threads(1)


def seed_like_spec(net) -> None:
    """Every parameter, in sorted-name order, = randn(shape, one generator seeded 0) * 0.1; buffers untouched."""
    import torch

    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _name, p in sorted(net.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


@pytest.fixture
def tiny_net():
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    return net


@pytest.fixture
def tiny_adapter(tiny_net):
    from diffviews_core.adapters.edm import EDMAdapter

    return EDMAdapter(tiny_net, device="cpu")
