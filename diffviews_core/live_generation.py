"""Generate from a selection while placing every denoising step on the map: the job the app runs for "Generate from
neighbours" (and for replaying a lineage).

A job body here takes a ``publish(item)`` callback and publishes typed items as they happen: ``StatusUpdate`` for
its stages, ``LiveStep`` for each step of each pass (the step's record and its placement on the map). Whoever runs
it decides how often to look at them; the body never waits for a reader. Qt-free, and torch loads only when a job
runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .lineage import GenerationSettings, Lineage
from .trajectory_projection import ProjectedSteps, StepProjector, selection_mean

if TYPE_CHECKING:
    from .core.generator import GenerationResult, StepRecord
    from .model_cache import ModelCache

Publish = Callable[[Any], None]


@dataclass(frozen=True)
class StatusUpdate:
    """A stage of the job started (loading the model, fitting the projection)."""

    message: str


@dataclass(frozen=True)
class LiveStep:
    """One denoising step of pass ``pass_index`` (0: masked, 1: the unmasked comparison): images and placement."""

    pass_index: int
    record: StepRecord
    projected: ProjectedSteps


@dataclass(frozen=True)
class MapView:
    """The map generation draws on: its key (model path, map name), the layers that define it, its coordinates."""

    key: tuple[str, str]
    layers: tuple[str, ...]
    coords2d: np.ndarray
    coords3d: np.ndarray | None


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a run needs, captured when the user asks for it."""

    model: Any
    sample_ids: tuple[int | str, ...]
    settings: GenerationSettings
    class_label: int | None
    passes: tuple[bool, ...]  # masked flag per pass: (True,), or (True, False) for the unmasked comparison
    map: MapView
    seeds: tuple = ()  # SeedImage: generated images in the mask, beside the samples


def step_projector(cache: ModelCache, model, view: MapView, sample_ids: Sequence[int | str],
                   cancel: threading.Event | None = None, extra: Sequence[np.ndarray] = ()) -> StepProjector:  # fmt: skip
    """Places steps on ``view`` and measures them against the mean of ``sample_ids`` and the ``extra`` rows."""
    projectors = cache.projectors(model, view.key, view.layers, view.coords2d, view.coords3d, cancel)
    return StepProjector(projectors, selection_mean(model, sample_ids, view.layers, extra), model.stored_rows)


def run_generation(cache: ModelCache, request: GenerationRequest, publish: Publish,
                   cancel: threading.Event | None = None) -> list[tuple[GenerationResult, Lineage]]:  # fmt: skip
    """One generation per pass, every step published as a ``LiveStep``; returns (result, lineage) per pass."""
    from .neighbour_generation import generate_from_samples

    publish(StatusUpdate("Loading the model…"))
    with cache.lease(request.model, cancel) as adapter:
        publish(StatusUpdate("Preparing the map projection…"))
        extra = [seed.activation for seed in request.seeds]
        projector = step_projector(cache, request.model, request.map, request.sample_ids, cancel, extra)
        if any(x in getattr(request.model, "reductions", {}) for x in request.map.layers):
            publish(StatusUpdate("Recomputing the selection's full-size activations…"))
        out = []
        for index, masked in enumerate(request.passes):

            def on_step(record: StepRecord, index: int = index) -> None:
                publish(LiveStep(index, record, projector.project(record.activations)))

            out.append(generate_from_samples(adapter, request.model, request.sample_ids, request.map.layers,
                                             request.settings, class_label=request.class_label, masked=masked,
                                             on_step=on_step, cancel=cancel, seeds=request.seeds))  # fmt: skip
    return out


def run_replay(cache: ModelCache, lineage: Lineage, model, view: MapView,
               cancel: threading.Event | None = None) -> tuple[GenerationResult, list[ProjectedSteps]]:  # fmt: skip
    """Regenerate a lineage record (checkpoint and pixels verified) and place each of its steps on ``view``."""
    from .neighbour_generation import replay, replay_seeds

    with cache.lease(model, cancel) as adapter:
        projectors = cache.projectors(model, view.key, view.layers, view.coords2d, view.coords3d, cancel)
        seeds = replay_seeds(lineage, adapter, model)  # generated images in its mask, regenerated
        # the steps record the lineage's layers: the distances are to the selection's mean in those layers
        mean = selection_mean(model, lineage.source_sample_ids, lineage.layers, [s.activation for s in seeds])
        projector = StepProjector(projectors, mean, model.stored_rows)
        result = replay(lineage, adapter, model, seeds=seeds)
    return result, [projector.project(step) for step in result.trajectory]
