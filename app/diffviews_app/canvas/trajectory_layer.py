"""Generation trajectories drawn on the point-cloud canvas: a line per image, start/end markers, sigma labels.

Each trajectory owns a few small vispy visuals in the canvas's scene (never the N-point buffer), updated as steps
arrive. The current trajectory is drawn bold with its sigma labels; the others stay as faint context. The layer is
one of the canvas's pickable layers: a step within a few pixels of the mouse is what hover and clicks report (the
last step of a finished trajectory as its generated image). It draws; ``TrajectoryBridge`` decides what.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, QTimer
from vispy.scene.visuals import Line, Markers

from ..background_import import import_in_background, settled
from ..targets import Target
from .label_text import LabelText

HOVER_RADIUS_PX = 8.0
MAX_LABELS = 8
MIN_LABEL_GAP = 0.1  # of a trajectory's extent: closer labels would print over each other
LABEL_INK = {False: (0.1, 0.1, 0.1, 1.0), True: (0.9, 0.9, 0.9, 1.0)}  # on a light / dark map
PICK_ORDER = 40  # over the cloud (0) and the generated-image overlay (10+): trajectories are drawn on top
WARM_SIGMAS = (6.78e-09, 1.35e24)  # the warm-up's two labels: every glyph a sigma label prints (0-9 . e + -)
# Rendered one per event-loop turn before the labels' warm-up frame (10-60 ms each on the UI thread; all in that
# frame were a 0.3-0.6 s stall after launch): vispy measures every text's height on ÅÉÑŐjgpqy, then the labels' own.
WARM_GLYPHS = "ÅÉÑŐjgpqy" + "".join(sorted(set(f" σ={WARM_SIGMAS[0]:.3g} σ={WARM_SIGMAS[1]:.3g}")))
TRANSPARENT = (0.0, 0.0, 0.0, 0.0)
GLYPH_MODULE = "freetype"  # what vispy renders glyphs with, imported at its first glyph


def label_steps(n: int, limit: int = MAX_LABELS) -> list[int]:
    """Which steps carry a sigma label: all when few, else evenly spaced ones including the first and last."""
    if n <= limit:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, limit)})


def spaced_label_steps(points: np.ndarray, limit: int = MAX_LABELS, min_gap: float = MIN_LABEL_GAP) -> list[int]:
    """``label_steps`` without the labels that would sit on another: the last steps of a denoising run bunch up at
    its end, so a step closer than ``min_gap`` of the trajectory's extent to a label kept already loses its own.
    The first and last steps always keep theirs."""
    xy = np.asarray(points, dtype=np.float64).reshape(len(points), -1)[:, :2]
    steps = label_steps(len(xy), limit)
    if len(steps) < 3:
        return steps
    gap = min_gap * (float(np.ptp(xy, axis=0).max()) or 1.0)
    kept = [steps[0], steps[-1]]
    for i in steps[1:-1]:
        if np.min(np.linalg.norm(xy[kept] - xy[i], axis=1)) >= gap:
            kept.append(i)
    return sorted(kept)


class _TrajectoryGroup:
    """Visuals for a set of trajectories drawn alike: one line (segments), one marker set (step dots, start discs,
    end triangles/squares) and, for the bold current trajectory, its sigma labels. However many trajectories
    accumulate, the layer costs five draw calls."""

    def __init__(self, scene, order: int, bold: bool) -> None:
        self.bold = bold
        self.line = Line(parent=scene, method="gl", antialias=True)
        self.markers = Markers(parent=scene, scaling="fixed")
        self.labels = LabelText(parent=scene, font_size=7, anchor_x="left", anchor_y="bottom", color=LABEL_INK[False])
        # One hidden point each: vispy asks every visual for its bounds when a camera auto-ranges, and an empty
        # Markers cannot answer.
        origin = np.zeros((1, 3), dtype=np.float32)
        self.line.set_data(origin)
        self.markers.set_data(origin)
        for i, v in enumerate(self.visuals()):
            v.order = order + i
            v.set_gl_state("translucent", depth_test=False)
            v.visible = False
        self._ink: tuple | None = None  # the labels' colour while a warm-up shows them transparent

    def visuals(self) -> tuple:
        return self.line, self.markers, self.labels

    def load_glyph(self, char: str) -> None:
        """Render ``char`` into the labels' glyph atlas now (the font vispy's Text draws with: its manager's)."""
        font = self.labels._font_manager.get_font(self.labels._face, self.labels._bold, self.labels._italic)
        font[char]  # a TextureFont renders a missing glyph when it is looked up

    def warm_up(self, position: np.ndarray) -> bool:
        """Draw one transparent trajectory at ``position`` until ``end_warm_up``: its frame builds the group's
        shaders and the labels' glyphs, which the first generation paid on the UI thread. False when trajectories
        are shown (drawn already)."""
        if any(v.visible for v in self.visuals()):
            return False
        at = np.repeat(np.asarray(position, dtype=np.float32).reshape(1, 3), 2, axis=0)
        self.draw([(at, WARM_SIGMAS, (0.0, 0.0, 0.0), False)], opacity=0.0)
        self._ink, self.labels.color = self.labels.color, TRANSPARENT
        return True

    def end_warm_up(self) -> None:
        if self._ink is not None:  # still the warm-up's trajectory: nothing was drawn for real meanwhile
            self.draw([])

    def set_ink(self, rgba: tuple) -> None:
        """The labels' colour (kept for after a warm-up under way, which shows them transparent)."""
        if self._ink is not None:
            self._ink = rgba
        else:
            self.labels.color = rgba

    def draw(self, items: list[tuple[np.ndarray, Sequence[float], tuple, bool]], opacity: float = 1.0) -> bool:
        """``items``: (drawn positions (n, 3), sigmas, rgb, finished) per trajectory. False when nothing was shown
        and nothing is: the frame does not change (a new map with no trajectories drew a second frame for it)."""
        if self._ink is not None:
            self.labels.color, self._ink = self._ink, None
        items = [it for it in items if len(it[0])]
        shown = [v for v in self.visuals() if v.visible]
        for v in shown:
            v.visible = False
        if not items:
            return bool(shown)
        alpha = (1.0 if self.bold else 0.45) * opacity
        dot, end = (6.0, 13.0) if self.bold else (4.0, 9.0)
        pos, colors, pairs = [], [], []
        m_pos, m_face, m_edge, m_size, m_width, m_symbol = [], [], [], [], [], []
        start = 0
        for p, _sigmas, rgb, finished in items:
            n = len(p)
            color = np.array((*rgb, alpha), dtype=np.float32)
            white = np.array((1.0, 1.0, 1.0, alpha), dtype=np.float32)
            pos.append(p)
            colors.append(np.tile(color, (n, 1)))
            pairs.append(np.column_stack([np.arange(start, start + n - 1), np.arange(start + 1, start + n)]))
            start += n
            # Dots first, then start (white disc ringed in colour) and end (triangle running, square finished).
            ends = [0, n - 1] if n > 1 else [0]
            order = [i for i in range(n) if i not in ends] + ends
            face = np.tile(color, (n, 1))
            edge = np.tile(white, (n, 1))
            size = np.full(n, dot, dtype=np.float32)
            width = np.full(n, 0.5, dtype=np.float32)
            symbol = np.array(["disc"] * n, dtype=object)
            face[0], edge[0] = white, color
            edge[n - 1] = color
            if n > 1:
                symbol[n - 1] = "square" if finished else "triangle_up"
            size[ends], width[ends] = end, 2.0
            m_pos.append(p[order])
            m_face.append(face[order])
            m_edge.append(edge[order])
            m_size.append(size[order])
            m_width.append(width[order])
            m_symbol.extend(symbol[order])
        all_pos = np.concatenate(pos)
        connect = np.concatenate(pairs).astype(np.uint32)
        if len(connect):
            self.line.set_data(all_pos, color=np.concatenate(colors), width=3.0 if self.bold else 1.5,
                               connect=connect)  # fmt: skip
            self.line.visible = True
        self.markers.set_data(np.concatenate(m_pos), size=np.concatenate(m_size), face_color=np.concatenate(m_face),
                              edge_color=np.concatenate(m_edge), edge_width=np.concatenate(m_width),
                              symbol=m_symbol)  # fmt: skip
        self.markers.visible = True
        if self.bold:
            p, sigmas = items[0][0], items[0][1]
            steps = spaced_label_steps(p)
            self.labels.text = [f" σ={sigmas[i]:.3g}" for i in steps]
            self.labels.pos = p[steps]
            self.labels.visible = True
        return True


