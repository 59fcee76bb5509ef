"""Sessions: the data folder, model, layer, view, selection, neighbours, camera, generation settings and
trajectories as one JSON file, written atomically and restored step by step (opening data and switching layers run
in the background, so restoring waits for each to land before applying the rest)."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from diffviews_core.atomic import atomic_write_text
from diffviews_core.errors import DataError
from diffviews_core.lineage import GenerationSettings, Lineage

from .exports import png_bytes

if TYPE_CHECKING:
    from .canvas import PointCloudCanvas
    from .controller import ExplorerController
    from .state import ExplorerState
    from .state.generation_state import GenerationState

SESSION_VERSION = 1
SESSION_KIND = "diffviews-desktop-session"


class SessionParts(Protocol):
    """What a session reads and restores: the window's explorer state and controller, the generation state, the
    canvas (for the cameras). The main window is one (its File menu saves and opens sessions); this module never
    imports it."""

    state: ExplorerState
    controller: ExplorerController
    gen: GenerationState
    canvas: PointCloudCanvas


def _image_to_text(image: np.ndarray | None) -> str | None:
    return None if image is None else base64.b64encode(png_bytes(image)).decode("ascii")


def _image_from_text(text: str | None) -> np.ndarray | None:
    if not text:
        return None
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(text))) as im:
        a = np.asarray(im)
    return a[:, :, None] if a.ndim == 2 else a


def session_dict(parts: SessionParts) -> dict[str, Any]:
    """Everything a session restores, as plain JSON types (generated images as base64 PNG, no step frames)."""
    s, gen = parts.state, parts.gen
    samples = s.model.samples if s.model is not None else None

    def sid(row: int) -> int | str:
        return samples.sample_key(row)

    trajectories = []
    current = -1
    for t in gen.trajectories.values():
        if not t.finished:
            continue
        if t.id == gen.current:
            current = len(trajectories)
        trajectories.append({
            "run": t.run, "sample": t.sample, "masked": t.masked, "class_label": t.class_label,
            "class_text": t.class_text, "map_key": list(t.map_key), "num_steps": t.num_steps,
            "mask_steps": list(t.mask_steps), "sigmas": [float(v) for v in t.sigmas],
            "coords2d": np.asarray(t.coords2d, dtype=float).tolist(),
            "coords3d": np.asarray(t.coords3d, dtype=float).tolist(),
            "distances": [float(v) for v in t.distances],
            "image_png": _image_to_text(t.image),
            "lineage": t.lineage.to_dict() if t.lineage is not None else None,
        })  # fmt: skip
    return {
        "kind": SESSION_KIND,
        "version": SESSION_VERSION,
        "data_dir": str(s.root.path) if s.root is not None else None,
        "model": s.model_name or None,
        "layer": s.layer or None,
        "mode": s.mode,
        "color_by": s.color_by,
        "k": s.k,
        "knn_space": s.knn_space,
        "selected": sid(s.selected) if s.selected >= 0 else None,
        "selection_set": [sid(r) for r in s.selection_set],
        "neighbours": [{"sample_id": sid(r), "distance": d} for r, d in s.neighbours],
        "camera": parts.canvas.camera_state(),
        "generation": asdict(gen.settings),
        "trajectories": trajectories,
        "current": current,
    }


def save_session(parts: SessionParts, path: Path | str) -> Path:
    """Write the session JSON atomically (``diffviews_core.atomic``)."""
    return atomic_write_text(path, json.dumps(session_dict(parts), indent=1))


def load_session_file(path: Path | str) -> dict[str, Any]:
    """The session's JSON, checked for kind and version; problems name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "missing session file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != SESSION_KIND:
        raise DataError(path, "not a DiffViews Desktop session")
    if data.get("version") != SESSION_VERSION:
        raise DataError(path, f"session version {data.get('version')!r}, expected {SESSION_VERSION}")
    if not data.get("data_dir") or not data.get("model"):
        raise DataError(path, "the session names no data folder or model")
    return data


def _trajectory_record(raw: dict, source: str) -> dict[str, Any]:
    try:
        lineage = Lineage.from_dict(raw["lineage"], source) if raw.get("lineage") else None
        return {
            "run": int(raw["run"]), "sample": int(raw["sample"]), "masked": bool(raw["masked"]),
            "class_label": raw.get("class_label"), "class_text": str(raw.get("class_text", "")),
            "map_key": tuple(raw["map_key"]), "num_steps": int(raw["num_steps"]),
            "mask_steps": [int(v) for v in raw.get("mask_steps", [])],
            "sigmas": [float(v) for v in raw["sigmas"]],
            "coords2d": [np.asarray(v, dtype=np.float32) for v in raw["coords2d"]],
            "coords3d": [np.asarray(v, dtype=np.float32) for v in raw.get("coords3d", [])],
            "distances": [float(v) for v in raw["distances"]],
            "image": _image_from_text(raw.get("image_png")),
            "lineage": lineage,
        }  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(source, f"bad trajectory record ({exc})") from None


