"""What the explorer shows: data, model, layer, view settings, hover, selection, neighbours, highlights.

Plain QObject with signals and no widgets: the canvas adapter and every dock listen to it and write to it, so
docks never call each other and the whole interaction logic can be tested without a window. The map's one input
path writes here: the hovered ``Target`` (a sample, a trajectory step or a generated image) and clicks.

The selection is either one sample (``selected``, picked with the point tool) or a set (``selection_set``, drawn
with the lasso or box tool), plus any generated images chosen on the map (``selected_generated``). Neighbours,
generation and exports work on ``selection_rows()``, whichever it is: there is no hidden "first" sample of a set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..targets import NOTHING, Target

if TYPE_CHECKING:
    from diffviews_core.formats import DataRoot, Embedding, ModelData

MODES = ("2d", "3d")
KNN_SPACES = ("activation", "map")
K_MIN, K_MAX, K_DEFAULT = 1, 20, 5
SELECTION_TOOLS = ("point", "lasso", "box")

Neighbour = tuple[int, "float | None"]  # (row, distance) for KNN, (row, None) for a manual pick


class ExplorerState(QObject):
    """The single source of truth of the explorer window."""

    root_changed = Signal()  # a data folder was opened (or closed)
    model_changed = Signal()  # another model: samples, layers and embedding all change
    embedding_changed = Signal()  # another layer/embedding of the same samples: coordinates change
    mode_changed = Signal(str)
    color_by_changed = Signal(str)
    hover_changed = Signal(object)  # the Target under the mouse (NOTHING when none)
    hovered_changed = Signal(int)  # the hovered sample's row, -1 for none (a step or nothing is hovered)
    target_clicked = Signal(object)  # a click on a Target that is not a sample (a trajectory step, a generated image)
    selected_changed = Signal(int)  # the one selected sample, -1 for none (also when a set is selected)
    selection_changed = Signal()  # anything in the selection changed: the sample, the set, the generated images
    tool_changed = Signal(str)  # "point", "lasso" or "box"
    neighbours_changed = Signal()
    k_changed = Signal(int)
    knn_space_changed = Signal(str)
    highlight_changed = Signal()
    layer_choices_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root: DataRoot | None = None
        self.model: ModelData | None = None
        self.layer: str = ""
        self.layer_choices: dict[str, tuple[str, str]] = {}  # key -> (label, "embedding" | "activations")
        self.embedding: Embedding | None = None
        self.mode: str = "2d"
        self.color_by: str = "class"
        self.hover: Target = NOTHING
        self.selected: int = -1
        self.selection_set: tuple[int, ...] = ()
        self.selected_generated: tuple[int, ...] = ()  # trajectory ids of generated images in the selection
        self.tool: str = "point"
        self.neighbours: list[Neighbour] = []
        self.knn_spread: tuple | None = None  # set_knn's ``spread``: the neighbours dock need not measure it again
        self.k: int = K_DEFAULT
        self.knn_space: str = "activation"
        self.highlight_classes: frozenset[int] = frozenset()
        self.highlight_values: frozenset[str] = frozenset()  # values (as text) of the colouring column, highlighted
        self.search_rows: np.ndarray = np.empty(0, dtype=np.int64)
        self.searcher = None  # the model's prepared SampleSearch (built in a job when it opens), or None

    # ---- data -------------------------------------------------------------------------------------------------
    @property
    def num_points(self) -> int:
        return 0 if self.model is None else int(self.model.num_samples)

    @property
    def model_name(self) -> str:
        return "" if self.model is None else self.model.name

    def set_root(self, root: DataRoot | None) -> None:
        """A new data folder: the model is chosen afterwards with ``set_model``."""
        self.root = root
        self.model = None
        self.embedding = None
        self.layer = ""
        self._reset_interaction()
        self.root_changed.emit()

    def set_model(self, model: ModelData | None, layer: str, embedding: Embedding | None) -> None:
        """Switch model (with the layer and embedding to show first); hover, selection and highlights reset."""
        self.model = model
        self.layer = layer
        self.embedding = embedding
        if embedding is None or embedding.coords3d is None:
            self.mode = "2d"
        self._reset_interaction()
        self.model_changed.emit()

    def set_embedding(self, layer: str, embedding: Embedding) -> None:
        """Same samples, another layer's map: selection and neighbours stay (rows do not change)."""
        self.layer = layer
        self.embedding = embedding
        if embedding.coords3d is None and self.mode == "3d":
            self.mode = "2d"
            self.mode_changed.emit(self.mode)
        self.embedding_changed.emit()

    def set_layer_choices(self, choices: dict[str, tuple[str, str]]) -> None:
        """What the layer menu offers: key -> (label, how), ``how`` being "embedding" (a stored map, shown at once)
        or "activations" (stored activations that are embedded on demand)."""
        self.layer_choices = dict(choices)
        self.layer_choices_changed.emit()

    def layer_label(self) -> str:
        return self.layer_choices.get(self.layer, (self.layer, ""))[0]

    def coords(self) -> np.ndarray | None:
        """The coordinates shown in the current mode, (N, 2) or (N, 3)."""
        if self.embedding is None:
            return None
        if self.mode == "3d" and self.embedding.coords3d is not None:
            return self.embedding.coords3d
        return self.embedding.coords2d

    def has_3d(self) -> bool:
        return self.embedding is not None and self.embedding.coords3d is not None

    def map_key(self) -> tuple[str, str]:
        """(model path, map key): what coordinates placed on the shown map belong to."""
        return (str(self.model.path) if self.model is not None else "", self.layer)

    def _reset_interaction(self) -> None:
        self.hover = NOTHING
        self.selected = -1
        self.selection_set = ()
        self.selected_generated = ()
        self.neighbours = []
        self.highlight_classes = frozenset()
        self.highlight_values = frozenset()
        self.search_rows = np.empty(0, dtype=np.int64)
        self.searcher = None

    # ---- view settings ----------------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if mode == "3d" and not self.has_3d():
            mode = "2d"
        if mode != self.mode:
            self.mode = mode
            self.mode_changed.emit(mode)

    def set_color_by(self, column: str) -> None:
        """Colour the points by ``column``; highlighted values of the previous colouring's legend are dropped."""
        if column != self.color_by:
            self.color_by = column
            self.color_by_changed.emit(column)
            self.set_highlight_values(())

    def set_tool(self, tool: str) -> None:
        """What a drag on the map does: "point" (pans; Shift+drag lassos), "lasso" or "box" (draws a selection set)."""
        if tool not in SELECTION_TOOLS:
            raise ValueError(f"tool must be one of {SELECTION_TOOLS}, not {tool!r}")
        if tool != self.tool:
            self.tool = tool
            self.tool_changed.emit(tool)

    def set_k(self, k: int) -> None:
        k = max(K_MIN, min(K_MAX, int(k)))
        if k != self.k:
            self.k = k
            self.k_changed.emit(k)

    def set_knn_space(self, space: str) -> None:
        if space not in KNN_SPACES:
            raise ValueError(f"space must be one of {KNN_SPACES}, not {space!r}")
        if space != self.knn_space:
            self.knn_space = space
            self.knn_space_changed.emit(space)

    # ---- hover, selection, neighbours ---------------------------------------------------------------------------
    def _valid(self, row: int) -> bool:
        return 0 <= row < self.num_points

    @property
    def hovered(self) -> int:
        """Row of the hovered sample, -1 when the mouse is on nothing or on something else."""
        return self.hover.row if self.hover.kind == "sample" else -1

    def set_hover(self, target: Target) -> None:
        """What the mouse is on now; a sample row outside the data counts as nothing."""
        if target.kind == "sample" and not self._valid(target.row):
            target = NOTHING
        if target == self.hover:
            return
        row = self.hovered
        self.hover = target
        self.hover_changed.emit(target)
        if self.hovered != row:
            self.hovered_changed.emit(self.hovered)

    def set_hovered(self, row: int) -> None:
        """Hover the sample at ``row`` (-1: nothing), e.g. from a dock's gallery."""
        self.set_hover(Target.sample(int(row)))

    def click_target(self, target: Target, replace: bool = False, add: bool = False) -> None:
        """A click on the map: on a sample it selects, toggles a neighbour or a set member (``click``); on a trajectory
        step or a generated image it is announced through ``target_clicked`` (which shows it). A generated image
        joins or leaves the selection with ``add`` (Shift+click), or becomes the whole selection with ``replace``
        (Ctrl+click): then it is the KNN query. On nothing a click does nothing."""
        if target.kind == "sample":
            self.click(target.row, replace=replace)
        elif target:
            if target.kind == "generated" and (add or replace):
                self.toggle_generated(target.trajectory, add=add and not replace)
            self.target_clicked.emit(target)

    # ---- the selection --------------------------------------------------------------------------------------------
    @property
    def has_selection(self) -> bool:
        return self.selected >= 0 or bool(self.selection_set) or bool(self.selected_generated)

    def selection_rows(self) -> list[int]:
        """The selected samples: the one picked, or every member of the set (empty when none)."""
        return [self.selected] if self.selected >= 0 else list(self.selection_set)

    def generation_rows(self) -> list[int]:
        """What a generation averages: the selected samples and their neighbours."""
        return [*self.selection_rows(), *self.neighbour_rows()]

    def _set_selection(self, selected: int, members: tuple[int, ...], generated: tuple[int, ...],
                       keep_neighbours: bool = False) -> None:  # fmt: skip
        """Write the whole selection at once and announce what changed (neighbours go unless kept)."""
        if (selected, members, generated) == (self.selected, self.selection_set, self.selected_generated):
            return
        single_changed = selected != self.selected
        self.selected, self.selection_set, self.selected_generated = selected, members, generated
        if single_changed:
            self.selected_changed.emit(selected)
        self.selection_changed.emit()
        chosen = set(self.selection_rows())
        kept = [n for n in self.neighbours if n[0] not in chosen] if keep_neighbours else []
        if kept != self.neighbours:
            self.neighbours = kept
            self.neighbours_changed.emit()

    def select(self, row: int) -> None:
        """Make ``row`` the one selected sample (-1 clears); the set, generated images and neighbours are dropped."""
        row = int(row) if self._valid(int(row)) else -1
        self._set_selection(row, (), ())

    def clear_selection(self) -> None:
        self._set_selection(-1, (), ())

    def select_set(self, rows: Iterable[int], add: bool = False) -> None:
        """Make the samples ``rows`` (a lasso or box) the selection set; ``add`` joins them to the selection there
        is (its neighbours stay, minus the new members). A set is a set even of one sample."""
        rows = [int(r) for r in rows if self._valid(int(r))]
        if add:
            members = tuple(dict.fromkeys([*self.selection_rows(), *rows]))
            if members:
                self._set_selection(-1, members, self.selected_generated, keep_neighbours=True)
            return
        if rows:
            self._set_selection(-1, tuple(dict.fromkeys(rows)), ())
        else:
            self.clear_selection()

    def toggle_in_set(self, row: int) -> None:
        """Add ``row`` to the selection set, or take it out (the set empty: nothing is selected)."""
        if not self._valid(row):
            return
        members = list(self.selection_rows())
        if row in members:
            members.remove(row)
        else:
            members.append(int(row))
        if members or self.selected_generated:
            self._set_selection(-1, tuple(members), self.selected_generated, keep_neighbours=True)
        else:
            self.clear_selection()

    def toggle_generated(self, trajectory: int, add: bool = False) -> None:
        """Select a generated image (its trajectory id) alone, or with ``add`` put it in (or take it out of) the
        selection there is."""
        if not add:
            self._set_selection(-1, (), (int(trajectory),))
            return
        generated = list(self.selected_generated)
        if trajectory in generated:
            generated.remove(trajectory)
        else:
            generated.append(int(trajectory))
        if self.selection_rows() or generated:  # the samples stay as they are (one, or a set)
            self._set_selection(self.selected, self.selection_set, tuple(generated), keep_neighbours=True)
        else:
            self.clear_selection()

    def drop_generated(self, trajectories: Iterable[int]) -> None:
        """Generated images that no longer exist leave the selection."""
        gone = set(trajectories)
        generated = tuple(t for t in self.selected_generated if t not in gone)
        if generated != self.selected_generated:
            if generated or self.selection_rows():
                self._set_selection(self.selected, self.selection_set, generated, keep_neighbours=True)
            else:
                self.clear_selection()

    def click(self, row: int, replace: bool = False) -> None:
        """A click on the map: the first click selects, later clicks toggle manual neighbours; while a set is
        selected, clicks add or remove set members.

        ``replace`` (Ctrl+click) selects the clicked sample instead; a click on the selected sample deselects it.
        """
        if not self._valid(row):
            return
        if replace or not self.has_selection:
            self.select(row)
        elif self.selection_set or (self.selected_generated and self.selected < 0):
            self.toggle_in_set(row)
        elif row == self.selected:
            self.clear_selection()
        else:
            self.toggle_neighbour(row)

    def neighbour_rows(self) -> list[int]:
        return [row for row, _ in self.neighbours]

    def toggle_neighbour(self, row: int) -> None:
        """Add ``row`` as a manual neighbour, or remove it if it already is a neighbour (manual or KNN)."""
        if not self._valid(row) or row in self.selection_rows() or not self.has_selection:
            return
        rows = self.neighbour_rows()
        if row in rows:
            del self.neighbours[rows.index(row)]
        else:
            self.neighbours.append((int(row), None))
        self.neighbours_changed.emit()

    def add_manual(self, rows: Iterable[int]) -> None:
        """Add many manual neighbours of the selection at once (nothing without a selection)."""
        if not self.has_selection:
            return
        have = set(self.neighbour_rows()) | set(self.selection_rows())
        added = [(r, None) for r in dict.fromkeys(int(r) for r in rows if self._valid(int(r))) if r not in have]
        if added:
            self.neighbours.extend(added)
            self.neighbours_changed.emit()

    def set_knn(self, rows: Sequence[int], distances: Sequence[float], spread: tuple | None = None) -> None:
        """Replace the KNN neighbours with a fresh result; manual picks stay, after the KNN ones. ``spread``: the
        result's ``map_spread`` measured where it was found, ``(coords, selected, rows, value)``."""
        self.knn_spread = spread
        manual = [(r, None) for r, d in self.neighbours if d is None]
        knn_rows = {int(r) for r in rows}
        chosen = set(self.selection_rows())
        knn = [(int(r), float(d)) for r, d in zip(rows, distances, strict=True) if int(r) not in chosen]
        self.neighbours = knn + [m for m in manual if m[0] not in knn_rows]
        self.neighbours_changed.emit()

    def clear_neighbours(self) -> None:
        if self.neighbours:
            self.neighbours = []
            self.neighbours_changed.emit()

    # ---- highlights ---------------------------------------------------------------------------------------------
    def set_highlight_classes(self, classes: Iterable[int]) -> None:
        classes = frozenset(int(c) for c in classes)
        if classes != self.highlight_classes:
            self.highlight_classes = classes
            self.highlight_changed.emit()

    def set_searcher(self, searcher) -> None:
        """Keep the prepared search of the model shown (one for another model's samples is ignored)."""
        if self.model is not None and searcher.samples is self.model.samples:
            self.searcher = searcher

    def set_highlight_values(self, values: Iterable[object]) -> None:
        """Highlight the samples whose colouring column (``color_by``, not "class") holds one of ``values``."""
        values = frozenset(str(v) for v in values)
        if values != self.highlight_values:
            self.highlight_values = values
            self.highlight_changed.emit()

    def value_rows(self) -> np.ndarray:
        """Rows whose colouring column holds a highlighted value."""
        column = self.model.samples.columns.get(self.color_by) if self.model is not None else None
        if column is None or not self.highlight_values:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(np.isin(np.asarray(column).astype(str), list(self.highlight_values))).astype(np.int64)

    def set_search_rows(self, rows: Sequence[int] | np.ndarray) -> None:
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        if not np.array_equal(rows, self.search_rows):
            self.search_rows = rows
            self.highlight_changed.emit()

    def clear_highlight(self) -> None:
        if self.highlight_classes or self.highlight_values or self.search_rows.size:
            self.highlight_classes = frozenset()
            self.highlight_values = frozenset()
            self.search_rows = np.empty(0, dtype=np.int64)
            self.highlight_changed.emit()

    def highlight_rows(self) -> np.ndarray | None:
        """Rows ringed on the map: samples of the highlighted classes or legend values plus search hits; None when
        nothing is."""
        if self.model is None or not (self.highlight_classes or self.highlight_values or self.search_rows.size):
            return None
        labels = self.model.samples.class_label
        rows = np.flatnonzero(np.isin(labels, np.fromiter(self.highlight_classes, dtype=np.int64)))
        return np.union1d(np.union1d(rows, self.value_rows()), self.search_rows).astype(np.int64)
