"""The "Generate from neighbours" job without a window: typed live steps placed on the map, the unmasked comparison,
lineage replay onto the same places, cancel, and one cached adapter shared with layer extraction."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from tiny_model import LAYERS, write_tiny_model

from diffviews_core.errors import CancelledError
from diffviews_core.formats import open_data
from diffviews_core.lineage import GenerationSettings
from diffviews_core.live_generation import (
    GenerationRequest,
    LiveStep,
    MapView,
    StatusUpdate,
    run_generation,
    run_replay,
)
from diffviews_core.maps import extract_layer
from diffviews_core.model_cache import ModelCache


@pytest.fixture
def model(tmp_path, tiny_net, tiny_adapter, monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    return open_data(write_tiny_model(tmp_path / "data", tiny_net, tiny_adapter, n=12)).models["tiny"]


def _request(model, settings, passes=(True,)) -> GenerationRequest:
    emb = model.embedding("default")
    view = MapView((str(model.path), "default"), tuple(LAYERS), emb.coords2d, emb.coords3d)
    return GenerationRequest(model, (4, 0, 8), settings, class_label=1, passes=passes, map=view)


def test_steps_arrive_typed_and_placed_on_the_map_masked_then_unmasked(model):
    cache = ModelCache(device="cpu")
    settings = GenerationSettings(num_steps=4, mask_steps=2, seed=3, num_samples=2)
    items = []
    out = run_generation(cache, _request(model, settings, (True, False)), items.append)

    statuses = [i.message for i in items if isinstance(i, StatusUpdate)]
    steps = [i for i in items if isinstance(i, LiveStep)]
    assert statuses == ["Loading the model…", "Preparing the map projection…"] and items[: 2] == [
        StatusUpdate(m) for m in statuses]  # fmt: skip
    assert [(s.pass_index, s.record.step) for s in steps] == [(p, k) for p in (0, 1) for k in range(4)]
    for s in steps:
        assert s.projected.coords2d.shape == (2, 2) and s.projected.coords3d.shape == (2, 3)
        assert s.projected.activations.shape == (2, 2 * 128 * 4 * 4)
    masked = [s.projected.distances for s in steps if s.pass_index == 0]
    plain = [s.projected.distances for s in steps if s.pass_index == 1]
    assert settings.masked_steps() == [0, 1]
    np.testing.assert_allclose(np.concatenate(masked[:2]), 0.0, atol=1e-3)  # on the selection's mean while masked
    assert np.all(np.concatenate(masked[2:]) > 1e-2) and np.all(np.concatenate(plain) > 1e-2)
    (res_masked, lin_masked), (res_plain, lin_plain) = out
    assert lin_masked.masked and not lin_plain.masked and lin_masked.class_label == 1
    assert res_masked.images.tobytes() != res_plain.images.tobytes()

    result, placed = run_replay(cache, lin_masked, model, _request(model, settings).map)
    assert result.images.tobytes() == res_masked.images.tobytes()
    for live, again in zip([s for s in steps if s.pass_index == 0], placed, strict=True):
        np.testing.assert_allclose(again.coords2d, live.projected.coords2d, rtol=1e-6)
        np.testing.assert_allclose(again.distances, live.projected.distances, rtol=1e-5, atol=1e-4)
    assert len(cache.adapters) == 1 and len(cache.projectors_cache) == 1


def test_cancel_stops_between_steps(model):
    cancel = threading.Event()
    items = []

    def publish(item):
        items.append(item)
        if isinstance(item, LiveStep) and item.record.step == 1:
            cancel.set()

    with pytest.raises(CancelledError):
        run_generation(ModelCache(device="cpu"), _request(model, GenerationSettings(num_steps=6)), publish, cancel)
    assert [i.record.step for i in items if isinstance(i, LiveStep)] == [0, 1]


def test_generation_and_extraction_share_one_adapter(model):
    cache = ModelCache(device="cpu")
    run_generation(cache, _request(model, GenerationSettings(num_steps=2)), lambda _item: None)
    adapter = cache.adapter(model)
    paths, shapes = extract_layer(model, "encoder_block_0", cache)
    assert cache.adapter(model) is adapter and len(cache.adapters) == 1
    assert np.load(paths["encoder_block_0"]).shape[0] == 12
    assert shapes == {"encoder_block_0": tuple(adapter.get_layer_shapes()["encoder_block_0"])}