class _GlyphWarmUp:
    """One glyph of the bold group's labels rendered in an event-loop turn of its own; no frame needed. The first
    waits for vispy's glyph renderer, freetype-py, to be imported on a thread (~90 ms: a stall at rest, in that turn,
    before)."""

    def __init__(self, layer: TrajectoryLayer, char: str) -> None:
        self.layer, self.char = layer, char

    def warm_up(self, position: np.ndarray) -> bool | None:
        import_in_background(GLYPH_MODULE)
        if not settled(GLYPH_MODULE):
            return None
        self.layer._group(True).load_glyph(self.char)
        return False

    def end_warm_up(self) -> None:
        pass


class _GroupMade:
    """One of a layer's groups made in an event-loop turn of its own (three vispy visuals, ~24 ms of the UI thread):
    made by the first glyph or visual warmed up, it shared that turn with the glyph's rendering or the frame."""

    def __init__(self, layer: TrajectoryLayer, bold: bool) -> None:
        self.layer, self.bold = layer, bold

    def warm_up(self, position: np.ndarray) -> bool:
        self.layer._group(self.bold)
        return False

    def end_warm_up(self) -> None:
        pass


class _GroupWarmUp:
    """The canvas's warm-up of one visual (``part``: index into ``visuals()``) of one of a layer's groups: one
    program built per frame (the three of a group in one frame were a 0.2-0.3 s stall). The group is made after
    the first frame (``_GroupMade``), not earlier."""

    def __init__(self, layer: TrajectoryLayer, bold: bool, part: int) -> None:
        self.layer, self.bold, self.part = layer, bold, part

    def warm_up(self, position: np.ndarray) -> bool:
        group = self.layer._group(self.bold)
        if not group.warm_up(position):
            return False
        for i, visual in enumerate(group.visuals()):
            visual.visible = visual.visible and i == self.part
        return True

    def end_warm_up(self) -> None:
        self.layer._group(self.bold).end_warm_up()


