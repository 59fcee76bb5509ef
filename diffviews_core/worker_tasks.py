"""The CPU-heavy jobs of the explorer, as they run inside its worker processes (``process_jobs.ProcessWorker``).

UMAP fits, layer extraction, loading a model's checkpoint and generation import umap/numba and torch and hold the
GIL for long stretches; run in a worker process they never stall the window's UI thread, and the window's process
never imports umap, numba, pynndescent or (for these jobs) torch. Each job receives what re-opens its data, not the
data: ``model_ref`` of a ``ModelData`` (its folder, how it was opened and the layers attached to it, as
``ModelData.__reduce__`` gives them), and ``cache_options`` of the caller's ``ModelCache``. A worker keeps the models
it opened and the adapters it loaded between jobs (the last ``MAX_MODELS`` models, a ``ModelCache`` of
``MAX_ADAPTERS`` adapters), so switching between layers of one model, or generating again, reloads nothing.
Results are plain numpy data (``generation_records``): reading them needs no torch.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from .jobs import Progress
from .model_cache import ModelCache

log = logging.getLogger(__name__)

SETTINGS_PREFIX = "DIFFVIEWS_"  # environment variables that set the user's folders: they travel with each job
MAX_MODELS = 2  # opened model folders kept in the worker
MAX_ADAPTERS = 2  # loaded checkpoints kept in the worker

_models: OrderedDict[tuple, object] = OrderedDict()
_caches: dict[tuple, ModelCache] = {}


def with_settings(settings: dict[str, str], fn, args: tuple, kwargs: dict, progress: Progress | None = None,
                  cancel: threading.Event | None = None, emit=None):  # fmt: skip
    """``fn(*args, **kwargs)`` under the caller's ``DIFFVIEWS_*`` environment (user folders) of when it asked, with
    ``progress``/``cancel``/``emit`` passed on where ``fn`` takes them: a long-lived worker serves callers whose
    settings changed since it started (tests, mostly)."""
    from .jobs import accepts_keyword

    for key in [k for k in os.environ if k.startswith(SETTINGS_PREFIX) and k not in settings]:
        del os.environ[key]
    os.environ.update(settings)
    extra = {k: v for k, v in (("progress", progress), ("cancel", cancel), ("emit", emit)) if accepts_keyword(fn, k)}
    return fn(*args, **kwargs, **extra)


def model_ref(model) -> tuple:
    """What re-opens ``model`` in the worker (plain, small data: never its arrays)."""
    _reopen, args = model.__reduce__()
    return args


def _held(ref: tuple):
    """The model ``ref`` names, opened for an earlier job when the worker still holds it, else opened now."""
    path, root, _class_names, attached = ref
    key = (str(path), str(root), tuple(sorted((k, str(p), tuple(s or ())) for k, (p, s) in attached.items())))
    if key in _models:
        _models.move_to_end(key)
        return _models[key]
    from .formats.model import _reopen

    _models[key] = _reopen(*ref)
    while len(_models) > MAX_MODELS:
        _models.popitem(last=False)
    return _models[key]


def _cache(options: tuple[str | None, str | None, str | None]) -> ModelCache:
    """The worker's model cache for the launch options (device, adapter, checkpoint) that override model configs."""
    if options not in _caches:
        _caches.clear()  # other options replace the loaded models: keep one set
        device, adapter, checkpoint = options
        _caches[options] = ModelCache(device=device, adapter_name=adapter, checkpoint=checkpoint,
                                      max_adapters=MAX_ADAPTERS)  # fmt: skip
    return _caches[options]


def cache_options(cache: ModelCache) -> tuple[str | None, str | None, str | None]:
    """The launch options of the caller's ``cache``, for the worker's cache (paths travel as text)."""
    return cache.device, cache.adapter_name, str(cache.checkpoint) if cache.checkpoint else None


def embed_layer(ref: tuple, layer: str, progress: Progress | None = None, cancel: threading.Event | None = None):
    """``maps.embed_layer`` of a stored (or attached) layer: the 2D and 3D maps, as an Embedding."""
    from .maps import embed_layer as fit

    return fit(_held(ref), layer, progress=progress, cancel=cancel)


def extract_layer(ref: tuple, layer: str, options: tuple, progress: Progress | None = None,
                  cancel: threading.Event | None = None) -> tuple[dict[str, Path], dict]:  # fmt: skip
    """``maps.extract_layer`` with the worker's loaded adapter: (layer -> .npy path, layer -> shape)."""
    from .maps import extract_layer as extract

    return extract(_held(ref), layer, _cache(options), progress=progress, cancel=cancel)


def hookable_layers(ref: tuple, options: tuple, cancel: threading.Event | None = None) -> list[str]:
    """The layers the model's network can record (its checkpoint loaded in the worker, kept for extraction)."""
    adapter = _cache(options).adapter(_held(ref), cancel)
    return list(adapter.hookable_layers)


def prepare_generation(ref: tuple, view, options: tuple, cancel: threading.Event | None = None) -> None:
    """Load the model and fit the map's projection ahead of a generation (both kept in the worker)."""
    model, cache = _held(ref), _cache(options)
    cache.adapter(model, cancel)
    cache.projectors(model, view.key, view.layers, view.coords2d, view.coords3d, cancel)


def generate(ref: tuple, request, options: tuple, emit=None, cancel: threading.Event | None = None):
    """``live_generation.run_generation`` of ``request`` (its model travels as ``ref``): every step is emitted to
    the caller as it is computed; returns ((result, lineage) per pass, all plain numpy data; the devices the worker's
    loaded models run on)."""
    from dataclasses import replace

    from .live_generation import run_generation

    cache = _cache(options)
    out = run_generation(cache, replace(request, model=_held(ref)), emit, cancel)
    return out, sorted({key[2] for key in cache.adapters.keys()})


def replay(ref: tuple, lineage, view, options: tuple, cancel: threading.Event | None = None):
    """``live_generation.run_replay`` of a lineage record on ``view``."""
    from .live_generation import run_replay

    return run_replay(_cache(options), lineage, _held(ref), view, cancel)


def loaded_adapters(options: tuple) -> list[tuple]:
    """Keys (adapter, checkpoint, device) of the models the worker holds, least recently used first."""
    return _cache(options).adapters.keys()
