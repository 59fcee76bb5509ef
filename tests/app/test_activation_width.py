"""The activation KNN decides between the UI thread and a job from the stored layers' shapes, without reading them."""

from __future__ import annotations

import pytest
from data_fixtures import make_original_layout

from diffviews_core.formats import open_data


def test_the_width_of_stored_layers_comes_from_their_shapes(tmp_path, monkeypatch):
    from diffviews_app.controller import activation_width

    model = open_data(make_original_layout(tmp_path, n_per_model=12)).models["dmd2"]
    layers = model.layers
    want = model.activations(layers).shape[1]
    monkeypatch.setattr(type(model), "activations", lambda *_a, **_k: pytest.fail("read the activations"))
    assert activation_width(model, layers) == want
    assert activation_width(model, layers + layers[:1]) == want  # a layer named twice is read once
    with pytest.raises(KeyError, match="nowhere"):
        activation_width(model, [*layers, "nowhere"])
