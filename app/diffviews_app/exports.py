"""Exports: the map as PNG, generated images and step strips as PNG, selection + neighbours as CSV, trajectory
activations as NPZ, a generated image's lineage as JSON. Every file is written atomically (``diffviews_core.atomic``), so a failed export never leaves half a
file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from diffviews_core.atomic import atomic_write_bytes
from diffviews_core.lineage import Lineage

from .state import ExplorerState
from .state.generation_state import Trajectory


def png_bytes(image: np.ndarray) -> bytes:
    """PNG of an H x W (x 1/3/4) uint8 array."""
    from PIL import Image

    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a.astype(np.uint8))).save(buf, format="PNG")
    return buf.getvalue()


def save_png(image: np.ndarray, path: Path | str) -> Path:
    return atomic_write_bytes(path, png_bytes(image))


def _rgb(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a[:, :, :3]


def step_strip(traj: Trajectory, gap: int = 2) -> np.ndarray:
    """One image of a trajectory's steps: x0 estimates on top, the noised inputs below, left to right by step."""
    if not traj.frames:
        raise ValueError(f"trajectory {traj.label} has no step images (restored sessions keep only the final image)")
    top = [_rgb(f.x0) for f in traj.frames]
    bottom = [_rgb(f.noised) for f in traj.frames]
    h, w = top[0].shape[:2]
    n = len(top)
    out = np.full((2 * h + gap, n * w + (n - 1) * gap, 3), 255, dtype=np.uint8)
    for i, (a, b) in enumerate(zip(top, bottom)):
        x = i * (w + gap)
        out[:h, x : x + w] = a
        out[h + gap :, x : x + w] = b
    return out


def export_images(trajectories: Sequence[Trajectory], folder: Path | str, strips: bool = True) -> list[Path]:
    """Each generated image as ``generated_<run>_<i>_<masked|unmasked>.png`` (+ ``..._steps.png`` strips)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for t in trajectories:
        if t.image is None:
            continue
        stem = f"generated_{t.run:03d}_{t.sample + 1}_{'masked' if t.masked else 'unmasked'}"
        written.append(save_png(t.image, folder / f"{stem}.png"))
        if strips and t.frames:
            written.append(save_png(step_strip(t), folder / f"{stem}_steps.png"))
    return written


SELECTION_COLUMNS = ["role", "row", "sample_id", "class_label", "class_name", "caption", "distance", "x", "y", "z"]


def selection_rows(state: ExplorerState, generated: Sequence[Trajectory] = ()) -> list[dict]:
    """The selected sample (or every member of the selection set), the selected generated images and the
    neighbours as records (role: selected / generated / knn / manual). A generated image has no row; its id is
    ``generated:<run>.<image>:<masked|unmasked>`` and its place the end of its trajectory on the map shown."""
    if state.model is None or not (state.selection_rows() or generated):
        return []
    samples = state.model.samples
    coords = state.coords()
    out = []
    for role, row, dist in [("selected", r, None) for r in state.selection_rows()] + [
        ("knn" if d is not None else "manual", r, d) for r, d in state.neighbours
    ]:  # fmt: skip
        xyz = [float(v) for v in coords[row]] if coords is not None else []
        name = str(samples.class_name[row]) if samples.class_name is not None else ""
        out.append({
            "role": role, "row": int(row), "sample_id": samples.sample_key(row),
            "class_label": int(samples.class_label[row]) if samples.has_classes else "", "class_name": name,
            "caption": str(samples.caption[row]) if samples.caption is not None else "",
            "distance": "" if dist is None else f"{dist:.6g}",
            "x": xyz[0] if xyz else "", "y": xyz[1] if xyz else "", "z": xyz[2] if len(xyz) > 2 else "",
        })  # fmt: skip
    selected = len(state.selection_rows())
    for i, traj in enumerate(generated):
        xyz = [float(v) for v in traj.points(state.mode)[-1]] if traj.coords2d else []
        out.insert(selected + i, {
            "role": "generated", "row": "", "sample_id": generated_id(traj),
            "class_label": "" if traj.class_label is None else int(traj.class_label), "class_name": traj.class_text,
            "caption": "", "distance": "", "x": xyz[0] if xyz else "", "y": xyz[1] if xyz else "",
            "z": xyz[2] if len(xyz) > 2 and state.mode == "3d" else "",
        })  # fmt: skip
    return out


def generated_id(traj: Trajectory) -> str:
    """How a generated image is named in exports: its run, its place in the batch and the pass."""
    return f"generated:{traj.run}.{traj.sample + 1}:{'masked' if traj.masked else 'unmasked'}"


def export_selection_csv(state: ExplorerState, path: Path | str, generated: Sequence[Trajectory] = ()) -> Path:
    """CSV of the selection (samples and generated images) and its neighbours (ids, classes, KNN distances, map
    coordinates)."""
    rows = selection_rows(state, generated)
    if not rows:
        raise ValueError("nothing is selected")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SELECTION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_bytes(path, buf.getvalue().encode("utf-8"))


def export_trajectory_npz(traj: Trajectory, path: Path | str) -> Path:
    """NPZ of one trajectory: per-step activations (steps x D), sigmas, map coordinates, distances, lineage JSON."""
    if not traj.activations:
        raise ValueError(f"trajectory {traj.label} holds no activations (restored from a session?)")
    arrays = {
        "activations": np.stack(traj.activations).astype(np.float32),
        "sigmas": np.asarray(traj.sigmas, dtype=np.float64),
        "coords2d": np.asarray(traj.coords2d, dtype=np.float32),
        "distances": np.asarray(traj.distances, dtype=np.float64),
        "lineage": np.asarray(json.dumps(traj.lineage.to_dict() if traj.lineage else None)),
    }
    if traj.coords3d:
        arrays["coords3d"] = np.asarray(traj.coords3d, dtype=np.float32)
    if traj.image is not None:
        arrays["image"] = np.asarray(traj.image)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def lineage_of(traj: Trajectory | None) -> Lineage:
    """The lineage of a generated image's trajectory; ValueError when there is none (no image, or not finished)."""
    if traj is None or traj.lineage is None:
        raise ValueError("no finished generated image is selected")
    return traj.lineage


def export_lineage(traj: Trajectory | None, path: Path | str) -> Path:
    """The lineage of ``traj``'s generated image as JSON: what regenerates it bit for bit (``Replay lineage``)."""
    lineage_of(traj).save(path)
    return Path(path)
