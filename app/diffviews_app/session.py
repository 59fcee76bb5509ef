"""Sessions: the data folder, model, layer, view, selection, neighbours, camera, generation settings and
trajectories as one JSON file, written atomically and restored step by step (opening data and switching layers run
in the background, so restoring waits for each to land before applying the rest). Reading and checking the file is
Qt-free: ``diffviews_core.session_format``."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from diffviews_core.atomic import atomic_write_text
from diffviews_core.errors import DataError
from diffviews_core.session_format import SESSION_KIND, SESSION_VERSION, read_session_file

from .exports import png_bytes

if TYPE_CHECKING:
    from .canvas import PointCloudCanvas
    from .controller import ExplorerController
    from .state import ExplorerState
    from .state.generation_state import GenerationState


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


def session_dict(parts: SessionParts) -> dict[str, Any]:
    """Everything a session restores, as plain JSON types (generated images as base64 PNG, no step frames)."""
    s, gen = parts.state, parts.gen
    samples = s.model.samples if s.model is not None else None

    def sid(row: int) -> int | str:
        return samples.sample_key(row)

    trajectories = []
    current = -1
    saved_at: dict[int, int] = {}  # trajectory id -> its index in the file
    for t in gen.trajectories.values():
        if not t.finished:
            continue
        if t.id == gen.current:
            current = len(trajectories)
        saved_at[t.id] = len(trajectories)
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
        "selected_generated": [saved_at[t] for t in s.selected_generated if t in saved_at],  # indexes trajectories
        "neighbours": [{"sample_id": sid(r), "distance": d} for r, d in s.neighbours],
        "camera": parts.canvas.camera_state(),
        "generation": asdict(gen.settings),
        "trajectories": trajectories,
        "current": current,
    }


def save_session(parts: SessionParts, path: Path | str) -> Path:
    """Write the session JSON atomically (``diffviews_core.atomic``; a full disk is a DiskFullError)."""
    return atomic_write_text(path, json.dumps(session_dict(parts), indent=1))


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

        s.set_color_by(d["color_by"] or s.color_by)
        s.set_k(d["k"] or s.k)
        s.set_knn_space(d["knn_space"] or s.knn_space)
        s.set_mode(d["mode"])
        s.select(row(d["selected"]) if d["selected"] is not None else -1)
        if d["selection_set"]:
            s.select_set([row(sample_id) for sample_id in d["selection_set"]])
        neighbours = [(row(sample_id), dist) for sample_id, dist in d["neighbours"]]
        knn = [(r, dist) for r, dist in neighbours if dist is not None]
        if knn:
            s.set_knn([r for r, _ in knn], [dist for _, dist in knn])
        s.add_manual([r for r, dist in neighbours if dist is None])
        parts.gen.set_settings(d["generation"])
        ids = parts.gen.restore(d["trajectories"], d["current"])
        for index in d["selected_generated"]:
            s.toggle_generated(ids[index], add=True)
        if d["camera"]:
            parts.canvas.set_camera_state(d["camera"])


def restore_session(parts: SessionParts, path: Path | str) -> SessionRestore:
    """Start restoring the session file ``path``; connect to the returned object's ``done`` to know when it landed."""
    data = read_session_file(path)
    restorer = SessionRestore(parts, data, str(path), parent=parts.gen)
    restorer.start()
    return restorer
