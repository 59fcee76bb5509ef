"""Generation from samples with string ids (extraction layout): lineage keeps the ids and replays bit for bit; a
text-conditioned model's captions are refused by a class-label adapter with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from extraction_fixtures import write_tiny_extraction_model

from diffviews_core.errors import DiffViewsError
from diffviews_core.formats import open_data
from diffviews_core.lineage import GenerationSettings, Lineage
from diffviews_core.neighbour_generation import generate_from_samples, mean_activations, replay


def _adapter(model):
    from diffviews_core import get_adapter

    return get_adapter(model.config["adapter"]).from_checkpoint(model.config["checkpoint"])


def test_generate_and_replay_with_string_ids(tmp_path, tiny_net, tiny_adapter):
    write_tiny_extraction_model(tmp_path / "data" / "tiny", tiny_net, tiny_adapter, num_images=4)
    model = open_data(tmp_path / "data").models["tiny"]
    ids = ["sample_000002_n35", "sample_000001_n35", "sample_000003_n0"]
    means = mean_activations(model, ids, ["midblock"])
    rows = [model.samples.row_of(i) for i in ids]
    assert means["midblock"] == pytest.approx(model.activations(["midblock"])[rows].mean(0), rel=1e-5)

    settings = GenerationSettings(num_steps=3, mask_steps=2, seed=4)
    result, lineage = generate_from_samples(_adapter(model), model, ids, ["midblock"], settings)
    assert lineage.source_sample_ids == ids and lineage.class_label == 2  # the selected sample's class
    lineage.save(tmp_path / "lineage.json")
    loaded = Lineage.load(tmp_path / "lineage.json")
    assert loaded == lineage and loaded.source_sample_ids == ids
    assert replay(loaded, _adapter(model), model).images.tobytes() == result.images.tobytes()


def test_captioned_samples_refuse_a_class_label_adapter(tmp_path, tiny_net, tiny_adapter):
    write_tiny_extraction_model(tmp_path / "data" / "coco", tiny_net, tiny_adapter, num_images=2, text=True)
    model = open_data(tmp_path / "data").models["coco"]
    assert not model.samples.has_classes
    with pytest.raises(DiffViewsError, match=r"text-conditioned \(captions\).*takes class labels: generation refused"):
        generate_from_samples(_adapter(model), model, ["sample_000000_n82"], ["midblock"], GenerationSettings())


def test_layer_extraction_over_string_id_rows_resumes_by_a_stable_fingerprint(tmp_path, tiny_net, tiny_adapter,
                                                                             monkeypatch):  # fmt: skip
    from diffviews_core.pipelines.layer_extraction import _rows_fingerprint, extract_layers

    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    write_tiny_extraction_model(tmp_path / "data" / "tiny", tiny_net, tiny_adapter, num_images=2)
    first, second = (open_data(tmp_path / "data").models["tiny"] for _ in range(2))
    assert _rows_fingerprint(first) == _rows_fingerprint(second)  # the ids' text, not their object pointers
    paths = extract_layers(first, ["encoder_bottleneck"], adapter=tiny_adapter)
    assert extract_layers(second, ["encoder_bottleneck"], adapter=tiny_adapter) == paths  # found, not redone
    assert np.load(paths["encoder_bottleneck"]).shape[0] == 10
