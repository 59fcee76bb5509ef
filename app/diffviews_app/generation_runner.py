"""Runs "Generate from neighbours", its unmasked comparison and lineage replays as jobs; writes only GenerationState.

The job body (``diffviews_core.live_generation``) runs in the app's worker process (``worker_tasks``: torch never
loads in the window's process), loads the model and the map's projection through the worker's ``ModelCache`` (the
launch options of the session's cache apply) and emits every denoising step as a typed ``LiveStep``; the worker
pool hands them over in batches
(at most ~10 a second: each batch redraws the map, the gallery and the plot) and the runner turns them into
trajectory steps. What is drawn is the trajectory bridge's business, what is shown the docks'. A selection usually
precedes a click, so the model and the projection are prepared as soon as a sample is selected.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from diffviews_core import worker_tasks
from diffviews_core.captions import class_text
from diffviews_core.lineage import GeneratedSeed, Lineage, SeedImage
from diffviews_core.live_generation import GenerationRequest, LiveStep, MapView, StatusUpdate
from diffviews_core.maps import map_layers
from diffviews_core.model_cache import ModelCache
from diffviews_core.worker_tasks import cache_options, model_ref

from .state import ExplorerState
from .state.generation_state import GenerationState, StepFrame, Trajectory
from .workers import MODELS, WorkerPool

log = logging.getLogger(__name__)

STEP_BATCH_MS = 100  # live steps reach the UI at most ~10 times a second: each batch redraws part of the window


class GenerationRunner(QObject):
    """Generate / compare / cancel / replay / clear; ``message(level, text)`` for the window's banner."""

    message = Signal(str, str)

    def __init__(self, state: ExplorerState, gen: GenerationState, pool: WorkerPool, cache: ModelCache,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.state, self.gen, self.pool, self.cache = state, gen, pool, cache
        self._run_ids: list[list[int]] = []  # per pass, the trajectory ids of the running generation
        self._job = None
        self._prepared: set[tuple[str, str]] = set()
        # (model, sampler) -> seconds per image step of the last run, from its first step on (loading the model and
        # fitting the projection happen once: the worker keeps them)
        self._pace: dict[tuple[str, str | None], float] = {}
        self._began: list | None = None  # the running one's [pace key, image steps, images, first step's arrival]
        self.devices: set[str] = set()  # the devices generations ran on (in the worker process)
        state.selection_changed.connect(lambda: self.prepare(next(iter(state.selection_rows()), -1)))

    def data_opening(self, busy: bool) -> None:
        """Another data folder is being opened: stop generating from, and preparing, the data on screen."""
        if busy:
            self.cancel()
            self.pool.cancel_keys("prepare-generation")
            self._prepared.clear()

    # ---- what a run needs -------------------------------------------------------------------------------------
    def map_view(self) -> MapView:
        """The map shown: trajectories are placed on it, its layers are masked."""
        s = self.state
        return MapView(s.map_key(), tuple(map_layers(s.model, s.embedding)), s.embedding.coords2d,
                       s.embedding.coords3d)  # fmt: skip

    def _class_text(self, row: int) -> str:
        s = self.state
        return class_text(s.model, row, s.root.class_names if s.root is not None else None)

    def _set_label(self, rows: list[int]) -> tuple[int | None, int]:
        """The class a generation from ``rows`` is conditioned on (the most common among them) and a row of it."""
        samples = self.state.model.samples
        if not samples.has_classes:
            return None, rows[0]
        labels = np.asarray(samples.class_label, dtype=np.int64)[rows]
        values, counts = np.unique(labels, return_counts=True)
        label = int(values[np.argmax(counts)])
        return label, rows[int(np.flatnonzero(labels == label)[0])]

    def prepare(self, row: int) -> None:
        """Load the model and fit the map's projection in the background, so the click only generates (once per
        model and map: the cache keeps them)."""
        s = self.state
        if row < 0 or s.model is None or s.embedding is None or s.map_key() in self._prepared:
            return
        self._prepared.add(s.map_key())
        self.pool.submit_to_process("Preparing generation", worker_tasks.prepare_generation, model_ref(s.model),
                                    self.map_view(), cache_options(self.cache), lane=MODELS, key="prepare-generation",
                                    on_error=lambda text: self.message.emit("warning",
                                                                            f"Generation is unavailable: {text}"))  # fmt: skip

    def set_adapter(self, name: str | None) -> None:
        """Run checkpoints with adapter ``name`` from now on (None or "": each model's config.json names its own);
        the model is loaded again, in the background, for the selected sample."""
        self.cache.adapter_name = name or None
        self._prepared.clear()
        self.prepare(self.state.selected)

    # ---- generate ---------------------------------------------------------------------------------------------
    def request(self, compare: bool = False) -> GenerationRequest | None:
        """What a generation from the selection would run: the selected sample or every member of the selection
        set, the selected generated images (their final activations) and the neighbours, averaged into the mask;
        the class most common among the selected samples (or the first generated image's)."""
        s, gen = self.state, self.gen
        selected = s.selection_rows()
        if s.model is None or s.embedding is None:
            return None
        seeds = self.seeds()
        if not selected and not seeds:
            return None
        rows = s.generation_rows()
        samples = s.model.samples
        label = self._set_label(selected)[0] if selected else seeds[0].source.lineage.class_label
        return GenerationRequest(
            model=s.model, sample_ids=tuple(samples.sample_key(r) for r in rows), settings=gen.settings,
            class_label=label, passes=(True, False) if compare else (True,), map=self.map_view(),
            seeds=tuple(seeds))  # fmt: skip

    def seed_trajectories(self) -> list[Trajectory]:
        """The selected generated images that can join a mask: finished on the map shown, their activation kept
        (images restored from a session kept none)."""
        s = self.state
        found = [self.gen.trajectories.get(tid) for tid in s.selected_generated]
        return [t for t in found if t is not None and t.finished and t.lineage is not None and t.activations
                and t.map_key == s.map_key()]  # fmt: skip

    def seeds(self) -> list[SeedImage]:
        """The usable selected generated images as mask members: final activation and the record that made it."""
        return [SeedImage(np.asarray(t.activations[-1]), GeneratedSeed(t.lineage, t.sample))
                for t in self.seed_trajectories()]  # fmt: skip

    def generate(self, compare: bool = False) -> bool:
        """Generate from the selection and its neighbours (and, with ``compare``, the same seed unmasked)."""
        s, gen = self.state, self.gen
        if gen.running:
            return False
        request = self.request(compare)
        if request is None:
            self.message.emit("info", "Select samples on the map first (click, lasso or box) or generated images "
                              "(Ctrl/Shift+click a star); their neighbours join the mask.")  # fmt: skip
            return False
        left_out = len(s.selected_generated) - len(request.seeds)
        if left_out:
            self.message.emit("info", f"{left_out} selected generated image(s) left out of the mask: restored from a "
                              "session (no activation kept) or made on another map.")  # fmt: skip
        if s.selection_rows():
            label, label_row = self._set_label(s.selection_rows())
            text = self._class_text(label_row)
        else:
            label, text = request.class_label, self.seed_trajectories()[0].class_text
        run, settings = gen.new_run(), request.settings
        self._run_ids = [
            [gen.add_trajectory(run=run, sample=i, masked=masked, class_label=label, class_text=text,
                                map_key=request.map.key, num_steps=settings.num_steps,
                                mask_steps=settings.masked_steps()).id for i in range(settings.num_samples)]
            for masked in request.passes
        ]  # fmt: skip
        gen.set_current(self._run_ids[0][0])
        gen.set_compare(None)
        pace_key = (s.model.name, settings.sampler)
        units = len(request.passes) * settings.num_steps * settings.num_samples
        pace = self._pace.get(pace_key)
        gen.expected_seconds = None if pace is None else pace * units
        self._began = [pace_key, units, settings.num_samples, None]
        gen.set_running(True)
        gen.progressed.emit(-1.0, "Starting…")  # not known yet: a busy bar (and the time left, from an earlier run)
        n, g = len(request.sample_ids), len(request.seeds)
        source = f"{n} sample{'s' if n != 1 else ''}" + (f" + {g} generated" if g else "")
        run_ids = list(self._run_ids)
        job = self.pool.submit_to_process(f"Generating from {source}", worker_tasks.generate,
                                          model_ref(request.model), replace(request, model=None),
                                          cache_options(self.cache), lane=MODELS, key="generate",
                                          on_partial=self._published,
                                          partial_interval_ms=STEP_BATCH_MS,
                                          on_result=lambda out: self._done(out, run_ids, compare),
                                          on_error=self._failed)  # fmt: skip
        job.cancelled.connect(lambda j=job: self._cancelled() if self._job is j else None)
        job.ended.connect(lambda j=job: gen.set_running(False) if self._job is j else None)
        self._job = job
        return True

    def cancel(self) -> None:
        """Stop now as far as the window is concerned: the unfinished images go, the controls come back and the
        status says so; the job's thread ends at its next step (the pool waits for it on close)."""
        job = self._job
        if job is not None and self.gen.running:
            self._job = None
            job.cancel()
            self.gen.set_running(False)
            self._cancelled()

    def clear(self) -> None:
        """Remove every trajectory and generated image (a running generation is cancelled first)."""
        self.cancel()
        self.gen.clear()

    def _published(self, items: list) -> None:
        """A batch of what the job published: stages and steps, then one progress report for the batch."""
        status = None
        passes = len(self._run_ids)
        for item in items:
            if isinstance(item, StatusUpdate):
                status = (-1.0, item.message)
            elif isinstance(item, LiveStep) and item.pass_index < passes:
                if self._began is not None and self._began[3] is None:
                    self._began[3] = time.monotonic()
                self._add_step(item)
                rec = item.record
                kind = "masked" if item.pass_index == 0 else "unmasked"
                done = item.pass_index * rec.num_steps + rec.step + 1
                status = (done / (passes * rec.num_steps), f"Generating ({kind}): step {rec.step + 1}/{rec.num_steps}")
        if status is not None:
            self.gen.progressed.emit(*status)

    def _add_step(self, item: LiveStep) -> None:
        rec, placed = item.record, item.projected
        for i, tid in enumerate(self._run_ids[item.pass_index]):
            frame = StepFrame(rec.step, rec.num_steps, rec.sigma, rec.x0[i], rec.noised[i])
            xyz = None if placed.coords3d is None else placed.coords3d[i]
            self.gen.add_step(tid, frame, placed.coords2d[i], xyz, float(placed.distances[i]), placed.activations[i])

    def _done(self, answer, run_ids: list[list[int]], compare: bool) -> None:
        out, devices = answer
        self.devices.update(devices)
        for (result, lineage), tids in zip(out, run_ids):
            for i, tid in enumerate(tids):
                self.gen.finish(tid, result.images[i], lineage)
        if compare:
            self.gen.set_compare((run_ids[0][0], run_ids[1][0]))
        self.gen.set_current(run_ids[0][0])
        images = sum(len(t) for t in run_ids)
        if self._began is not None:
            pace_key, units, per_pass, first_step = self._began
            if first_step is not None and units > per_pass:  # the steps after the first one set the pace
                self._pace[pace_key] = (time.monotonic() - first_step) / (units - per_pass)
            self._began = None
        self.gen.progressed.emit(1.0, f"Done: {images} image(s), seed {out[0][1].settings.seed}")
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

    # ---- lineage ----------------------------------------------------------------------------------------------
    def replay(self, lineage: Lineage) -> bool:
        """Regenerate from a lineage record in the background; the result is checked bit for bit and drawn."""
        s, gen = self.state, self.gen
        if s.model is None or s.embedding is None or gen.running:
            return False
        if lineage.model != s.model.name:
            self.message.emit("error", f"This lineage is for model {lineage.model!r}; open it first "
                              f"(now showing {s.model.name!r}).")  # fmt: skip
            return False
        model, view = s.model, self.map_view()
        try:
            rows = [model.samples.row_of(i) for i in lineage.source_sample_ids]
        except (KeyError, ValueError):
            self.message.emit("error", "The lineage's source samples are not in this model.")
            return False
        if not rows and not lineage.source_generated:
            self.message.emit("error", "The lineage names no source samples or generated images.")
            return False
        row = rows[0] if rows else -1
        same_class = row >= 0 and model.samples.has_classes and lineage.class_label == int(
            model.samples.class_label[row])
        text = self._class_text(row) if same_class else str(lineage.class_label)
        gen.set_running(True)
        gen.progressed.emit(-1.0, "Replaying lineage…")

        def done(out) -> None:
            result, steps = out
            run = gen.new_run()
            first = -1
            for i in range(len(result.images)):
                traj = gen.add_trajectory(run=run, sample=i, masked=lineage.masked, class_label=lineage.class_label,
                                          class_text=text, map_key=view.key, num_steps=len(steps),
                                          mask_steps=lineage.settings.masked_steps())  # fmt: skip
                for k, placed in enumerate(steps):
                    frame = StepFrame(k, len(steps), float(result.sigmas[k]), result.intermediates[k][i],
                                      result.noised_inputs[k][i])  # fmt: skip
                    xyz = None if placed.coords3d is None else placed.coords3d[i]
                    gen.add_step(traj.id, frame, placed.coords2d[i], xyz, float(placed.distances[i]),
                                 placed.activations[i])  # fmt: skip
                gen.finish(traj.id, result.images[i], lineage)
                first = traj.id if first < 0 else first
            gen.set_current(first)
            gen.progressed.emit(1.0, "Replay identical to the lineage (sha256 of every image matches)")
            self.message.emit("info", "Replay reproduced the recorded image(s) bit for bit.")

        def failed(text_: str) -> None:
            gen.progressed.emit(0.0, "Replay failed")
            self.message.emit("error", f"Replay failed: {text_}")

        job = self.pool.submit_to_process("Replaying lineage", worker_tasks.replay, model_ref(model), lineage, view,
                                          cache_options(self.cache), lane=MODELS, key="generate", on_result=done,
                                          on_error=failed)  # fmt: skip
        job.ended.connect(lambda j=job: gen.set_running(False) if self._job is j else None)
        self._job = job
        return True
