"""Device and thread-count choice for torch work."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def pick_device(preferred: str | None = None) -> str:
    """``preferred`` if given (``cuda``, ``mps``, ``cpu``), else CUDA > MPS > CPU."""
    import torch

    if preferred and preferred != "auto":
        if preferred.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
        return preferred
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def default_threads() -> int:
    """``DIFFVIEWS_THREADS``, else half the logical CPUs: on small shared boxes extra threads cost 10x or more."""
    env = os.environ.get("DIFFVIEWS_THREADS")
    if env:
        return max(1, int(env))
    return max(1, (os.cpu_count() or 2) // 2)


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads() -> None:
    """Fix the BLAS/OpenMP thread count once, at process start (before numpy loads), from ``default_threads()``.

    Changing it later (threadpoolctl) from one thread while another is inside a BLAS call can crash OpenBLAS, and the
    app runs BLAS in several worker threads at once; variables the user set win.
    """
    for var in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(var, str(default_threads()))


def set_torch_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count to ``n`` (or the default); returns the count in force."""
    import torch

    n = n or default_threads()
    torch.set_num_threads(int(n))
    log.debug("torch threads set to %d", n)
    return torch.get_num_threads()