class SessionRestore(QObject):
    """Opens the session's data, model and layer (waiting for each), then applies the rest; ``done(ok, message)``."""

    done = Signal(bool, str)

    def __init__(self, parts: SessionParts, data: dict[str, Any], source: str = "session",
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.parts, self.data, self.source = parts, data, source
        self._asked: set[str] = set()
        self.finished = False

    def start(self) -> None:
        s, c = self.parts.state, self.parts.controller
        for signal in (s.model_changed, s.embedding_changed):
            signal.connect(self._advance)
        c.busy_changed.connect(self._busy)
        self._advance()

    def _stop(self, ok: bool, message: str) -> None:
        if self.finished:
            return
        self.finished = True
        s, c = self.parts.state, self.parts.controller
        for signal in (s.model_changed, s.embedding_changed):
            signal.disconnect(self._advance)
        c.busy_changed.disconnect(self._busy)
        self.done.emit(ok, message)

    def _busy(self, busy: bool) -> None:
        if not busy and "open" in self._asked:
            QTimer.singleShot(0, self._check_opened)  # the controller announces "not busy" before it shows the model

    def _check_opened(self) -> None:
        if self.parts.state.model is None:
            self._stop(False, f"{self.source}: could not open {self.data['data_dir']}")

    def _ask(self, what: str, action) -> None:
        if what not in self._asked:
            self._asked.add(what)
            action()

    def _advance(self, *_args) -> None:
        if self.finished:
            return
        s, c, d = self.parts.state, self.parts.controller, self.data
        want = Path(d["data_dir"])
        if s.root is None or Path(s.root.path).resolve() != want.resolve():
            self._ask("open", lambda: c.open_folder(want, d["model"]))
            return
        if s.model_name != d["model"]:
            if d["model"] not in s.root.models:
                self._stop(False, f"{self.source}: no model {d['model']!r} in {want}")
            else:
                self._ask("model", lambda: c.switch_model(d["model"]))
            return
        layer = d.get("layer")
        if layer and s.layer != layer:
            if layer not in s.layer_choices:
                self._stop(False, f"{self.source}: model {d['model']!r} has no layer {layer!r}")
            else:
                self._ask("layer", lambda: c.switch_layer(layer))
            return
        try:
            self._apply()
        except DataError as exc:
            self._stop(False, str(exc))
            return
        self._stop(True, f"Restored session {self.source}")

    def _apply(self) -> None:
        s, d, parts = self.parts.state, self.data, self.parts
        samples = s.model.samples

        def row(sample_id) -> int:
            if not isinstance(sample_id, (int, str)) or isinstance(sample_id, bool):
                raise DataError(self.source, f"sample_id {sample_id!r} is not an integer or text id")
            try:
                return samples.row_of(sample_id)
            except KeyError:
                raise DataError(self.source, f"sample_id {sample_id!r} is not in model {s.model_name!r}") from None

        records = [_trajectory_record(t, self.source) for t in d.get("trajectories", [])]
        s.set_color_by(d.get("color_by", s.color_by))
        s.set_k(int(d.get("k", s.k)))
        s.set_knn_space(d.get("knn_space", s.knn_space))
        s.set_mode(d.get("mode", "2d"))
        s.select(row(d["selected"]) if d.get("selected") is not None else -1)
        if d.get("selection_set"):
            s.select_set([row(key) for key in d["selection_set"]])
        neighbours = [(row(n["sample_id"]), n.get("distance")) for n in d.get("neighbours", [])]
        knn = [(r, float(dist)) for r, dist in neighbours if dist is not None]
        if knn:
            s.set_knn([r for r, _ in knn], [dist for _, dist in knn])
        s.add_manual([r for r, dist in neighbours if dist is None])
        parts.gen.set_settings(GenerationSettings.from_dict(d.get("generation", {})))
        parts.gen.restore(records, int(d.get("current", -1)))
        if d.get("camera"):
            parts.canvas.set_camera_state(d["camera"])


def restore_session(parts: SessionParts, path: Path | str) -> SessionRestore:
    """Start restoring the session file ``path``; connect to the returned object's ``done`` to know when it landed."""
    data = load_session_file(path)
    restorer = SessionRestore(parts, data, str(path), parent=parts.gen)
    restorer.start()
    return restorer
