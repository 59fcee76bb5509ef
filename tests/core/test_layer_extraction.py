"""Extracting layers a dataset did not store: same rows as the build, cache only, cancel + resume, attach."""

from __future__ import annotations

import json
import os
import stat
import threading

import numpy as np
import pytest
import torch
from data_fixtures import tree_checksums
from PIL import Image

from diffviews_core.checkpoints import save_network
from diffviews_core.core import ActivationExtractor, class_label_tensor
from diffviews_core.errors import CancelledError, DataError
from diffviews_core.formats import open_data
from diffviews_core.networks import TINY
from diffviews_core.pipelines import layer_extraction as lx
from diffviews_core.pipelines.builder import BuildSpec, build_dataset
from diffviews_core.pipelines.layer_extraction import ORIGINAL_SEED, extract_layers
from diffviews_core.pipelines.sources import ArraySource

BUILT = ["encoder_block_1", "encoder_bottleneck", "midblock"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def built(tmp_path, tiny_net, tiny_adapter):
    """A project-format dataset (7 images x 2 levels x 2 label modes) whose checkpoint is the tiny network."""
    ckpt = tmp_path / "tiny.safetensors"
    save_network(tiny_net, ckpt, TINY)
    rng = np.random.default_rng(1)
    spec = BuildSpec(output=tmp_path / "ds", source=ArraySource(rng.integers(0, 256, (7, 16, 16, 3), dtype=np.uint8),
                     np.array([0, 1, 2, 0, 1, 2, 9])), sigmas=[20.0, 0.5], layers=BUILT, batch_size=3,
                     label_mode="both", seed=5, adapter="edm", checkpoint=ckpt)  # fmt: skip
    return open_data(build_dataset(spec, adapter=tiny_adapter)).models["ds"]


@pytest.fixture
def original(tmp_path, tiny_net):
    """An original-layout model folder (8 samples, 16x16 RGB PNGs) with a real checkpoint and no extra layers."""
    model = tmp_path / "orig"
    save_network(tiny_net, model / "checkpoints" / "tiny.safetensors", TINY)
    rng = np.random.default_rng(2)
    (model / "images").mkdir()
    lines = ["sample_id,class_label,class_name,image_path,conditioning_sigma,umap_x,umap_y"]
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(model / "images" / f"s{i}.png")
        lines.append(f"{100 + i},{i % 3},c{i % 3},images/s{i}.png,{[3.0, 0.4][i % 2]},{i * 0.1},{-i * 0.1}")
    (model / "embeddings").mkdir()
    (model / "embeddings" / "default.csv").write_text("\n".join(lines) + "\n")
    (model / "config.json").write_text(json.dumps({"adapter": "edm", "checkpoint": "checkpoints/tiny.safetensors"}))
    return model


def test_built_dataset_layers_come_back_bit_for_bit(built, tiny_adapter, cache):
    paths = extract_layers(built, ["midblock", "encoder_block_1"], adapter=tiny_adapter)
    assert set(paths) == {"midblock", "encoder_block_1"}
    for layer, path in paths.items():
        assert path.parent.parent == cache / "layers"
        assert np.array_equal(np.load(path), built.activations([layer])), layer
    # Other batches: the same inputs, but BLAS sums in another order (it depends on the batch shape and the thread
    # count), so the rows agree to float32 rounding of the layer's scale, not bit for bit. Rows of other inputs differ
    # by the scale itself: the tolerance still tells the right rows from any others.
    other = np.load(extract_layers(built, ["encoder_bottleneck"], adapter=tiny_adapter, batch_size=5)["encoder_bottleneck"])
    stored = np.asarray(built.activations(["encoder_bottleneck"]))
    tolerance = 1e-5 * np.abs(stored).max()
    assert np.abs(other - stored).max() <= tolerance
    assert np.abs(np.roll(other, 1, axis=0) - stored).max(axis=1).min() > 100 * tolerance  # the control


def test_built_dataset_loads_its_checkpoint_and_attaches(built, tiny_adapter):
    paths = extract_layers(built, ["encoder_block_0"])  # adapter from config.json's adapter + checkpoint
    shapes = {"encoder_block_0": tiny_adapter.get_layer_shapes()["encoder_block_0"]}
    built.attach_layers(paths, shapes)
    assert built.layers == sorted([*BUILT, "encoder_block_0"])
    assert built.layer_shapes["encoder_block_0"] == shapes["encoder_block_0"]
    both = built.activations(["midblock", "encoder_block_0"])  # sorted order: encoder_block_0 first
    assert np.array_equal(both, np.concatenate([np.load(paths["encoder_block_0"]),
                                                built.activations(["midblock"])], axis=1))  # fmt: skip
    # The new layer matches a direct forward pass of row 17 (image 3, level 1 = sigma 0.5, true label).
    s = built.samples.columns
    assert (s["image_index"][17], s["level_index"][17], s["label_mode"][17]) == (3, 1, "true")
    clean = built.image(17).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    eps = np.random.default_rng([5, 1, 3]).standard_normal(clean.shape, dtype=np.float32)
    with ActivationExtractor(tiny_adapter, ["encoder_block_0"]) as ext:
        tiny_adapter.forward(torch.from_numpy(clean + np.float32(0.5) * eps)[None], torch.tensor([0.5]),
                             class_label_tensor([0], 10, 1, "cpu"))  # fmt: skip
    np.testing.assert_allclose(built.activations(["encoder_block_0"])[17], ext.flatten()[0], atol=1e-5)
    with pytest.raises(ValueError, match="already stored"):
        built.attach_layers({"midblock": paths["encoder_block_0"]})


def test_other_weights_are_refused_for_a_built_dataset(built):
    from diffviews_core.adapters.edm import EDMAdapter

    with pytest.raises(DataError, match="weights differ"):
        extract_layers(built, ["encoder_block_0"], adapter=EDMAdapter.from_config(TINY))


def test_original_layout_recipe_read_only_folder_and_cache_hit(original, tiny_adapter, monkeypatch):
    model = open_data(original).models["orig"]
    before = tree_checksums(original)
    modes = {p: p.stat().st_mode for p in [original, *original.rglob("*")]}
    for p in modes:
        p.chmod(modes[p] & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        paths = extract_layers(model, ["midblock"], batch_size=3)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert tree_checksums(original) == before
    acts = np.load(paths["midblock"])
    assert acts.shape == (8, int(np.prod(tiny_adapter.get_layer_shapes()["midblock"]))) and acts.dtype == np.float32
    row = 5  # x = image + sigma * eps with eps from default_rng([ORIGINAL_SEED, row]); its class label
    clean = model.image(row).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    eps = np.random.default_rng([ORIGINAL_SEED, row]).standard_normal(clean.shape, dtype=np.float32)
    with ActivationExtractor(tiny_adapter, ["midblock"]) as ext:
        tiny_adapter.forward(torch.from_numpy(clean + np.float32(0.4) * eps)[None], torch.tensor([0.4]),
                             class_label_tensor([2], 10, 1, "cpu"))  # fmt: skip
    np.testing.assert_allclose(acts[row], ext.flatten()[0], atol=1e-5)

    def no_loading(*_a, **_k):
        raise AssertionError("the cached layer must not load the model")

    monkeypatch.setattr(lx, "load_adapter", no_loading)
    assert extract_layers(model, ["midblock"], batch_size=3) == paths


def test_cancel_then_resume_gives_the_same_bytes(built, tiny_adapter, tmp_path, monkeypatch):
    cancel, seen = threading.Event(), []

    def progress(fraction, message):
        seen.append((fraction, message))
        if message == "2 of 12 batches":
            cancel.set()

    with pytest.raises(CancelledError, match="after 2 of 12 batches"):
        extract_layers(built, ["encoder_block_0"], adapter=tiny_adapter, progress=progress, cancel=cancel)
    folder = lx.extraction_folder(built, tiny_adapter)
    assert not (folder / "encoder_block_0.npy").exists()
    work = next(folder.glob(".work-*"))
    assert json.loads((work / "progress.json").read_text())["done"] == 2
    seen.clear()
    paths = extract_layers(built, ["encoder_block_0"], adapter=tiny_adapter, progress=lambda f, m: seen.append((f, m)))
    assert seen == [(d / 12, f"{d} of 12 batches") for d in range(3, 13)] and not work.exists()
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "fresh"))
    straight = extract_layers(built, ["encoder_block_0"], adapter=tiny_adapter)
    assert paths["encoder_block_0"].read_bytes() == straight["encoder_block_0"].read_bytes()


