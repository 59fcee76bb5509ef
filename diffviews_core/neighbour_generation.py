"""Generate from a selection: mask the chosen layers with the mean activation of the selected samples (stored rows,
or rows recomputed through the model where the dataset stores a layer reduced) and of any generated images selected
with them (their final activations; a replay regenerates those first).

This is the product's central action ("Generate from neighbours"), kept Qt-free so the GUI, the CLI and
``replay`` share one code path and a lineage record regenerates an image bit for bit.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import numpy as np

from .core import ActivationMasker, GenerationResult, StepRecord, generate_with_mask_multistep
from .errors import DiffViewsError
from .jobs import Progress, report
from .lineage import GeneratedSeed, GenerationSettings, Lineage, SeedImage, file_sha256, images_sha256
from .trajectory_projection import selection_mean


def mean_activations(
    model_data,
    sample_ids: Sequence[int | str],
    layers: Sequence[str],
    adapter=None,
    cancel: threading.Event | None = None,
    extra: Sequence[np.ndarray] = (),
) -> dict[str, np.ndarray]:
    """Per layer, the mean full-size flattened activation over ``sample_ids`` and the ``extra`` rows (generated
    images, in the layers' flat layout): read from the stored rows, or, for layers the dataset stores reduced,
    recomputed through ``adapter`` (see ``full_activations``; generated images cannot join those)."""
    layers = sorted(layers)
    reduced = [x for x in layers if x in getattr(model_data, "reductions", {})]
    stored = [x for x in layers if x not in reduced]
    if extra and reduced:
        raise DiffViewsError(
            f"{model_data.path}: layer(s) {', '.join(reduced)} are stored reduced, so a generated image's activation "
            "cannot join their full-size mask; generate from samples only, or use a map of full-size layers"
        )
    out: dict[str, np.ndarray] = {}
    if stored:
        mean = selection_mean(model_data, sample_ids, stored, extra)
        shapes = model_data.layer_shapes
        start = 0
        for name in stored:
            size = math.prod(shapes[name])
            out[name] = mean[start : start + size]
            start += size
        if start != mean.shape[0]:
            raise DiffViewsError(
                f"{model_data.path}: stored activations have {mean.shape[0]} columns, layers need {start}"
            )
    if reduced:
        if adapter is None:
            raise DiffViewsError(
                f"{model_data.path}: layer(s) {', '.join(reduced)} are stored reduced; their full-size mean is "
                "recomputed through the model, which needs its adapter"
            )
        from .full_activations import full_mean

        rows = [model_data.samples.row_of(s) for s in sample_ids]
        if not rows:
            raise ValueError("no samples selected")
        out.update(full_mean(model_data, rows, reduced, adapter, cancel=cancel))
    return {k: out[k] for k in layers}


def refuse_text_conditioned(adapter, model_data) -> None:
    """Captioned (text-conditioned) samples need an adapter that takes text; a class-label model is refused."""
    if model_data.samples.has_classes:
        return
    takes = getattr(adapter, "conditioning_type", "class")
    if takes != "text":
        raise DiffViewsError(
            f"{model_data.name}: its samples are text-conditioned (captions), but adapter "
            f"{getattr(adapter, 'model_type', type(adapter).__name__)!r} takes class labels: generation refused"
        )
    raise DiffViewsError(
        f"{model_data.name}: generating from captions is not supported yet (adapter "
        f"{getattr(adapter, 'model_type', type(adapter).__name__)!r} takes text, but the generator passes class labels)"
    )


def generate_from_samples(
    adapter,
    model_data,
    sample_ids: Sequence[int | str],
    layers: Sequence[str],
    settings: GenerationSettings,
    class_label: int | None = None,
    masked: bool = True,
    on_step: Callable[[StepRecord], None] | None = None,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
    seeds: Sequence[SeedImage] = (),
) -> tuple[GenerationResult, Lineage]:
    """Masked generation from the mean activation of the samples and ``seeds`` (generated images); the class
    defaults to the first (selected) sample's, or the first seed's.

    ``masked=False`` runs the same seed and settings without the mask (the side-by-side comparison).
    Trajectory activations are recorded for ``layers`` either way, so both runs can be drawn on the map.
    ``on_step`` gets every step's record (images, activations); ``progress`` and ``cancel`` follow the
    ``diffviews_core.jobs`` contract (checked once per step).
    """
    samples = model_data.samples
    ids = [samples.sample_key(samples.row_of(s)) for s in sample_ids]
    refuse_text_conditioned(adapter, model_data)
    if class_label is None and ids:
        class_label = int(samples.class_label[samples.row_of(ids[0])])
    elif class_label is None and seeds:
        class_label = seeds[0].source.lineage.class_label
    masker = None
    if masked:
        masker = ActivationMasker(
            adapter,
            mask_steps=settings.mask_steps,
            step_range=settings.step_range,
            cfg_pass=settings.cfg_pass,
            blend=settings.blend,
        )
        extra = [seed.activation for seed in seeds]
        for name, vec in mean_activations(model_data, ids, layers, adapter=adapter, cancel=cancel, extra=extra).items():
            masker.set_mask(name, vec)
    def step_done(rec: StepRecord) -> None:
        if on_step is not None:
            on_step(rec)
        report(progress, (rec.step + 1) / rec.num_steps, f"step {rec.step + 1} of {rec.num_steps}")

    report(progress, 0.0, f"step 0 of {settings.num_steps}")
    result = generate_with_mask_multistep(
        adapter,
        masker,
        class_label=class_label,
        num_steps=settings.num_steps,
        guidance_scale=settings.guidance_scale,
        sampler=settings.sampler,
        noise_max=settings.noise_max,
        noise_min=settings.noise_min,
        noise_mode=settings.noise_mode,
        seed=settings.seed,
        num_samples=settings.num_samples,
        extract_layers=sorted(layers),
        on_step=step_done,
        cancel=cancel,
    )
    checkpoint = getattr(adapter, "checkpoint_path", None)
    lineage = Lineage(
        model=model_data.name,
        adapter=adapter.model_type,
        layers=sorted(layers),
        source_sample_ids=ids,
        class_label=class_label,
        settings=settings,
        masked=masked,
        checkpoint=str(checkpoint) if checkpoint else None,
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None,
        image_sha256=images_sha256(result.images),
        source_generated=[seed.source for seed in seeds],
    )
    return result, lineage


def replay(lineage: Lineage, adapter, model_data, verify: bool = True,
           on_step: Callable[[StepRecord], None] | None = None,
           seeds: Sequence[SeedImage] | None = None) -> GenerationResult:  # fmt: skip
    """Regenerate from a lineage record (its generated seeds first, unless ``seeds`` holds them from ``replay_seeds``);
    with ``verify``, refuse a different checkpoint or different pixels."""
    checkpoint = getattr(adapter, "checkpoint_path", None)
    if verify and lineage.checkpoint_sha256 and checkpoint and file_sha256(checkpoint) != lineage.checkpoint_sha256:
        raise DiffViewsError(f"{checkpoint}: not the checkpoint this image was made with (sha256 differs)")
    if seeds is None:
        seeds = replay_seeds(lineage, adapter, model_data, verify)
    result, _ = generate_from_samples(
        adapter,
        model_data,
        lineage.source_sample_ids,
        lineage.layers,
        lineage.settings,
        class_label=lineage.class_label,
        masked=lineage.masked,
        on_step=on_step,
        seeds=seeds,
    )
    if verify and lineage.image_sha256 and images_sha256(result.images) != lineage.image_sha256:
        raise DiffViewsError("replay produced different pixels than the lineage records (different torch build?)")
    return result


def replay_seeds(lineage: Lineage, adapter, model_data, verify: bool = True) -> list[SeedImage]:
    """The generated images in ``lineage``'s mask, each regenerated from its own record."""
    return [SeedImage(seed_activation(seed, adapter, model_data, verify), seed) for seed in lineage.source_generated]


def seed_activation(seed: GeneratedSeed, adapter, model_data, verify: bool = True) -> np.ndarray:
    """A generated image's final activation, regenerated from its record, in the layout the map stores rows in
    (what the window kept of it when it was generated)."""
    last: list[StepRecord] = []

    def keep(rec: StepRecord) -> None:
        last[:] = [rec]

    replay(seed.lineage, adapter, model_data, verify, on_step=keep)
    mine = {name: np.asarray(values)[seed.image : seed.image + 1] for name, values in last[0].activations.items()}
    return model_data.stored_rows(mine)[0]
