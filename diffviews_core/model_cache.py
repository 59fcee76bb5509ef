"""The loaded models (adapters) and map projectors of a session: built once, shared, bounded, thread-safe.

Layer extraction and generation both ask this cache, so a checkpoint is loaded once however many jobs use it, and
the least recently used adapters and projectors are dropped beyond the cache's bounds (a long session does not keep
every model it ever touched). Building happens in the calling (worker) thread; two jobs asking for the same entry
wait for one build. Jobs that register hooks on an adapter (extraction, generation) hold its ``lease`` so their
hooks never interleave.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .jobs import check_cancelled

log = logging.getLogger(__name__)

WAIT_SLICE_S = 0.05  # how often a job waiting for a build or a lease checks whether it was cancelled
MAX_ADAPTER_BYTES = 2 << 30  # loaded weights kept beyond the newest model (which is always kept)
MAX_PROJECTOR_BYTES = 256 << 20  # map projectors (PCA stages and fitted coordinates) kept for generation


class _Build:
    """A build in progress: waiters block on ``done`` and then look in the cache again."""

    def __init__(self) -> None:
        self.done = threading.Event()


class LRUCache:
    """Values built on first use, least recently used first out beyond ``max_items`` entries or ``max_bytes``.

    ``sizeof(value)`` measures an entry once, when it is stored. The newest entry is always kept, even alone over
    ``max_bytes``. ``get`` builds in the calling thread, outside the lock, one build per key at a time; a failed
    build raises in the thread that ran it, and a waiting thread then tries again itself.
    """

    def __init__(self, max_items: int, max_bytes: int | None = None, sizeof: Callable[[Any], int] = lambda _v: 0,
                 name: str = "cache") -> None:  # fmt: skip
        if max_items < 1:
            raise ValueError("an LRU cache needs room for at least one entry")
        self.max_items, self.max_bytes, self.sizeof, self.name = max_items, max_bytes, sizeof, name
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._building: dict[Hashable, _Build] = {}

    def get(self, key: Hashable, build: Callable[[], Any], cancel: threading.Event | None = None) -> Any:
        """The value of ``key``, built with ``build()`` when absent; waiting for another thread's build of the same
        key stops with CancelledError once ``cancel`` is set."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                pending = self._building.get(key)
                if pending is None:
                    pending = self._building[key] = _Build()
                    break
            while not pending.done.wait(WAIT_SLICE_S):
                check_cancelled(cancel, f"{self.name}: cancelled while another job loads the same entry")
        try:
            value = build()
            size = int(self.sizeof(value))
            with self._lock:
                self._items[key] = (value, size)
                self._evict()
            return value
        finally:
            with self._lock:
                del self._building[key]
            pending.done.set()

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` (computed elsewhere, e.g. in a job) as the most recent entry, evicting beyond the bounds."""
        size = int(self.sizeof(value))
        with self._lock:
            self._items[key] = (value, size)
            self._items.move_to_end(key)
            self._evict()

    def recall(self, key: Hashable) -> Any | None:
        """The value of ``key`` if it is held, made the most recent; else None (nothing is built)."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def peek(self, key: Hashable) -> Any | None:
        """The value of ``key`` if it is held (without building it or making it recent), else None."""
        with self._lock:
            item = self._items.get(key)
        return None if item is None else item[0]

    def _evict(self) -> None:
        while len(self._items) > 1 and (
            len(self._items) > self.max_items or (self.max_bytes is not None and self.nbytes > self.max_bytes)
        ):
            key, (_value, size) = self._items.popitem(last=False)
            log.info("%s: dropped %s (%.1f MB)", self.name, key, size / 1e6)

    @property
    def nbytes(self) -> int:
        """Bytes held, as measured by ``sizeof``."""
        return sum(size for _value, size in self._items.values())

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def keys(self) -> list[Hashable]:
        """Keys held, least recently used first."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def adapter_nbytes(adapter) -> int:
    """Bytes of an adapter's network parameters and buffers (0 when it exposes no torch module as ``net``)."""
    net = getattr(adapter, "net", None)
    if net is None or not hasattr(net, "parameters"):
        return 0
    tensors = [*net.parameters(), *(net.buffers() if hasattr(net, "buffers") else ())]
    return sum(t.numel() * t.element_size() for t in tensors)


class ModelCache:
    """Adapters, one per (adapter, checkpoint, device), and map projectors, one per (model, map, layers).

    ``device``, ``adapter_name`` and ``checkpoint`` are the launch options that override every model's config.json
    (``--device``, ``--adapter``, ``--checkpoint-path``).
    """

    def __init__(self, *, device: str | None = None, adapter_name: str | None = None,
                 checkpoint: Path | str | None = None, max_adapters: int = 2,
                 max_adapter_bytes: int | None = MAX_ADAPTER_BYTES, max_projectors: int = 8,
                 max_projector_bytes: int | None = MAX_PROJECTOR_BYTES) -> None:  # fmt: skip
        self.device, self.adapter_name = device, adapter_name
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.adapters = LRUCache(max_adapters, max_adapter_bytes, sizeof=adapter_nbytes, name="adapters")
        self.projectors_cache = LRUCache(max_projectors, max_projector_bytes, sizeof=lambda p: p.nbytes(),
                                         name="map projectors")  # fmt: skip
        self._leases: dict[Hashable, threading.Lock] = {}
        self._leases_lock = threading.Lock()

    # ---- adapters ---------------------------------------------------------------------------------------------
    def adapter_key(self, model) -> tuple[str, str, str]:
        """(adapter name, resolved checkpoint path, device): what identifies loaded weights."""
        from .device import pick_device
        from .pipelines.layer_extraction import checkpoint_of

        checkpoint = self.checkpoint or checkpoint_of(model)
        name = self.adapter_name or model.config["adapter"]
        return name, str(Path(checkpoint).resolve()), pick_device(self.device)

    def adapter(self, model, cancel: threading.Event | None = None):
        """The model's adapter, loaded on first use (here, in the calling thread) and shared afterwards."""
        from .pipelines.layer_extraction import load_adapter

        key = self.adapter_key(model)
        return self.adapters.get(key, lambda: load_adapter(model, key[1], key[0], key[2]), cancel)

    @contextmanager
    def lease(self, model, cancel: threading.Event | None = None) -> Iterator[Any]:
        """The model's adapter for exclusive use while the block runs (hooks, forward passes): another job asking
        for the same weights waits, checking ``cancel``."""
        key = self.adapter_key(model)
        adapter = self.adapter(model, cancel)
        with self._leases_lock:
            lock = self._leases.setdefault(key, threading.Lock())
        while not lock.acquire(timeout=WAIT_SLICE_S):
            check_cancelled(cancel, "cancelled while another job used the model")
        try:
            yield adapter
        finally:
            lock.release()

    # ---- projectors -------------------------------------------------------------------------------------------
    def projectors(self, model, map_key: tuple[str, str], layers: Sequence[str], coords2d: np.ndarray,
                   coords3d: np.ndarray | None, cancel: threading.Event | None = None):  # fmt: skip
        """The ``MapProjectors`` placing activations of ``layers`` on the map ``map_key`` (model path, map name),
        fitted on the model's stored rows on first use."""
        from .trajectory_projection import MapProjectors

        key = (*map_key, tuple(layers))
        return self.projectors_cache.get(
            key, lambda: MapProjectors.fit(model.activations(sorted(layers)), coords2d, coords3d, cancel), cancel
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by every cached adapter and projector."""
        return self.adapters.nbytes + self.projectors_cache.nbytes
