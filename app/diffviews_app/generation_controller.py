"""Runs "Generate from neighbours" in the worker pool and turns its live steps into trajectories on the map.

The worker loads the model's adapter and the map's projector once (cached), generates with the core's
``generate_from_samples`` and, at every step, projects the step's activations onto the current map and measures their
distance to the selection's mean; a Qt signal relays each step to the UI thread, where the state, the map layer, the
gallery and the plot follow. Finished images become overlay points; lineage is exported and replayed from here.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from diffviews_core.errors import CheckpointError
from diffviews_core.lineage import GenerationSettings, Lineage

from .canvas.trajectory_layer import TrajectoryLayer, trajectory_color
from .docks.preview_dock import class_text
from .state import ExplorerState
from .state.generation_state import GenerationState, StepFrame
from .workers import WorkerPool

log = logging.getLogger(__name__)

OVERLAY = "generated"
GENERATED_SIZE = 16
MIN_DRAIN_MS = 100  # live steps reach the UI at most ~10 times a second: each redraw recomposites the window


def mask_step_list(settings: GenerationSettings) -> list[int]:
    """0-based steps the mask applies to under ``settings`` (mirrors ActivationMasker.applies)."""
    n = settings.num_steps
    if settings.step_range is not None:
        first, last = settings.step_range
        return [i for i in range(n) if first - 1 <= i <= last - 1]
    if settings.mask_steps is None:
        return list(range(n))
    return list(range(min(int(settings.mask_steps), n)))


class ModelResources:
    """Adapters (per model) and projectors (per map), built on first use in a worker and kept for the session."""

    def __init__(self, device: str | None = None, adapter_name: str | None = None,
                 checkpoint: Path | None = None) -> None:  # fmt: skip
        self.device, self.adapter_name, self.checkpoint = device, adapter_name, checkpoint
        self._lock = threading.Lock()
        self._adapters: dict[str, object] = {}
        self._projectors: dict[tuple, tuple] = {}

    def adapter(self, model):
        """The model's adapter from its config (or the launch options' --adapter/--checkpoint-path)."""
        with self._lock:
            key = str(model.path)
            if key not in self._adapters:
                from diffviews_core import get_adapter
                from diffviews_core.device import pick_device

                checkpoint = self.checkpoint or model.config.get("checkpoint")
                if not checkpoint:
                    raise CheckpointError(model.path / "config.json", "no usable 'checkpoint' for this model: "
                                          "generation needs the model's weights (or --checkpoint-path)")  # fmt: skip
                name = self.adapter_name or model.config["adapter"]
                self._adapters[key] = get_adapter(name).from_checkpoint(checkpoint, device=pick_device(self.device))
            return self._adapters[key]

    def projectors(self, model, map_key: tuple, layers: list[str], coords2d: np.ndarray, coords3d: np.ndarray | None):
        """(2D projector, 3D projector or None) placing activations of ``layers`` on the map ``map_key``."""
        from diffviews_core.embedding import Projector

        key = (*map_key, tuple(layers))
        with self._lock:
            if key not in self._projectors:
                p2 = Projector.from_activations(model.activations(layers), coords2d)
                p3 = Projector(p2.stage, coords3d) if coords3d is not None else None
                self._projectors[key] = (p2, p3)
            return self._projectors[key]


@dataclass
class GenerationRequest:
    """Everything a run needs, captured on the UI thread when the user clicks."""

    model: object
    sample_ids: list[int | str]
    layers: list[str]
    settings: GenerationSettings
    class_label: int | None
    passes: tuple[bool, ...]  # masked flags: (True,) or (True, False) for the comparison
    map_key: tuple[str, str]
    coords2d: np.ndarray
    coords3d: np.ndarray | None


def mean_vector(model, sample_ids, layers) -> np.ndarray:
    """The selection's mean stored row, layers in sorted order (the map's feature layout, reduced where the dataset
    stores layers reduced)."""
    from diffviews_core.neighbour_generation import stored_mean

    return stored_mean(model, sample_ids, layers)


def project_step(projectors, mean: np.ndarray, activations: dict[str, np.ndarray], model):
    """(coords2d, coords3d or None, distances, flat activations) of one step's batch, in the model's stored layout."""
    flat = model.stored_rows(activations)
    p2, p3 = projectors
    xy = p2.project(flat)
    xyz = p3.project(flat) if p3 is not None else None
    return xy, xyz, np.linalg.norm(flat - mean, axis=1), flat


def run_generation(resources: ModelResources, req: GenerationRequest, emit, cancel=None):
    """Worker body: one generation per pass, each step projected and relayed live; returns [(result, lineage)].

    Progress travels with the steps through ``emit`` (("status", text) and ("step", pass, record, ...)) rather than
    the pool's progress signal, so the UI redraws once per batch of steps, however fast they come.
    """
    from diffviews_core.neighbour_generation import generate_from_samples

    emit(("status", "Loading the model…"))
    adapter = resources.adapter(req.model)
    emit(("status", "Preparing the map projection…"))
    projectors = resources.projectors(req.model, req.map_key, req.layers, req.coords2d, req.coords3d)
    mean = mean_vector(req.model, req.sample_ids, req.layers)
    if any(x in getattr(req.model, "reductions", {}) for x in req.layers):
        emit(("status", "Recomputing the selection's full-size activations…"))
    out = []
    for p, masked in enumerate(req.passes):

        def on_step(rec, p=p) -> None:
            emit(("step", p, rec, *project_step(projectors, mean, rec.activations, req.model)))

        out.append(generate_from_samples(adapter, req.model, req.sample_ids, req.layers, req.settings,
                                         class_label=req.class_label, masked=masked, on_step=on_step,
                                         cancel=cancel))  # fmt: skip
    return out


def run_replay(resources: ModelResources, lineage: Lineage, model, map_key, layers, coords2d, coords3d, cancel=None):
    """Worker body of "Replay lineage": regenerate (verifying checkpoint and pixels) and place its trajectory."""
    from diffviews_core.neighbour_generation import replay

    adapter = resources.adapter(model)
    projectors = resources.projectors(model, map_key, layers, coords2d, coords3d)
    mean = mean_vector(model, lineage.source_sample_ids, lineage.layers)
    result = replay(lineage, adapter, model)
    steps = [project_step(projectors, mean, acts, model) for acts in result.trajectory]
    return result, steps


class _Relay(QObject):
    """Hands steps from the worker to the UI thread, coalesced: however many steps pile up while the UI is busy,
    one queued ``ready`` drains them all, so a fast model cannot flood the event loop."""

    ready = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._items: list = []

    def push(self, token: int, payload) -> None:  # worker thread
        with self._lock:
            first = not self._items
            self._items.append((token, payload))
        if first:
            self.ready.emit()

    def take(self) -> list:
        with self._lock:
            items, self._items = self._items, []
        return items


class GenerationController(QObject):
    """Generate / compare / cancel / replay; keeps the map layer and the overlay of generated points in sync."""

    message = Signal(str, str)  # level, text

    def __init__(self, state: ExplorerState, gen: GenerationState, pool: WorkerPool, canvas, knn_layers,
                 resources: ModelResources | None = None, overrides: dict | None = None,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.overrides = dict(overrides or {})  # settings from the command line, over each model's defaults
        self.state, self.gen, self.pool, self.canvas = state, gen, pool, canvas
        self.knn_layers = knn_layers  # () -> the layers of the map shown (the explorer controller's choice)
        self.resources = resources or ModelResources()
        self.layer = TrajectoryLayer(canvas, self)
        self._run_ids: list[list[int]] = []  # per pass, trajectory ids of the running job
        self._job = None
        self._relay = _Relay(self)
        self._relay.ready.connect(self._steps_ready)
        self._drain_timer = QTimer(self, singleShot=True)
        self._drain_timer.timeout.connect(self._drain)
        self._last_drain = 0.0
        self._token = 0  # steps of an older (cancelled) run are dropped
        self._prepared: set[tuple[str, str]] = set()
        self.layer.step_hovered.connect(self.gen.step_hovered)
        self.layer.end_clicked.connect(self.select_generated)
        gen.trajectory_stepped.connect(self._draw)
        gen.trajectory_finished.connect(self._finished)
        gen.trajectories_cleared.connect(self._redraw_all)
        gen.current_changed.connect(self.layer.set_current)
        state.selected_changed.connect(self._prepare)
        state.mode_changed.connect(self._mode_changed)
        state.model_changed.connect(self._model_changed)
        state.embedding_changed.connect(self._redraw_all)

    # ---- what is shown ----------------------------------------------------------------------------------------------
    def map_key(self) -> tuple[str, str]:
        return (str(self.state.model.path) if self.state.model is not None else "", self.state.layer)

    def _model_changed(self) -> None:
        model = self.state.model
        if model is None:
            return
        cfg = model.config
        defaults = {
            "num_steps": int(cfg.get("default_steps") or self.gen.settings.num_steps),
            "noise_max": float(cfg.get("noise_max", 100.0)),
            "noise_min": float(cfg.get("noise_min", 0.0)),
            "guidance_scale": float(cfg.get("default_guidance", 1.0)),
            "sampler": cfg.get("sampler") if isinstance(cfg.get("sampler"), str) else None,
        }
        self.gen.update_settings(**{**defaults, **self.overrides})
        self._redraw_all()

    def _prepare(self, row: int) -> None:
        """A selection usually precedes "Generate": load the adapter and fit the map's projection now, off the UI
        thread, so the click only generates. Done once per model and map (the caches remember)."""
        s = self.state
        if row < 0 or s.model is None or s.embedding is None or self.map_key() in self._prepared:
            return
        self._prepared.add(self.map_key())
        model, map_key, layers = s.model, self.map_key(), list(self.knn_layers())
        emb = s.embedding

        def prepare() -> None:
            self.resources.adapter(model)
            self.resources.projectors(model, map_key, layers, emb.coords2d, emb.coords3d)

        self.pool.submit("Preparing generation", prepare, key="prepare-generation",
                         on_error=lambda text: self.message.emit("warning", f"Generation is unavailable: {text}"))

    def _mode_changed(self, mode: str) -> None:
        self.layer.set_mode(mode)
        self._refresh_overlay()

    def _draw(self, tid: int) -> None:
        traj = self.gen.trajectories.get(tid)
        if traj is None:
            return
        if traj.map_key != self.map_key():
            self.layer.remove(tid)
            return
        rgb = trajectory_color(traj.run, traj.masked)
        self.layer.set_trajectory(tid, traj.points("2d"), traj.points("3d") if traj.coords3d else None, traj.sigmas, rgb,
                                  traj.finished)  # fmt: skip

    def _redraw_all(self) -> None:
        for tid in set(self.layer.ids()) - set(self.gen.trajectories):
            self.layer.remove(tid)
        self.layer.set_mode(self.state.mode)
        for tid in self.gen.trajectories:
            self._draw(tid)
        self.layer.set_current(self.gen.current)
        self._refresh_overlay()

    def _finished(self, tid: int) -> None:
        self._draw(tid)
        self._refresh_overlay()

    def generated_points(self) -> tuple[list[int], np.ndarray]:
        """Trajectory ids and positions of the generated images on the map shown: (M, 2) in 2D, (M, 3) in 3D."""
        trajs = self.gen.finished_trajectories(self.map_key())
        dims = 3 if self.state.mode == "3d" and all(t.coords3d for t in trajs) else 2
        if not trajs:
            return [], np.zeros((0, dims), dtype=np.float32)
        pts = np.stack([t.points("3d" if dims == 3 else "2d")[-1] for t in trajs]).astype(np.float32)
        return [t.id for t in trajs], pts

    def _refresh_overlay(self) -> None:
        ids, pts = self.generated_points()
        if not ids:
            self.canvas.remove_overlay(OVERLAY)
            return
        rgba = np.array([(*trajectory_color(self.gen.trajectories[t].run, self.gen.trajectories[t].masked), 1.0)
                         for t in ids], dtype=np.float32)  # fmt: skip
        self.canvas.add_overlay_points(OVERLAY, pts, rgba, symbol="star", size=GENERATED_SIZE)

    def select_generated(self, tid: int) -> None:
        """A click on a generated image's point: it becomes the current trajectory, at its final step."""
        self.gen.set_current(tid)
        traj = self.gen.current_trajectory()
        if traj is not None:
            self.gen.set_step(len(traj.frames) - 1)

    def clear(self) -> None:
        """Remove every trajectory and generated point (a running generation is cancelled first)."""
        self.cancel()
        self.gen.clear()

    # ---- generate ---------------------------------------------------------------------------------------------------
    def _class_text(self, row: int) -> str:
        s = self.state
        return class_text(s.model, row, s.root.class_names if s.root is not None else None)

    def generate(self, compare: bool = False) -> bool:
        """Generate from the selected sample and its neighbours (and, with ``compare``, the same seed unmasked)."""
        s = self.state
        if self.gen.running:
            return False
        if s.model is None or s.selected < 0 or s.embedding is None:
            self.message.emit("info", "Select a sample on the map first; its neighbours join the mask.")
            return False
        rows = [s.selected, *s.neighbour_rows()]
        ids = [s.model.samples.sample_key(r) for r in rows]
        settings = self.gen.settings
        samples = s.model.samples
        label = int(samples.class_label[s.selected]) if samples.has_classes else None
        req = GenerationRequest(
            model=s.model, sample_ids=ids, layers=list(self.knn_layers()), settings=settings, class_label=label,
            passes=(True, False) if compare else (True,), map_key=self.map_key(),
            coords2d=s.embedding.coords2d, coords3d=s.embedding.coords3d)  # fmt: skip
        run = self.gen.new_run()
        text = self._class_text(s.selected)
        self._run_ids = []
        for masked in req.passes:
            self._run_ids.append([
                self.gen.add_trajectory(run=run, sample=i, masked=masked, class_label=label, class_text=text,
                                        map_key=req.map_key, num_steps=settings.num_steps,
                                        mask_steps=mask_step_list(settings)).id
                for i in range(settings.num_samples)
            ])  # fmt: skip
        self.gen.set_current(self._run_ids[0][0])
        self.gen.set_compare(None)
        self.gen.set_running(True)
        self.gen.progressed.emit(0.0, "Starting…")
        self._token += 1
        emit = functools.partial(self._relay.push, self._token)
        job = self.pool.submit(f"Generating from {len(ids)} sample{'s' if len(ids) != 1 else ''}", run_generation,
                               self.resources, req, emit, key="generate",
                               on_result=lambda out, r=list(self._run_ids): self._done(out, r, compare),
                               on_error=self._failed)  # fmt: skip
        job.cancelled.connect(self._cancelled)
        job.ended.connect(lambda: self.gen.set_running(False))
        self._job = job
        return True

    def cancel(self) -> None:
        if self._job is not None and self.gen.running:
            self._job.cancel()

    def _steps_ready(self) -> None:
        """Steps are waiting: show them now, or, right after a redraw, a little later (at most ~30 redraws/s, since
        each one repaints the map, the gallery and the plot)."""
        wait_ms = MIN_DRAIN_MS - (time.monotonic() - self._last_drain) * 1000
        if wait_ms <= 0:
            self._drain()
        elif not self._drain_timer.isActive():
            self._drain_timer.start(int(wait_ms) + 1)

    def _drain(self) -> None:
        """Apply every step that arrived since the last drain, then report progress once."""
        self._last_drain = time.monotonic()
        status = None
        for token, payload in self._relay.take():
            if token != self._token:
                continue
            if payload[0] == "status":
                status = (0.0, payload[1])
            elif payload[1] < len(self._run_ids):
                p, rec = payload[1], payload[2]
                self._on_step(payload[1:])
                done = p * rec.num_steps + rec.step + 1
                kind = "masked" if p == 0 else "unmasked"
                status = (done / (len(self._run_ids) * rec.num_steps),
                          f"Generating ({kind}): step {rec.step + 1}/{rec.num_steps}")  # fmt: skip
        if status is not None:
            self.gen.progressed.emit(*status)

    def _on_step(self, payload) -> None:
        p, rec, xy, xyz, dist, flat = payload
        if p >= len(self._run_ids):
            return
        for i, tid in enumerate(self._run_ids[p]):
            frame = StepFrame(rec.step, rec.num_steps, rec.sigma, rec.x0[i], rec.noised[i])
            self.gen.add_step(tid, frame, xy[i], None if xyz is None else xyz[i], float(dist[i]), flat[i])

    def _done(self, out, run_ids: list[list[int]], compare: bool) -> None:
        self._drain_timer.stop()
        self._drain()  # steps still queued behind the result land first, so every trajectory is whole
        for (result, lineage), tids in zip(out, run_ids):
            for i, tid in enumerate(tids):
                self.gen.finish(tid, result.images[i], lineage)
        if compare:
            self.gen.set_compare((run_ids[0][0], run_ids[1][0]))
        self.gen.set_current(run_ids[0][0])
        self.gen.progressed.emit(1.0, f"Done: {sum(len(t) for t in run_ids)} image(s), seed {out[0][1].settings.seed}")
        self._run_ids = []

    def _failed(self, text: str) -> None:
        self.gen.discard([t for ids in self._run_ids for t in ids])
        self._run_ids = []
        self.gen.progressed.emit(0.0, "Generation failed")
        self.message.emit("error", f"Generation failed: {text}")

    def _cancelled(self) -> None:
        self.gen.discard([t for ids in self._run_ids for t in ids])
        self._run_ids = []
        self.gen.progressed.emit(0.0, "Cancelled")

    # ---- lineage ----------------------------------------------------------------------------------------------------
    def current_lineage(self) -> Lineage | None:
        traj = self.gen.current_trajectory()
        return traj.lineage if traj is not None else None

    def export_lineage(self, path: Path | str) -> Path:
        """Write the current image's lineage as JSON (atomic)."""
        lineage = self.current_lineage()
        if lineage is None:
            raise ValueError("no finished generated image is selected")
        lineage.save(path)
        return Path(path)

    def replay(self, lineage: Lineage) -> bool:
        """Regenerate from a lineage record in the background; the result is checked bit for bit and drawn."""
        s = self.state
        if s.model is None or s.embedding is None or self.gen.running:
            return False
        if lineage.model != s.model.name:
            self.message.emit("error", f"This lineage is for model {lineage.model!r}; open it first "
                              f"(now showing {s.model.name!r}).")  # fmt: skip
            return False
        layers = list(self.knn_layers())
        map_key = self.map_key()
        model = s.model
        try:
            row = model.samples.row_of(lineage.source_sample_ids[0])
        except (KeyError, IndexError, ValueError):
            self.message.emit("error", "The lineage's source samples are not in this model.")
            return False
        text = self._class_text(row) if lineage.class_label == int(model.samples.class_label[row]) else str(
            lineage.class_label)  # fmt: skip
        self.gen.set_running(True)
        self.gen.progressed.emit(0.0, "Replaying lineage…")

        def done(out) -> None:
            result, steps = out
            run = self.gen.new_run()
            first = -1
            for i in range(len(result.images)):
                traj = self.gen.add_trajectory(run=run, sample=i, masked=lineage.masked, class_label=lineage.class_label,
                                               class_text=text, map_key=map_key, num_steps=len(steps),
                                               mask_steps=mask_step_list(lineage.settings))  # fmt: skip
                for k, (xy, xyz, dist, flat) in enumerate(steps):
                    frame = StepFrame(k, len(steps), float(result.sigmas[k]), result.intermediates[k][i],
                                      result.noised_inputs[k][i])  # fmt: skip
                    self.gen.add_step(traj.id, frame, xy[i], None if xyz is None else xyz[i], float(dist[i]), flat[i])
                self.gen.finish(traj.id, result.images[i], lineage)
                first = traj.id if first < 0 else first
            self.gen.set_current(first)
            self.gen.progressed.emit(1.0, "Replay identical to the lineage (sha256 of every image matches)")
            self.message.emit("info", "Replay reproduced the recorded image(s) bit for bit.")

        def failed(text_: str) -> None:
            self.gen.progressed.emit(0.0, "Replay failed")
            self.message.emit("error", f"Replay failed: {text_}")

        job = self.pool.submit("Replaying lineage", run_replay, self.resources, lineage, model, map_key, layers,
                               s.embedding.coords2d, s.embedding.coords3d, key="generate", on_result=done,
                               on_error=failed)  # fmt: skip
        job.ended.connect(lambda: self.gen.set_running(False))
        self._job = job
        return True
