"""The session's cache of adapters and map projectors: built once per key even when asked concurrently, bounded
(least recently used out), leases that keep two jobs' hooks apart, and waits that a cancel ends."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from tiny_model import LAYERS, write_tiny_model

from diffviews_core.errors import CancelledError, DataError
from diffviews_core.formats import open_data
from diffviews_core.model_cache import LRUCache, ModelCache


def test_lru_builds_once_and_drops_the_least_recently_used():
    built = []
    cache = LRUCache(max_items=2, name="test")

    def build(key):
        built.append(key)
        return f"value {key}"

    assert cache.get("a", lambda: build("a")) == "value a"
    assert cache.get("a", lambda: build("a")) == "value a"
    cache.get("b", lambda: build("b"))
    cache.get("a", lambda: build("a"))  # a is now the most recent
    cache.get("c", lambda: build("c"))  # so b goes
    assert built == ["a", "b", "c"] and cache.keys() == ["a", "c"]
    assert cache.peek("b") is None and cache.peek("a") == "value a"
    assert built == ["a", "b", "c"]  # peek never builds


def test_lru_byte_bound_keeps_at_least_the_newest_entry():
    cache = LRUCache(max_items=10, max_bytes=100, sizeof=len, name="test")
    cache.get(1, lambda: "x" * 60)
    cache.get(2, lambda: "x" * 30)
    assert cache.keys() == [1, 2] and cache.nbytes == 90
    cache.get(3, lambda: "x" * 20)
    assert cache.keys() == [2, 3] and cache.nbytes == 50
    cache.get(4, lambda: "x" * 500)  # over the bound alone: kept, everything older goes
    assert cache.keys() == [4] and cache.nbytes == 500


def test_values_computed_elsewhere_are_stored_recalled_and_evicted_by_size():
    cache = LRUCache(max_items=10, max_bytes=100, sizeof=len, name="test")
    cache.put("a", "x" * 40)
    cache.put("b", "x" * 40)
    assert cache.recall("a") == "x" * 40  # a is now the most recent
    cache.put("c", "x" * 40)  # 120 bytes: the least recently used (b) goes
    assert cache.keys() == ["a", "c"] and cache.nbytes == 80
    assert cache.recall("b") is None and "b" not in cache and "a" in cache
    cache.put("a", "x" * 10)  # replacing an entry re-measures it
    assert cache.keys() == ["c", "a"] and cache.nbytes == 50 and len(cache) == 2


def test_concurrent_requests_wait_for_one_build():
    cache = LRUCache(max_items=2, name="test")
    started, release = threading.Event(), threading.Event()
    builds, results = [], []

    def slow():
        builds.append(threading.get_ident())
        started.set()
        assert release.wait(10)
        return object()

    first = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first build, not building again
    release.set()
    first.join(10)
    second.join(10)
    assert len(builds) == 1 and len(results) == 2 and results[0] is results[1]


def test_a_wait_ends_on_cancel_and_a_failed_build_is_retried():
    cache = LRUCache(max_items=2, name="test")
    started, release = threading.Event(), threading.Event()
    errors = []

    def failing():
        started.set()
        assert release.wait(10)
        raise OSError("disk gone")

    def first():
        try:
            cache.get("k", failing)
        except OSError as exc:
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(10)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError, match="another job loads the same entry"):
        cache.get("k", lambda: "never", cancel)
    release.set()
    t.join(10)
    assert [str(e) for e in errors] == ["disk gone"] and cache.keys() == []
    assert cache.get("k", lambda: "second try") == "second try"


@pytest.fixture
def model(tmp_path, tiny_net, tiny_adapter):
    return open_data(write_tiny_model(tmp_path, tiny_net, tiny_adapter, n=12)).models["tiny"]


def test_one_adapter_per_checkpoint_and_leases_are_exclusive(model, tmp_path):
    cache = ModelCache(device="cpu")
    adapter = cache.adapter(model)
    assert cache.adapter(model) is adapter and len(cache.adapters) == 1
    assert cache.adapter_key(model) == ("edm", str((model.path / "checkpoints" / "tiny.safetensors").resolve()), "cpu")
    assert cache.nbytes == sum(p.numel() * 4 for p in adapter.net.parameters()) + sum(
        b.numel() * b.element_size() for b in adapter.net.buffers())  # fmt: skip

    waiting_done = threading.Event()
    order = []
    with cache.lease(model) as leased:
        assert leased is adapter

        def other():
            with cache.lease(model):
                order.append("other")
            waiting_done.set()

        t = threading.Thread(target=other)
        t.start()
        t.join(0.2)
        assert t.is_alive() and order == []  # the second job waits for the lease
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(CancelledError, match="another job used the model"):
            with cache.lease(model, cancel):
                pass
        order.append("first")
    assert waiting_done.wait(10) and order == ["first", "other"]


def test_a_model_without_weights_is_a_message_naming_its_config(model):
    del model.config["checkpoint"]
    with pytest.raises(DataError, match="config.json.*need a checkpoint"):
        ModelCache(device="cpu").adapter(model)
    override = ModelCache(device="cpu", checkpoint=model.path / "checkpoints" / "tiny.safetensors")
    assert override.adapter(model).resolution == 16  # --checkpoint-path stands in for the missing entry


def test_projectors_are_fitted_once_per_map_and_bounded_in_bytes(model):
    coords = model.embedding(model.embedding_names[0])
    cache = ModelCache(device="cpu", max_projectors=4)
    p = cache.projectors(model, (str(model.path), "default"), LAYERS, coords.coords2d, coords.coords3d)
    assert cache.projectors(model, (str(model.path), "default"), LAYERS, coords.coords2d, coords.coords3d) is p
    assert p.projector3d is not None and p.projector3d.stage is p.projector2d.stage
    np.testing.assert_allclose(p.projector2d.project(model.activations(LAYERS)[:3]), coords.coords2d[:3], atol=1e-5)
    assert cache.nbytes == p.nbytes() > 0
    small = ModelCache(device="cpu", max_projector_bytes=p.nbytes() + 1)
    small.projectors(model, (str(model.path), "a"), LAYERS, coords.coords2d, None)
    small.projectors(model, (str(model.path), "b"), LAYERS, coords.coords2d, None)
    assert small.projectors_cache.keys() == [(str(model.path), "b", tuple(LAYERS))]
