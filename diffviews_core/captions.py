"""Short texts people read under images: a sample's class and a denoising step's caption.

One definition for the Preview, neighbours and steps docks, sessions and the CLI, so the same sample is named the
same way everywhere.
"""

from __future__ import annotations


def class_text(model, row: int, class_names: dict[int, str] | None = None) -> str:
    """``"409: analog_clock"`` from the sample table (or ``class_names``, the data root's class index, when the row
    has no name; the bare label when neither names it); a text-conditioned sample's caption."""
    samples = model.samples
    if not samples.has_classes:
        return str(samples.caption[row]) if samples.caption is not None else ""
    label = int(samples.class_label[row])
    name = str(samples.class_name[row]) if samples.class_name is not None else ""
    if not name and class_names:
        name = class_names.get(label, "")
    return f"{label}: {name}" if name else str(label)


def label_text(model, row: int, class_names: dict[int, str] | None = None) -> str:
    """``"Class 409: analog_clock"`` or ``"Caption: a dog on a beach"``: what a sample was conditioned on."""
    prefix = "Class" if model.samples.has_classes else "Caption:"
    return f"{prefix} {class_text(model, row, class_names)}"


def step_caption(class_text: str, step: int, num_steps: int, sigma: float) -> str:
    """``class | Step i/n | sigma=x`` for 0-based ``step`` (shown 1-based, as the original shows it)."""
    return f"{class_text} | Step {step + 1}/{num_steps} | sigma={sigma:.3g}"
