"""Reading a DiffViews Desktop session file: every field type-checked and every image decoded before the window
touches anything, so a bad session is one message naming the file and the window keeps what it had.

Qt-free (the app only applies what ``read_session_file`` returns), so the reader can be tested and fuzzed alone.
The returned dict has the file's keys with checked values: ``generation`` is a ``GenerationSettings`` and each of
``trajectories`` holds the fields of the app's ``Trajectory`` (without ``id``).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import numpy as np

from . import validate as v
from .errors import DataError
from .images import MAX_IMAGE_BYTES, decode_image
from .lineage import GenerationSettings, Lineage
from .safe_io import parse_json, read_regular_bytes

SESSION_VERSION = 1
SESSION_KIND = "diffviews-desktop-session"
MAX_SESSION_BYTES = 256 << 20
MODES = ("2d", "3d")
KNN_SPACES = ("activation", "map")
MAX_TRAJECTORIES = 10_000
MAX_STEPS = 100_000
MAX_NEIGHBOURS = 1_000_000
MAX_COORD = 1e30  # cameras and points past this are nonsense (and break float32 drawing)


def read_session_file(path: Path | str) -> dict[str, Any]:
    """The checked contents of a session file; any problem is a DataError naming the file."""
    path = Path(path)
    try:
        raw = read_regular_bytes(path, MAX_SESSION_BYTES)
    except DataError as exc:
        if exc.reason == "missing file":
            raise DataError(path, "missing session file") from None
        raise
    return parse_session(parse_json(raw, path), str(path))


def parse_session(data: Any, source: str) -> dict[str, Any]:
    """Check a parsed session (see the module doc); DataError naming ``source`` and the field otherwise."""
    if not isinstance(data, dict) or data.get("kind") != SESSION_KIND:
        raise DataError(source, "not a DiffViews Desktop session")
    if data.get("version") != SESSION_VERSION or isinstance(data.get("version"), bool):
        raise DataError(source, f"session version {data.get('version')!r:.20}, expected {SESSION_VERSION}")
    if not data.get("data_dir") or not data.get("model"):
        raise DataError(source, "the session names no data folder or model")
    try:
        return _checked(data, source)
    except v.Invalid as exc:
        raise DataError(source, f"bad session: {exc}") from None


def _checked(d: dict, source: str) -> dict[str, Any]:
    trajectories = v.sequence(d.get("trajectories", []), "trajectories", MAX_TRAJECTORIES)
    neighbours = v.sequence(d.get("neighbours", []), "neighbours", MAX_NEIGHBOURS)
    return {
        "kind": SESSION_KIND,
        "version": SESSION_VERSION,
        "data_dir": v.text(d["data_dir"], "data_dir", empty=False),
        "model": v.text(d["model"], "model", 255, empty=False),
        "layer": v.optional_text(d.get("layer"), "layer", 255),
        "mode": v.choice(d.get("mode", "2d"), "mode", MODES),
        "color_by": v.optional_text(d.get("color_by"), "color_by", 255),
        "k": v.optional_integer(d.get("k"), "k", 1, 10_000),
        "knn_space": None if d.get("knn_space") is None else v.choice(d["knn_space"], "knn_space", KNN_SPACES),
        "selected": v.optional_sample_id(d.get("selected"), "selected"),
        "selection_set": [v.sample_id(x, f"selection_set[{i}]") for i, x in
                          enumerate(v.sequence(d.get("selection_set", []), "selection_set", MAX_NEIGHBOURS))],
        "neighbours": [_neighbour(n, i) for i, n in enumerate(neighbours)],
        "camera": None if not d.get("camera") else _camera(d["camera"]),
        "generation": GenerationSettings.from_dict(d.get("generation", {})),
        "trajectories": [trajectory_record(t, f"trajectories[{i}]", source) for i, t in enumerate(trajectories)],
        "current": v.integer(d.get("current", -1), "current", -1, MAX_TRAJECTORIES),
        # indexes into trajectories; absent from sessions saved before generated images could be selected
        "selected_generated": sorted(set(v.integers(d.get("selected_generated", []), "selected_generated", 0,
                                                    len(trajectories) - 1, MAX_TRAJECTORIES))),
    }


def _neighbour(raw: Any, i: int) -> tuple[int | str, float | None]:
    n = v.mapping(raw, f"neighbours[{i}]")
    distance = n.get("distance")
    return (
        v.sample_id(n.get("sample_id"), f"neighbours[{i}].sample_id"),
        None if distance is None else v.number(distance, f"neighbours[{i}].distance", finite=False),
    )


def _point(value: Any, what: str, n: int) -> list[float]:
    return list(v.fixed_length([v.number(x, what, -MAX_COORD, MAX_COORD) for x in v.sequence(value, what, n)], what, n))


def _camera(raw: Any) -> dict[str, Any]:
    cam = v.mapping(raw, "camera")
    out: dict[str, Any] = {}
    if "2d" in cam:
        rect = _point(v.mapping(cam["2d"], "camera.2d").get("rect"), "camera.2d.rect", 4)
        if not rect[2] or not rect[3]:
            raise v.Invalid("camera.2d.rect has no area")
        out["2d"] = {"rect": rect}
    if "3d" in cam:
        c3 = v.mapping(cam["3d"], "camera.3d")

        def optional(key: str) -> float | None:
            return None if c3.get(key) is None else v.number(c3[key], f"camera.3d.{key}", 1e-30, MAX_COORD)

        out["3d"] = {
            "center": _point(c3.get("center"), "camera.3d.center", 3),
            "azimuth": v.number(c3.get("azimuth"), "camera.3d.azimuth", -MAX_COORD, MAX_COORD),
            "elevation": v.number(c3.get("elevation"), "camera.3d.elevation", -MAX_COORD, MAX_COORD),
            "roll": v.number(c3.get("roll", 0.0), "camera.3d.roll", -MAX_COORD, MAX_COORD),
            "fov": v.number(c3.get("fov"), "camera.3d.fov", 0.0, 179.0),
            "scale_factor": optional("scale_factor"),
            "distance": optional("distance"),
        }
    return out


def decode_png_text(text: Any, what: str, source: str) -> np.ndarray | None:
    """An image stored as base64 text (None for none); bounded in size, decoded to H x W x C uint8."""
    if text is None or text == "":
        return None
    text = v.text(text, what, max_len=MAX_IMAGE_BYTES * 4 // 3 + 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise v.Invalid(f"{what} is not base64 text") from None
    try:
        return decode_image(data, source)
    except DataError as exc:
        raise v.Invalid(f"{what}: {exc.reason}") from None


def trajectory_record(raw: Any, what: str, source: str) -> dict[str, Any]:
    """The fields of one saved trajectory (the app's ``Trajectory`` without ``id``), checked."""
    t = v.mapping(raw, what)
    for key in ("run", "sample", "masked", "map_key", "num_steps", "sigmas", "coords2d", "distances"):
        if key not in t:
            raise v.Invalid(f"{what}.{key} missing")
    sigmas = v.numbers(t["sigmas"], f"{what}.sigmas", max_len=MAX_STEPS)
    raw2d = v.sequence(t["coords2d"], f"{what}.coords2d", MAX_STEPS)
    raw3d = v.sequence(t.get("coords3d", []), f"{what}.coords3d", MAX_STEPS)
    coords2d = [_point(p, f"{what}.coords2d[{i}]", 2) for i, p in enumerate(raw2d)]
    coords3d = [_point(p, f"{what}.coords3d[{i}]", 3) for i, p in enumerate(raw3d)]
    distances = v.numbers(t["distances"], f"{what}.distances", finite=False, max_len=MAX_STEPS)
    if not len(sigmas) == len(coords2d) == len(distances) or len(coords3d) > len(coords2d):
        raise v.Invalid(f"{what}: sigmas, coords2d, coords3d and distances do not line up")
    map_key = v.sequence(t["map_key"], f"{what}.map_key", 2)
    lineage = t.get("lineage")
    return {
        "run": v.integer(t["run"], f"{what}.run", 0, 2**31 - 1),
        "sample": v.integer(t["sample"], f"{what}.sample", 0, 1 << 20),
        "masked": v.boolean(t["masked"], f"{what}.masked"),
        "class_label": v.optional_integer(t.get("class_label"), f"{what}.class_label"),
        "class_text": v.text(t.get("class_text", ""), f"{what}.class_text"),
        "map_key": tuple(v.fixed_length(v.texts(map_key, f"{what}.map_key"), f"{what}.map_key", 2)),
        "num_steps": v.integer(t["num_steps"], f"{what}.num_steps", 1, MAX_STEPS),
        "mask_steps": v.integers(t.get("mask_steps", []), f"{what}.mask_steps", 0, MAX_STEPS, MAX_STEPS),
        "sigmas": sigmas,
        "coords2d": [np.asarray(p, dtype=np.float32) for p in coords2d],
        "coords3d": [np.asarray(p, dtype=np.float32) for p in coords3d],
        "distances": distances,
        "image": decode_png_text(t.get("image_png"), f"{what}.image_png", source),
        "lineage": Lineage.from_dict(lineage, source) if lineage else None,
    }
