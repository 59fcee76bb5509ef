"""The Qt-free helpers the window's generation and layer menu rely on: captions, masked steps (the masker's own rule),
model defaults, the layer menu, 3D borrowed from aligned maps, the layers behind a map."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from data_fixtures import make_original_layout

from diffviews_core.captions import class_text, label_text, step_caption
from diffviews_core.formats import open_data
from diffviews_core.lineage import GenerationSettings
from diffviews_core.maps import (
    MORE_LAYERS,
    LayerChoice,
    extraction_choices,
    layer_choices,
    load_embedding,
    map_layers,
)
from diffviews_core.mask_schedule import masked_steps


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return open_data(make_original_layout(tmp_path_factory.mktemp("data"), n_per_model=12, broken=False))


def test_class_text_names_the_class_from_the_table_or_the_class_index(root):
    model = root.models["dmd2"]
    label = int(model.samples.class_label[3])
    assert class_text(model, 3) == f"{label}: {model.samples.class_name[3]}"

    class Unnamed:  # a table without names: the data root's class index names the class
        class samples:
            class_label = np.array([7])
            class_name = None
            has_classes = True

    assert class_text(Unnamed, 0, {7: "seven"}) == "7: seven"
    assert class_text(Unnamed, 0) == "7"

    class Captioned:  # a text-conditioned sample is named by its caption
        class samples:
            has_classes = False
            caption = np.array(["a dog on a beach"], dtype=object)

    assert class_text(Captioned, 0) == "a dog on a beach"
    assert label_text(Captioned, 0) == "Caption: a dog on a beach"
    assert label_text(Unnamed, 0, {7: "seven"}) == "Class 7: seven"
    assert step_caption("8: Bag", 0, 10, 80.0) == "8: Bag | Step 1/10 | sigma=80"


def test_masked_steps_follow_the_maskers_own_rule(tiny_adapter):
    """Every combination the dock can set gives the steps on which ActivationMasker actually applies its mask."""
    from diffviews_core.core import ActivationMasker

    for num_steps, mask_steps, step_range in itertools.product((1, 4, 7), (None, 0, 1, 3, 9), (None, (2, 4), (3, 3))):
        masker = ActivationMasker(tiny_adapter, mask_steps=mask_steps, step_range=step_range)
        applied = [i for i in range(num_steps) if masker.applies(i, "cond")]
        assert masker.masked_steps(num_steps) == applied
        assert masked_steps(num_steps, mask_steps, step_range) == applied
        settings = GenerationSettings(num_steps=num_steps, mask_steps=mask_steps,
                                      step_range=list(step_range) if step_range else None)  # fmt: skip
        assert settings.masked_steps() == applied
    assert masked_steps(5, 2, None) == [0, 1] and masked_steps(5, 0, None) == []
    assert masked_steps(6, 1, (2, 4)) == [1, 2, 3]


def test_model_defaults_replace_only_what_a_model_recommends():
    mine = GenerationSettings(num_steps=12, seed=9, guidance_scale=3.0, num_samples=4, noise_mode="fixed")
    got = mine.with_model_defaults({"default_steps": 5, "noise_max": 90.0, "sampler": "heun", "default_guidance": 2})
    assert (got.num_steps, got.noise_max, got.noise_min, got.guidance_scale, got.sampler) == (5, 90.0, 0.0, 2.0, "heun")
    assert (got.seed, got.num_samples, got.noise_mode) == (9, 4, "fixed")  # the user's other choices stay
    bare = mine.with_model_defaults({"sampler": {"not": "a name"}})
    assert (bare.num_steps, bare.guidance_scale, bare.sampler) == (12, 1.0, None)


def test_layer_menu_offers_maps_then_stored_layers_then_extraction(root):
    model = root.models["dmd2"]
    choices = layer_choices(model)
    assert choices[0] == LayerChoice("demo_embeddings", "encoder_bottleneck+midblock (default)", "embedding")
    assert LayerChoice("layer_cache/encoder_block_0", "encoder_block_0", "embedding") in choices
    assert not any(c.key.startswith("aligned_3d/") for c in choices)
    stored = {c.key for c in choices if c.how == "activations"}
    assert stored == set(model.layers) - {"encoder_block_0"}
    by_key = {c.key: c for c in choices}
    assert extraction_choices(model, by_key, None) == [LayerChoice(MORE_LAYERS, "More layers… (loads the model)",
                                                                   "discover")]  # fmt: skip
    extra = extraction_choices(model, by_key, ["encoder_block_0", "midblock", "decoder_block_9"])
    assert extra == [LayerChoice("decoder_block_9", "decoder_block_9  (extract + embed)", "extract")]


def test_a_map_without_3d_borrows_it_from_its_aligned_counterpart(root):
    model = root.models["dmd2"]
    plain = model.embedding("demo_embeddings")
    assert plain.coords3d is None and "aligned_3d/default" in model.embedding_names
    borrowed = load_embedding(model, "demo_embeddings")
    assert borrowed.coords3d is not None and borrowed.coords3d.shape == (12, 3)
    assert borrowed.params["coords3d_from"] == "aligned_3d/default"
    np.testing.assert_array_equal(borrowed.coords2d, plain.coords2d)
    assert load_embedding(root.models["edm"], "demo_embeddings").coords3d is None  # nothing to borrow


def test_a_map_is_defined_by_its_layers_when_stored_else_the_models_defaults(root):
    model = root.models["dmd2"]
    emb = model.embedding("demo_embeddings")
    assert model.default_layers == ["encoder_bottleneck", "midblock"] and "encoder_block_0" in model.layers
    one = type(emb)("one", emb.coords2d, None, {"layers": ["encoder_block_0"]})
    assert map_layers(model, one) == ["encoder_block_0"]
    foreign = type(emb)("x", emb.coords2d, None, {"layers": ["encoder_block_0", "not_stored"]})
    assert map_layers(model, foreign) == ["encoder_bottleneck", "midblock"]
    assert map_layers(model, None) == ["encoder_bottleneck", "midblock"]