def test_no_checkpoint_is_a_clear_error(original):
    cfg = original / "config.json"
    cfg.write_text(json.dumps({"adapter": "edm"}))
    model = open_data(original).models["orig"]
    with pytest.raises(DataError, match="generation and extraction need a checkpoint: config.json names no"):
        extract_layers(model, ["midblock"])
    cfg.write_text(json.dumps({"adapter": "edm", "checkpoint": "gone.safetensors"}))
    with pytest.raises(DataError, match="need a checkpoint: checkpoint 'gone.safetensors' not found"):
        extract_layers(open_data(original).models["orig"], ["midblock"])
    assert not os.path.exists(original / ".build")


def test_attach_refuses_other_row_counts(built, tmp_path):
    np.save(tmp_path / "short.npy", np.zeros((3, 4), np.float32))
    with pytest.raises(DataError, match="3 rows, but the model has 28 samples"):
        built.attach_layers({"encoder_block_0": tmp_path / "short.npy"})


def test_passes_stop_after_the_last_wanted_layer_unless_the_order_is_unknown(built, tiny_adapter, monkeypatch):
    calls, stop = [], lx._stop_forward
    monkeypatch.setattr(lx, "_stop_forward", lambda *a: (calls.append(1), stop(*a)))
    tiny_adapter._layer_map = dict(reversed(list(tiny_adapter._layer_map.items())))  # not the execution order
    paths = extract_layers(built, ["encoder_block_1", "midblock"], adapter=tiny_adapter)
    assert len(calls) == 1  # the first batch stopped too early (midblock missing), later ones ran whole
    for layer, path in paths.items():
        assert np.array_equal(np.load(path), built.activations([layer])), layer
