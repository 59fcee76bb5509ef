"""The explorer's actions that touch data: open a folder, switch model or layer, suggest KNN.

Slow steps (opening, reading an embedding, fitting one, extracting a layer, building an activation index) run in the
worker pool; the CPU-heavy ones (fitting, extracting, loading a checkpoint) in its worker processes
(``diffviews_core.worker_tasks``), so the window's process never imports umap, numba or torch for them; their
results are written into the ``ExplorerState`` on the UI thread. Layers a model did not store are offered once its checkpoint is loaded in the worker process (the "More layers" entry), which keeps it for extraction;
generation loads its own copy into the session's ``ModelCache``. Problems become ``message`` signals naming the
file and the problem, and the app stays usable with whatever did open. What the layer menu offers and how each map
is obtained is Qt-free (``diffviews_core.maps``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from diffviews_core import worker_tasks
from diffviews_core.errors import DataError
from diffviews_core.maps import (
    MORE_LAYERS,
    LayerChoice,
    extraction_choices,
    layer_choices,
    load_embedding,
    map_layers,
)
from diffviews_core.model_cache import LRUCache, ModelCache
from diffviews_core.worker_tasks import cache_options, model_ref

from .options import LaunchOptions
from .state import ExplorerState
from .workers import MODELS, WorkerPool

log = logging.getLogger(__name__)

SYNC_KNN_VALUES = 4_000_000  # activation KNN over fewer N*D values runs on the UI thread (a few ms)
MAX_EMBEDDINGS, MAX_EMBEDDING_BYTES = 32, 128 << 20  # maps fitted this session, kept to switch back at once
MAX_INDEXES, MAX_INDEX_BYTES = 4, 256 << 20  # activation KNN indexes (an exact one holds its rows in memory)


def embedding_nbytes(embedding) -> int:
    """Bytes of an embedding's coordinates."""
    return sum(a.nbytes for a in (embedding.coords2d, embedding.coords3d) if a is not None)


def index_nbytes(index) -> int:
    """Bytes an activation KNN index keeps: its rows (counted even when memory-mapped: read, they stay resident)."""
    data = getattr(index, "data", None)
    return int(getattr(data, "nbytes", 0)) + 4 * int(getattr(index, "num_rows", 0))


def _open(path: Path, model_name: str | None, embeddings_csv: Path | None):
    from diffviews_core.adapter_names import installed_adapter_names
    from diffviews_core.formats import open_data

    installed_adapter_names()  # read here, off the UI thread, for the generation dock that lists them (~10 ms)
    root = open_data(path)
    if not root.models:
        return root, None, "", None
    name = model_name if model_name in root.models else next(iter(root.models))
    model = root.models[name]
    if embeddings_csv is not None:
        from diffviews_core.formats.embedding import read_embedding_csv

        return root, name, embeddings_csv.stem, read_embedding_csv(embeddings_csv.stem, embeddings_csv, model.samples)
    key = layer_choices(model)[0].key if model.embedding_names else ""
    return root, name, key, load_embedding(model, key) if key else None


@dataclass
class _Early:
    """A prefetched open: its ``_open`` arguments, whether ``open_folder`` took it over, and its outcome once it
    ended before that (the callback and its value)."""

    args: tuple
    adopted: bool = False
    ended: tuple[Callable, object] | None = None


