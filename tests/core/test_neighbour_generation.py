"""Generate from a selection's mean stored activation, lineage round trip, bit-identical replay."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from tiny_model import LAYERS, write_tiny_model

from diffviews_core.errors import CancelledError, DataError, DiffViewsError
from diffviews_core.formats import open_data
from diffviews_core.lineage import GenerationSettings, Lineage
from diffviews_core.neighbour_generation import generate_from_samples, mean_activations, replay


@pytest.fixture
def tiny_model_dir(tmp_path, tiny_net, tiny_adapter):
    """An original-layout model folder whose activations really come from the tiny network."""
    return write_tiny_model(tmp_path, tiny_net, tiny_adapter, n=12)


@pytest.fixture
def model_data(tiny_model_dir):
    return open_data(tiny_model_dir).models["tiny"]


def _adapter(model_data):
    from diffviews_core import get_adapter

    return get_adapter(model_data.config["adapter"]).from_checkpoint(model_data.config["checkpoint"])


def test_mean_activation_of_selection(model_data):
    means = mean_activations(model_data, [0, 4, 8], LAYERS)
    rows = model_data.activations(LAYERS)[[0, 4, 8]]
    np.testing.assert_allclose(means["encoder_bottleneck"], rows[:, :2048].mean(0), rtol=1e-6)
    np.testing.assert_allclose(means["midblock"], rows[:, 2048:].mean(0), rtol=1e-6)


def test_generate_from_samples_records_lineage_and_replays_bit_for_bit(model_data, tmp_path):
    adapter = _adapter(model_data)
    settings = GenerationSettings(num_steps=4, mask_steps=2, guidance_scale=1.5, seed=11, num_samples=2)
    steps, progress = [], []
    result, lineage = generate_from_samples(adapter, model_data, [4, 0, 8], LAYERS, settings, on_step=steps.append,
                                            progress=lambda f, m: progress.append((f, m)))  # fmt: skip
    assert progress == [(k / 4, f"step {k} of 4") for k in range(5)]
    assert lineage.class_label == 0  # the selected (first) sample's class
    assert lineage.source_sample_ids == [4, 0, 8] and lineage.layers == LAYERS
    assert lineage.checkpoint_sha256 and len(lineage.image_sha256) == 2
    assert len(steps) == 4 and result.trajectory_array().shape == (4, 2, 4096)

    lineage.save(tmp_path / "lineage.json")
    loaded = Lineage.load(tmp_path / "lineage.json")
    assert loaded == lineage
    again = replay(loaded, _adapter(model_data), model_data)
    assert again.images.tobytes() == result.images.tobytes()


def test_generation_stops_when_cancelled(model_data):
    cancel = threading.Event()
    steps = []

    def on_step(rec):
        steps.append(rec.step)
        cancel.set()

    with pytest.raises(CancelledError, match="generation cancelled"):
        generate_from_samples(_adapter(model_data), model_data, [0], LAYERS, GenerationSettings(num_steps=4),
                              on_step=on_step, cancel=cancel)  # fmt: skip
    assert steps == [0]


def test_unmasked_comparison_uses_same_seed(model_data):
    adapter = _adapter(model_data)
    settings = GenerationSettings(num_steps=3, mask_steps=3, seed=5)
    masked, _ = generate_from_samples(adapter, model_data, [1, 5], LAYERS, settings)
    plain, lin = generate_from_samples(adapter, model_data, [1, 5], LAYERS, settings, masked=False)
    plain2, _ = generate_from_samples(adapter, model_data, [2], LAYERS, settings, class_label=1, masked=False)
    assert not lin.masked
    assert masked.images.tobytes() != plain.images.tobytes()
    assert plain.images.tobytes() == plain2.images.tobytes()


def test_replay_refuses_other_pixels(model_data):
    adapter = _adapter(model_data)
    _, lineage = generate_from_samples(adapter, model_data, [0], LAYERS, GenerationSettings(num_steps=2, seed=1))
    lineage.image_sha256 = ["0" * 64]
    with pytest.raises(DiffViewsError, match="different pixels"):
        replay(lineage, adapter, model_data)


def test_bad_lineage_file(tmp_path):
    bad = tmp_path / "l.json"
    bad.write_text("{nope")
    with pytest.raises(DataError, match="l.json"):
        Lineage.load(bad)
    bad.write_text(json.dumps({"version": 99}))
    with pytest.raises(DataError, match="version"):
        Lineage.load(bad)


def test_a_generated_image_seeds_a_generation_and_its_lineage_replays_it_first(model_data, tmp_path):
    """A generated image joins the mask with its final activation (in the map's stored layout, as the window keeps
    it); the new lineage records its parent, and a replay regenerates the parent to recompute that activation."""
    from diffviews_core.lineage import GeneratedSeed, SeedImage

    adapter = _adapter(model_data)
    first_steps = []
    settings = GenerationSettings(num_steps=3, mask_steps=2, seed=4, num_samples=2)
    _, parent = generate_from_samples(adapter, model_data, [1, 5], LAYERS, settings, on_step=first_steps.append)
    last = first_steps[-1].activations
    activation = model_data.stored_rows({k: np.asarray(v)[1:2] for k, v in last.items()})[0]  # the batch's 2nd image
    seed = SeedImage(activation, GeneratedSeed(parent, 1))

    mixed = mean_activations(model_data, [0, 4], LAYERS, extra=[activation])
    rows = np.asarray(model_data.activations(LAYERS)[[0, 4]], dtype=np.float64)
    expected = (rows.sum(0) + activation) / 3
    np.testing.assert_allclose(np.concatenate([mixed[k] for k in sorted(LAYERS)]), expected, rtol=1e-5)

    child_settings = GenerationSettings(num_steps=3, mask_steps=3, seed=9)
    result, child = generate_from_samples(adapter, model_data, [], LAYERS, child_settings, seeds=[seed])
    assert child.source_sample_ids == [] and child.class_label == parent.class_label  # the seed's class
    assert child.source_generated == [GeneratedSeed(parent, 1)]
    unseeded, _ = generate_from_samples(adapter, model_data, [1], LAYERS, child_settings)
    assert unseeded.images.tobytes() != result.images.tobytes()  # the seed's activation made the mask

    child.save(tmp_path / "child.json")
    loaded = Lineage.load(tmp_path / "child.json")
    assert loaded == child
    again = replay(loaded, _adapter(model_data), model_data)  # regenerates the parent first; pixels verified
    assert again.images.tobytes() == result.images.tobytes()


def test_lineages_without_generated_seeds_still_load_and_nesting_is_bounded():
    from diffviews_core.lineage import MAX_SEED_DEPTH

    record = Lineage("tiny", "edm", LAYERS, [1], 0, GenerationSettings()).to_dict()
    old = {k: v for k, v in record.items() if k != "source_generated"}  # written before seeds existed
    assert Lineage.from_dict(old).source_generated == []
    nested = record
    for _ in range(MAX_SEED_DEPTH + 1):
        nested = {**record, "source_generated": [{"lineage": nested, "image": 0}]}
    with pytest.raises(DataError, match="nest deeper"):
        Lineage.from_dict(nested)
    with pytest.raises(DataError, match="image"):
        Lineage.from_dict({**record, "source_generated": [{"lineage": record, "image": -1}]})
