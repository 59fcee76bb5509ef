"""The maps a model offers and how each is obtained: stored embeddings, stored layers to embed, layers to extract.

Qt-free: the window's layer menu is built from ``layer_choices`` and ``extraction_choices``, a stored map is read
with ``load_embedding`` (which borrows 3D coordinates from an ``aligned_3d`` counterpart), a stored layer is embedded
with ``embed_layer``, and ``map_layers`` says whose activations define a map's neighbours and generation masks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .jobs import Progress

ALIGNED_PREFIX = "aligned_3d/"
LAYER_CACHE_PREFIX = "layer_cache/"
MORE_LAYERS = "+more-layers"  # menu key that loads the model to list its hookable layers (no layer starts with +)


@dataclass(frozen=True)
class LayerChoice:
    """One entry of the layer menu: ``how`` is "embedding" (stored map), "activations" (stored, to embed),
    "extract" (to extract, then embed) or "discover" (load the model to list the layers it can extract)."""

    key: str
    label: str
    how: str


def layer_choices(model) -> list[LayerChoice]:
    """The default embedding first, every other stored embedding, then each stored layer without a map."""
    names = [n for n in model.embedding_names if not n.startswith(ALIGNED_PREFIX)]
    out: list[LayerChoice] = []
    covered: set[str] = set()
    for i, name in enumerate(names):
        label = name.removeprefix(LAYER_CACHE_PREFIX)
        if name.startswith(LAYER_CACHE_PREFIX):
            covered.add(label)
        if i == 0:
            layers = model.embedding(name).layers
            if layers:
                label = f"{'+'.join(layers)} (default)"
                if len(layers) == 1:
                    covered.add(layers[0])
        out.append(LayerChoice(name, label, "embedding"))
    for layer in model.layers:
        if layer not in covered and layer not in names:
            out.append(LayerChoice(layer, layer, "activations"))
    return out


def extraction_choices(model, choices: dict[str, LayerChoice], hookable: list[str] | None) -> list[LayerChoice]:
    """Hookable layers neither stored nor mapped, as "extract" entries; before the model is loaded (``hookable``
    None), one entry that loads it."""
    if hookable is None:
        return [LayerChoice(MORE_LAYERS, "More layers\u2026 (loads the model)", "discover")]
    have = set(model.layers) | {k.removeprefix(LAYER_CACHE_PREFIX) for k in choices}
    return [LayerChoice(x, f"{x}  (extract + embed)", "extract") for x in hookable if x not in have]


def load_embedding(model, name: str):
    """The named embedding, with 3D coordinates borrowed from its ``aligned_3d`` counterpart when it has none."""
    from .formats import Embedding

    emb = model.embedding(name)
    if emb.coords3d is not None:
        return emb
    names = model.embedding_names
    short = name.removeprefix(LAYER_CACHE_PREFIX)
    for candidate in (ALIGNED_PREFIX + short, ALIGNED_PREFIX + "default" if name == names[0] else None):
        if candidate and candidate in names:
            aligned = model.embedding(candidate)
            if aligned.coords3d is not None:
                return Embedding(emb.name, emb.coords2d, aligned.coords3d, {**emb.params, "coords3d_from": candidate})
    return emb


def embed_layer(model, layer: str, progress: Progress | None = None, cancel: threading.Event | None = None):
    """Fit 2D and 3D maps of one stored layer (StandardScaler -> PCA -> UMAP), as an Embedding named ``layer``."""
    from .embedding.fit import fit_embeddings
    from .formats import Embedding

    fitted = fit_embeddings(model.activations([layer]), dims=(2, 3), progress=progress, cancel=cancel)
    params = {**fitted[2].params, "layers": [layer]}
    params.pop("n_components", None)
    return Embedding(layer, fitted[2].coords, fitted[3].coords, params)


def map_layers(model, embedding) -> list[str]:
    """Layers whose activations define neighbours and generation masks on a map: those ``embedding`` was fitted on
    when the model stores them all, else the model's default layers (or every stored layer)."""
    emb_layers = embedding.layers if embedding is not None else []
    if emb_layers and all(x in model.layers for x in emb_layers):
        return list(emb_layers)
    return list(model.default_layers) or list(model.layers)


def extract_layer(model, layer: str, cache, progress: Progress | None = None, cancel: threading.Event | None = None):
    """Record ``layer`` for every sample into the user cache (resuming or reusing earlier work), with the model's
    cached adapter (a ``ModelCache``) held for the run; returns (layer -> .npy path, layer -> shape)."""
    from .pipelines.layer_extraction import extract_layers

    with cache.lease(model, cancel) as adapter:
        paths = extract_layers(model, [layer], adapter=adapter, progress=progress, cancel=cancel)
        return paths, {layer: adapter.get_layer_shapes()[layer]}