class ExplorerController(QObject):
    """Owns no widgets; the window connects ``message`` to its banner and status bar."""

    message = Signal(str, str)  # level ("info", "warning", "error"), text
    busy_changed = Signal(bool)  # a data folder is being opened (True: jobs for the data on screen were cancelled)

    def __init__(self, state: ExplorerState, pool: WorkerPool, cache: ModelCache, options: LaunchOptions | None = None,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.state = state
        self.pool = pool
        self.cache = cache  # loaded models, shared with generation
        self.options = options or LaunchOptions()
        # (model path, layer) -> Embedding fitted this session; (model path, layers) -> activation KNN index. Both
        # bounded by size, least recently used first out: a long session does not keep every layer it touched.
        self._computed = LRUCache(MAX_EMBEDDINGS, MAX_EMBEDDING_BYTES, sizeof=embedding_nbytes, name="embeddings")
        self._indexes = LRUCache(MAX_INDEXES, MAX_INDEX_BYTES, sizeof=index_nbytes, name="activation KNN indexes")
        self._choices: dict[str, LayerChoice] = {}
        self._embedding: tuple[str, str] | None = None  # (model path, layer) being embedded now
        self._hookable: dict[str, list[str]] = {}  # model path -> layers its loaded model can record
        self._early: _Early | None = None  # an open started before the window was shown (``prefetch``)
        # runs background work for a model once its points are on screen (the window: the canvas's when_drawn)
        self.after_drawn: Callable[[Callable[[], None]], None] = lambda fn: fn()
        self._opening = 0  # open_folder calls so far: a prefetched result delivered late checks it is still wanted
        self._handing_over: _Early | None = None  # see handing_over
        # a generated image (trajectory id) -> (activation or None, map position): set by the generation half
        self.generated_query: Callable[[int], tuple[np.ndarray | None, np.ndarray] | None] = lambda _tid: None
        state.model_changed.connect(self._warm_knn)
        state.embedding_changed.connect(self._warm_knn)

    # ---- opening ----------------------------------------------------------------------------------------------
    def prefetch(self, path: Path | str) -> None:
        """Start opening ``path`` now, while the window is still being built; the ``open_folder`` of the same folder
        that follows takes this job over (or its result) instead of starting another, and any other open drops it."""
        early = _Early(self._open_args(Path(path), None))
        self._early = early
        self.pool.submit(f"Opening {early.args[0].name or early.args[0]}", _open, *early.args, key="open",
                         on_result=lambda result: self._early_ended(early, self._opened, result),
                         on_error=lambda text: self._early_ended(early, self._open_failed, text))  # fmt: skip

    def _open_args(self, path: Path, model: str | None) -> tuple:
        csv = self.options.embeddings if self.state.root is None else None
        return path, model or self.options.model, csv

    def _early_ended(self, early: _Early, deliver: Callable, value) -> None:
        if early.adopted or self._early is early:  # else dropped: another folder was opened
            early.ended = (deliver, value)  # kept for the open_folder that will take it over
        if early.adopted:
            self._deliver_early(early)

    def _deliver_early(self, early: _Early) -> None:
        """Hand a prefetched outcome on from the next event-loop turn, after the events already queued: a window
        just shown lays itself out first, so the map is fitted to the canvas's final size (no resize after it)."""
        opening = self._opening
        self._handing_over = early

        def deliver() -> None:
            if self._handing_over is early:
                self._handing_over = None
            if self._opening == opening:
                early.ended[0](early.ended[1])

        QTimer.singleShot(0, self, deliver)

    @property
    def handing_over(self) -> bool:
        """True while a prefetched open has ended but its result waits for the event loop (no job runs for it)."""
        return self._handing_over is not None

    def open_folder(self, path: Path | str, model: str | None = None) -> None:
        """Open a data root or model folder in the background; the current data stays on screen until it succeeds,
        but the jobs working for it (embedding, extraction, KNN) are cancelled: the user has moved on."""
        args = self._open_args(Path(path), model)
        self.pool.cancel_keys("view", "knn", "knn-warm")  # work for the data on screen: its late results are dropped
        self.busy_changed.emit(True)
        self._opening += 1
        early, self._early = self._early, None
        if early is not None and early.args == args:  # the prefetch of this very open
            early.adopted = True
            if early.ended is not None:
                self._deliver_early(early)
            return
        self.pool.submit(f"Opening {args[0].name or args[0]}", _open, *args, key="open",
                         on_result=self._opened, on_error=self._open_failed)  # fmt: skip

    def _open_failed(self, text: str) -> None:
        self.busy_changed.emit(False)
        self.message.emit("error", f"Could not open the data folder: {text}")

    def _opened(self, result) -> None:
        root, name, key, embedding = result
        self.busy_changed.emit(False)
        self._computed.clear()
        self._indexes.clear()
        self._hookable.clear()
        self.state.set_root(root)
        problems = [f"{model}: {text}" for model, text in root.problems.items()]
        for model in root.models.values():
            problems += [f"{model.name}: {w}" for w in getattr(model, "warnings", [])]
        if problems:
            self.message.emit("warning", "Some data did not open:\n" + "\n".join(problems))
        if name is None:
            self.message.emit("error", f"No model in {root.path} could be opened.")
            return
        if self.options.model and self.options.model != name:
            self.message.emit("warning", f"No model {self.options.model!r} in {root.path}; showing {name}.")
        self._show_model(root.models[name], key, embedding)

    def _show_model(self, model, key: str, embedding) -> None:
        self._choices = {c.key: c for c in layer_choices(model)}
        if key and key not in self._choices:  # an --embeddings CSV from outside the model folder
            self._choices = {key: LayerChoice(key, key, "embedding"), **self._choices}
        if self.options.checkpoint_path or model.config.get("checkpoint"):
            hookable = self._hookable.get(str(model.path))
            self._choices.update((c.key, c) for c in extraction_choices(model, self._choices, hookable))
        from .colors import color_options

        options = color_options(model.samples.columns)
        if self.state.color_by not in options:
            self.state.set_color_by(options[0] if options else "class")
        # the choices first: a session restoring a layer checks them when the model lands
        self.state.set_layer_choices({k: (c.label, c.how) for k, c in self._choices.items()})
        self.state.set_model(model, key, embedding)
        self._prepare_search(model)
        if embedding is None:
            stored = next((c for c in self._choices.values() if c.how == "activations"), None)
            if stored is None:
                self.message.emit("warning", f"{model.path}: no embedding yet; pick a layer to embed it.")
                return
            # as the original does on opening a folder without a map: embed its (first) stored layer
            self.message.emit("info", f"{model.path}: no embedding yet; embedding layer {stored.key}.")
            self.switch_layer(stored.key)

    def _prepare_search(self, model) -> None:
        """Index the samples' texts for the search box in the background (seconds at a million rows), once the
        map is drawn (``after_drawn``)."""
        from .search import SampleSearch

        root = self.state.root
        searcher = SampleSearch(model.samples, root.class_names if root is not None else None)
        self.after_drawn(lambda: self.pool.submit("Preparing search", searcher.prepare, key="search-index",
                                                  quiet=True, on_result=self.state.set_searcher))  # fmt: skip

    # ---- model and layer ----------------------------------------------------------------------------------------
    def switch_model(self, name: str) -> None:
        root = self.state.root
        if root is None or name not in root.models or name == self.state.model_name:
            return
        model = root.models[name]
        choices = layer_choices(model)
        if not choices or choices[0].how != "embedding":
            self._show_model(model, "", None)
            return
        self.pool.submit(f"Loading {name}", load_embedding, model, choices[0].key, key="view",
                         on_result=lambda emb: self._show_model(model, choices[0].key, emb),
                         on_error=lambda text: self.message.emit("error", text))  # fmt: skip

    def _publish_choices(self) -> None:
        """The layer menu offers ``self._choices``; entries already embedded this session show as maps."""
        shown = self.state.layer_choices
        self.state.set_layer_choices({k: (c.label, "embedding") if shown.get(k, ("", ""))[1] == "embedding"
                                      else (c.label, c.how) for k, c in self._choices.items()})  # fmt: skip

    def switch_layer(self, key: str) -> None:
        """Show another layer: a stored map is read, a stored layer is embedded first, a layer the model did not
        store is extracted and then embedded (each a job with progress and cancel)."""
        model = self.state.model
        choice = self._choices.get(key)
        if model is None or choice is None or key == self.state.layer:
            return
        done = self._computed.recall((str(model.path), key))
        if done is not None:
            self.state.set_embedding(key, done)
            return
        if choice.how == "discover":
            self._discover_layers(model)
            return
        if choice.how == "extract":
            self._extract(model, choice)
            return

        def show(emb, model=model) -> None:
            if self.state.model is model:
                self.state.set_embedding(key, emb)
                self.state.set_layer_choices({**self.state.layer_choices, key: (choice.label, "embedding")})

        if choice.how == "embedding":
            def not_loaded(text: str) -> None:
                self._revert_layer_menu()
                self.message.emit("error", text)

            self.pool.submit(f"Loading {choice.label}", load_embedding, model, key, key="view", on_result=show,
                             on_error=not_loaded)
            return
        self._embed(model, key, show)

    def _embed(self, model, key: str, show) -> None:
        if self._embedding == (str(model.path), key):
            return  # already being embedded (e.g. on opening, and again by a session restoring that layer)
        self._embedding = (str(model.path), key)

        def ended() -> None:
            if self._embedding == (str(model.path), key):
                self._embedding = None

        def fitted(emb, model=model) -> None:
            self._computed.put((str(model.path), key), emb)
            show(emb)
            self.message.emit("info", f"Embedded layer {key} ({model.num_samples:,} samples).")

        def failed(text: str) -> None:
            self._revert_layer_menu()
            self.message.emit("error", f"Embedding {key} failed: {text}")

        job = self.pool.submit_to_process(f"Embedding {key}", worker_tasks.embed_layer, model_ref(model), key,
                                          key="view", on_result=fitted, on_error=failed)  # fmt: skip
        job.cancelled.connect(self._revert_layer_menu)
        job.ended.connect(ended)

    def _discover_layers(self, model) -> None:
        """Load the model's checkpoint in a job, then offer its hookable layers that are not stored."""

        def loaded(hookable: list[str], model=model) -> None:
            self._hookable[str(model.path)] = hookable
            if self.state.model is not model:
                return
            self._choices.pop(MORE_LAYERS, None)
            extra = extraction_choices(model, self._choices, self._hookable[str(model.path)])
            self._choices.update((c.key, c) for c in extra)
            self._publish_choices()
            self.message.emit("info", f"{len(extra)} more layers of {model.name} can be extracted and embedded.")

        def failed(text: str) -> None:
            self._revert_layer_menu()
            self.message.emit("error", f"Could not load the model of {model.name}: {text}")

        job = self.pool.submit_to_process(f"Loading the model of {model.name}", worker_tasks.hookable_layers,
                                          model_ref(model), cache_options(self.cache), lane=MODELS, key="view", on_result=loaded,
                                          on_error=failed)  # fmt: skip
        job.cancelled.connect(self._revert_layer_menu)

    def _extract(self, model, choice: LayerChoice) -> None:
        """Extract the layer into the cache (progress, cancel, resumable), attach it, then embed it as usual."""
        key = choice.key

        def extracted(result, model=model) -> None:
            paths, shapes = result
            if key not in model.layers:
                model.attach_layers(paths, shapes)
            if self.state.model is model:  # else the layer is offered as stored when the model is shown again
                self._choices[key] = LayerChoice(key, key, "activations")
                self.switch_layer(key)

        def failed(text: str) -> None:
            self._revert_layer_menu()
            self.message.emit("error", f"Extracting {key} failed: {text}")

        job = self.pool.submit_to_process(f"Extracting {key}", worker_tasks.extract_layer, model_ref(model), key,
                                          cache_options(self.cache), lane=MODELS, key="view", on_result=extracted,
                                          on_error=failed)  # fmt: skip
        job.cancelled.connect(self._revert_layer_menu)

    def _revert_layer_menu(self) -> None:
        """The layer menu shows the layer on screen again (after a cancelled or failed switch)."""
        self._publish_choices()

    # ---- neighbours -----------------------------------------------------------------------------------------------
    def knn_layers(self) -> list[str]:
        """Layers whose activations define the true neighbours: those of the map shown, else the default pair."""
        return map_layers(self.state.model, self.state.embedding)

    def suggest_knn(self) -> None:
        """K nearest neighbours of the selection in the chosen space: of the one selected sample, or of the mean of a
        set (generated images included: their activation and map position); big activation searches run in a job."""
        s = self.state
        if s.model is None or not s.has_selection:
            return
        rows, k = s.selection_rows(), s.k
        generated = [g for g in map(self.generated_query, s.selected_generated) if g is not None]
        if not rows and not generated:
            self.message.emit("info", "The selected generated images are not on the map shown.")
            return
        if s.knn_space == "map":
            from diffviews_core.neighbours import knn_plane_scan  # no KD-tree (nor scipy) built on this thread

            coords = s.coords()
            if len(rows) == 1 and not generated:
                found, dists = knn_plane_scan(coords, rows[0], k)
            else:
                points = [coords[r] for r in rows] + [g[1][: coords.shape[1]] for g in generated]
                found, dists = knn_plane_scan(coords, np.mean(points, axis=0), k + len(rows))
                keep = ~np.isin(found, rows)
                found, dists = found[keep][:k], dists[keep][:k]
            s.set_knn(found.tolist(), dists.tolist())
            return
        extra = [g[0] for g in generated if g[0] is not None]
        if not rows and not extra:
            self.message.emit("info", "The selected generated images kept no activation: use the map space.")
            return
        try:
            layers = self.knn_layers()
            if not layers:
                raise DataError(s.model.path / "activations", "no stored activations: use the map space")
            values = s.model.num_samples * activation_width(s.model, layers)
        except (DataError, KeyError) as exc:
            self.message.emit("error", f"Activation KNN unavailable: {exc}")
            return
        cache_key = (str(s.model.path), tuple(layers))
        model = s.model

        coords = s.coords() if len(rows) == 1 and not generated else None

        def apply(result) -> None:
            found, dists, spread = result
            if s.model is model and s.selection_rows() == rows:
                known = None if coords is None else (coords, rows[0], tuple(found.tolist()), spread)
                s.set_knn(found.tolist(), dists.tolist(), known)

        def failed(text: str) -> None:
            self.message.emit("error", f"KNN failed: {text}")

        if values <= SYNC_KNN_VALUES:
            try:
                apply(_knn_activation(self._indexes, cache_key, model, layers, rows, k, extra, coords))
            except ValueError as exc:  # a generated image's activation of another size than the dataset's
                failed(str(exc))
            return
        self.pool.submit("Nearest neighbours", _knn_activation, self._indexes, cache_key, model, layers, rows, k,
                         extra, coords, key="knn", on_result=apply, on_error=failed)  # fmt: skip

    def _warm_knn(self) -> None:
        """Make the activation neighbour index of the map on screen ready in the background, so that the first
        *Suggest KNN* is one query (the index lands in the same bounded cache the queries use)."""
        model = self.state.model
        layers = self.knn_layers() if model is not None else []
        if not layers:
            return
        cache_key = (str(model.path), tuple(layers))
        if self._indexes.peek(cache_key) is not None:
            return
        self.pool.submit("Preparing neighbours", _warm_knn_index, self._indexes, cache_key, model, layers,
                         key="knn-warm", quiet=True, on_error=lambda text: log.info("KNN warm-up: %s", text))  # fmt: skip


def _warm_knn_index(indexes: LRUCache, cache_key, model, layers: list[str], progress=None, cancel=None) -> None:
    """``neighbour_warmup.warm_index`` into ``indexes`` (a query asking meanwhile waits for it instead of building
    a second copy); nothing is kept where no index exists yet (a large dataset whose index the first query builds)."""
    from diffviews_core.neighbour_warmup import warm_index

    def build():
        index = warm_index(model, layers, progress=progress, cancel=cancel)
        if index is None:
            raise _NothingToWarm
        return index

    try:
        indexes.get(cache_key, build, cancel=cancel)
    except _NothingToWarm:
        pass


class _NothingToWarm(Exception):
    """No index to keep: the activations were only read ahead."""


def activation_width(model, layers: list[str]) -> int:
    """Features per row of ``layers``, from their stored shapes: ``model.activations`` would read them (several
    small layers are joined in memory: ~30 ms on the UI thread per search)."""
    shapes = model.layer_shapes
    unknown = sorted(set(layers) - set(shapes))
    if unknown:
        raise KeyError(f"layer(s) {', '.join(unknown)} not stored; stored layers: {', '.join(shapes)}")
    return sum(int(np.prod(shapes[x])) for x in set(layers))


def _knn_activation(indexes: LRUCache, cache_key, model, layers: list[str], rows: list[int], k: int, extra: list,
                    coords: np.ndarray | None = None, progress=None, cancel=None):  # fmt: skip
    """The dataset's neighbour index (exact when small; approximate, built once and stored, when large; held in
    ``indexes``, where the warm-up may have put it already), queried with the selected rows or their mean:
    ``(rows, distances, map spread)``. What the dock shows with them is prepared here too, off the UI thread: the
    neighbours' images are decoded, and their ``map_spread`` on ``coords`` measured (one selected sample)."""
    from diffviews_core.knn_index import dataset_index
    from diffviews_core.neighbours import map_spread

    index = indexes.get(cache_key, lambda: dataset_index(model, layers, progress=progress, cancel=cancel), cancel)
    if len(rows) == 1 and not extra:
        found = index.query_rows(rows[0], k)
    else:
        vectors = [np.asarray(index.data[r], dtype=np.float64).ravel() for r in sorted(rows)]
        vectors += [np.asarray(v, dtype=np.float64).ravel() for v in extra]
        if any(v.shape != (index.dim,) for v in vectors):
            raise ValueError(f"a generated image's activation does not match the dataset's {index.dim} features")
        found = index.query(np.mean(vectors, axis=0), k, exclude=rows)
    model.preload_images(found[0])
    spread = None if coords is None else map_spread(coords, rows[0], found[0].tolist())
    return found[0], found[1], spread