class TrajectoryLayer(QObject):
    """Draws trajectories over a PointCloudCanvas (through its public layer API) and picks their steps."""

    pick_order = PICK_ORDER

    def __init__(self, canvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self._groups: dict[bool, _TrajectoryGroup] = {}  # bold -> group, made on first use (six visuals: 0.1 s)
        self._dark = False
        self._data: dict[int, tuple] = {}  # id -> (points2d, points3d or None, sigmas, rgb, finished)
        self._current = -1
        self._dirty: set[int] = set()
        self._flush_timer = QTimer(self, singleShot=True, interval=0)
        self._flush_timer.timeout.connect(self.flush)
        canvas.mode_changed.connect(self._mode_changed)
        canvas.background_changed.connect(self._background_changed)
        canvas.add_layer(self)
        for bold in (True, False):
            canvas.warm_up_later(_GroupMade(self, bold))
            for char in WARM_GLYPHS if bold else ():  # the bold group's labels
                canvas.warm_up_later(_GlyphWarmUp(self, char))
            for part in range(3 if bold else 2):  # line, markers (and the bold group's labels)
                canvas.warm_up_later(_GroupWarmUp(self, bold, part))

    def _group(self, bold: bool) -> _TrajectoryGroup:
        group = self._groups.get(bold)
        if group is None:
            group = _TrajectoryGroup(self.canvas.scene, order=PICK_ORDER + (4 if bold else 0), bold=bold)
            group.set_ink(LABEL_INK[self._dark])
            self._groups[bold] = group
        return group

    def _background_changed(self, dark: bool) -> None:
        self._dark = dark
        for group in self._groups.values():
            group.set_ink(LABEL_INK[dark])
        self.canvas.request_draw()

    # ---- content ----------------------------------------------------------------------------------------------
    def set_trajectory(self, tid: int, points2d: np.ndarray, points3d: np.ndarray | None, sigmas: Sequence[float],
                       rgb, finished: bool) -> None:  # fmt: skip
        """Create or update one trajectory from its (steps, 2) map points and, where the map has 3D, (steps, 3)."""
        p2 = np.asarray(points2d, dtype=np.float32).reshape(-1, 2)
        p3 = None if points3d is None or len(points3d) != len(p2) else np.asarray(points3d, np.float32).reshape(-1, 3)
        self._data[tid] = (p2, p3, list(sigmas), tuple(rgb), finished)
        self._schedule(tid)

    def _schedule(self, tid: int) -> None:
        """Redraw once the current burst of events is handled: many steps at once cost one upload."""
        self._dirty.add(tid)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def is_pending(self, tid: int) -> bool:
        """True while a change of ``tid`` waits for the next flush."""
        return tid in self._dirty

    def flush(self) -> None:
        """Upload the pending changes now: the bold group when the current trajectory changed, the faint group
        when any other did."""
        self._flush_timer.stop()
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return
        changed = False
        if self._current in dirty:
            cur = [self._item(self._current)] if self._current in self._data else []
            if cur or True in self._groups:  # nothing drawn yet: no group to make
                changed = self._group(True).draw(cur) or changed
        if dirty - {self._current}:
            others = [self._item(t) for t in self._data if t != self._current]
            if others or False in self._groups:
                changed = self._group(False).draw(others) or changed
        if changed:
            self.canvas.request_draw()

    def _item(self, tid: int) -> tuple:
        _p2, _p3, sigmas, rgb, finished = self._data[tid]
        return self.drawn_positions(tid), sigmas, rgb, finished

    def remove(self, tid: int) -> None:
        if self._data.pop(tid, None) is not None:
            self._schedule(tid)
            self._schedule(self._current)

    def clear(self) -> None:
        for tid in list(self._data):
            self.remove(tid)

    def ids(self) -> list[int]:
        return list(self._data)

    def set_current(self, tid: int) -> None:
        previous, self._current = self._current, tid
        self._schedule(previous)
        self._schedule(tid)

    def _mode_changed(self, _mode: str) -> None:
        """Redraw every trajectory as the canvas now draws the map: (x, y, 0) in 2D, (x, y, z) in 3D."""
        self._schedule(self._current)
        for tid in self._data:
            self._schedule(tid)

    def drawn_positions(self, tid: int) -> np.ndarray:
        """(steps, 3) positions as drawn now (for tests and hover)."""
        p2, p3 = self._data[tid][:2]
        return self.canvas.drawn_positions(p3 if self.canvas.mode == "3d" and p3 is not None else p2)

    # ---- picking ----------------------------------------------------------------------------------------------
    def step_at(self, x: float, y: float, radius: float = HOVER_RADIUS_PX) -> tuple[int, int]:
        """(trajectory id, step) nearest to widget position (x, y) within ``radius`` pixels, or (-1, -1); on a tie
        the current trajectory wins."""
        best, best_d = (-1, -1), float("inf")
        order = sorted(self._data, key=lambda t: t != self._current)
        for tid in order:
            if not len(self._data[tid][0]):
                continue
            screen = self.canvas.data_to_screen(self.drawn_positions(tid))
            d = np.hypot(screen[:, 0] - x, screen[:, 1] - y)
            i = int(np.nanargmin(d)) if np.isfinite(d).any() else -1
            if i >= 0 and d[i] <= radius and d[i] < best_d:
                best, best_d = (tid, i), float(d[i])
        return best

    def pick(self, x: float, y: float) -> Target | None:
        """The step under widget position (x, y), or None; the last step of a finished trajectory is its generated
        image."""
        tid, step = self.step_at(x, y)
        if tid < 0:
            return None
        points, _p3, _sigmas, _rgb, finished = self._data[tid]
        return Target.trajectory_step(tid, step, generated=finished and step == len(points) - 1)
