"""Selection and neighbours dock: the selected sample, K and the search space, Suggest KNN, and the neighbour
gallery captioned ``(d=0.12)`` for KNN results or ``(manual)`` for clicked ones."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from diffviews_core.captions import class_text, label_text
from diffviews_core.neighbours import map_spread

from ..gallery import GalleryView, ThumbnailModel
from ..images import ImageCache, scaled
from ..state import K_MAX, K_MIN, KNN_SPACES, ExplorerState
from ..steady_column import SteadyColumn

THUMB = 84
SELECTED_THUMB = 56
SPACE_LABELS = {"activation": "Activation space", "map": "Map (2D/3D)"}
HINT = ("Click a point to select it; click others to add or remove neighbours. A lasso (L) or box (B) selects a "
        "set; Shift+drag lassos with the point tool (S).")  # fmt: skip
IN_SET = "(in set)"


def distance_caption(distance: float | None) -> str:
    """``(d=0.12)`` for a KNN neighbour, ``(manual)`` for one picked by hand."""
    if distance is None:
        return "(manual)"
    return f"(d={distance:.2f})" if distance < 100 else f"(d={distance:.4g})"


class NeighboursDock(QDockWidget):
    """Reads selection/neighbours from the state; asks for KNN through ``knn_requested``."""

    knn_requested = Signal()

    def __init__(self, state: ExplorerState, images: ImageCache, parent: QWidget | None = None) -> None:
        super().__init__("Selection && neighbours", parent)
        self.setObjectName("NeighboursDock")
        self.state = state
        self.images = images
        self._spread_coords: np.ndarray | None = None  # the map, sample and rows of the spread last measured
        self._spread_key: tuple | None = None
        self._spread: float | None = None
        body = QWidget()
        layout = QVBoxLayout(body)

        head = QHBoxLayout()
        self.selected_image = QLabel()  # always shown, at a fixed size: changing it never lays the dock out again
        self.selected_image.setFixedSize(SELECTED_THUMB, SELECTED_THUMB)
        self.selected_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.selected_image.setObjectName("selectedImage")
        self.selected_image.setStyleSheet("#selectedImage { background: palette(alternate-base); color: palette(mid);"
                                          " border: 1px solid palette(midlight); }")  # fmt: skip
        self.selected_label = QLabel()
        self.selected_label.setWordWrap(True)
        head.addWidget(self.selected_image)
        head.addWidget(SteadyColumn([self.selected_label], grow_only=True), 1)  # a new selection's text: no new layout
        layout.addLayout(head)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("K"))
        self.k_spin = QSpinBox()
        self.k_spin.setRange(K_MIN, K_MAX)
        self.k_spin.setValue(state.k)
        self.k_spin.setToolTip("number of nearest neighbours to suggest")
        controls.addWidget(self.k_spin)
        self.space_combo = QComboBox()
        for space in KNN_SPACES:
            self.space_combo.addItem(SPACE_LABELS[space], space)
        self.space_combo.setToolTip("activation space: the true neighbours; map: nearest on the 2D/3D projection")
        controls.addWidget(self.space_combo, 1)
        layout.addLayout(controls)
        self.knn_button = QPushButton("Suggest KNN")
        self.knn_button.setToolTip("find the K nearest neighbours of the selected sample (K)")
        layout.addWidget(self.knn_button)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(SteadyColumn([self.summary], grow_only=True))  # over the gallery: room kept, no new layout
        self.gallery_model = ThumbnailModel(self._thumbnail, THUMB, self)
        self.gallery = GalleryView(self.gallery_model, lines=2)
        layout.addWidget(self.gallery, 1)

        buttons = QHBoxLayout()
        self.clear_button = QPushButton("Clear neighbours")
        self.deselect_button = QPushButton("Clear selection")
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.deselect_button)
        layout.addLayout(buttons)
        self.setWidget(body)

        self.k_spin.valueChanged.connect(state.set_k)
        self.space_combo.currentIndexChanged.connect(lambda _i: state.set_knn_space(self.space_combo.currentData()))
        self.knn_button.clicked.connect(self.knn_requested)
        self.clear_button.clicked.connect(state.clear_neighbours)
        self.deselect_button.clicked.connect(state.clear_selection)
        self.gallery.clicked.connect(lambda index: state.set_hovered(int(self.gallery.key_at(index))))
        state.k_changed.connect(self.k_spin.setValue)
        state.knn_space_changed.connect(
            lambda space: self.space_combo.setCurrentIndex(self.space_combo.findData(space))
        )
        state.selection_changed.connect(self._refresh_selection)
        state.model_changed.connect(self._refresh_all)
        state.neighbours_changed.connect(self._refresh_gallery)
        self._refresh_all()

    def captions(self) -> list[str]:
        """The gallery captions in order (what a user reads under each thumbnail)."""
        return self.gallery_model.captions()

    def _thumbnail(self, row: int):
        model = self.state.model
        return None if model is None else self.images.get(model, int(row))

    def _refresh_all(self) -> None:
        self.gallery_model.invalidate()  # another model: the same rows are other images
        self._refresh_selection()

    def _refresh_selection(self) -> None:
        self._refresh_selected()
        self._refresh_gallery()

    def _refresh_selected(self, *_args) -> None:
        s = self.state
        has = s.model is not None and s.has_selection
        self.knn_button.setEnabled(has)
        self.clear_button.setEnabled(has)
        self.deselect_button.setEnabled(has)
        if not has:
            self.selected_image.setText("none")
            self.selected_label.setText(HINT)
            return
        if s.selected < 0:
            self.selected_image.setText(f"{len(s.selection_rows()) + len(s.selected_generated):,}")
            self.selected_label.setText(self._set_text())
            return
        pixmap = self.images.get(s.model, s.selected)
        if pixmap is None:
            self.selected_image.setText("—")
        else:
            self.selected_image.setPixmap(scaled(pixmap, SELECTED_THUMB))
        sid = html.escape(s.model.samples.id_text(s.selected))
        names = s.root.class_names if s.root is not None else None
        what = html.escape(label_text(s.model, s.selected, names))
        self.selected_label.setText(f"<b>Selected</b> {sid}<br>{what}")

    def _map_spread(self, rows: list[int]) -> float | None:
        """``map_spread`` of the selection's KNN neighbours, remembered for the same map, sample and rows (a click
        refreshes the gallery for the selection and again for its neighbours; each pass reads the whole map)."""
        s = self.state
        coords = s.coords()
        key = (s.selected, tuple(rows))
        if coords is not self._spread_coords or key != self._spread_key:
            self._spread_coords, self._spread_key = coords, key
            known = s.knn_spread  # measured by the KNN job with its result, off the UI thread
            if known is not None and known[0] is coords and known[1:3] == key:
                self._spread = known[3]
            else:
                self._spread = map_spread(coords, s.selected, rows)
        return self._spread

    def _set_text(self) -> str:
        """What a selection set holds: how many samples of how many classes, and generated images."""
        s = self.state
        rows, n_gen = s.selection_rows(), len(s.selected_generated)
        parts = [f"<b>Selection set</b> {len(rows):,} sample{'s' if len(rows) != 1 else ''}"]
        if rows and s.model.samples.has_classes:
            labels = np.asarray(s.model.samples.class_label, dtype=np.int64)[rows]
            values, counts = np.unique(labels, return_counts=True)
            names = s.root.class_names if s.root is not None else None
            top = html.escape(class_text(s.model, rows[int(np.flatnonzero(labels == values[counts.argmax()])[0])],
                                         names))  # fmt: skip
            parts.append(f"{len(values)} class{'es' if len(values) != 1 else ''}, most: {top} ({counts.max()})")
        if n_gen:
            parts.append(f"+ {n_gen} generated image{'s' if n_gen != 1 else ''}")
        return "<br>".join(parts)

    def _refresh_gallery(self) -> None:
        s = self.state
        if s.model is None:
            self.gallery_model.clear()
            self.summary.setText("")
            return
        names = s.root.class_names if s.root is not None else None
        members = list(s.selection_set)  # a set's members come first, then the neighbours of the selection
        items = [(row, IN_SET) for row in members] + [(row, distance_caption(d)) for row, d in s.neighbours]
        classes = [class_text(s.model, row, names) for row, _ in items]  # once per item: a lasso can hold thousands
        captions = [f"{text}\n{what}" for text, (_row, what) in zip(classes, items, strict=True)]
        ids = [s.model.samples.id_text(row) for row, _ in items]
        tips = [f"{i}  {text}  {what}" for i, text, (_row, what) in zip(ids, classes, items, strict=True)]
        self.gallery_model.set_items([row for row, _ in items], captions, tips)
        n_manual = sum(1 for _, d in s.neighbours if d is None)
        n = len(s.neighbours)
        text = f"{n} neighbour{'s' if n != 1 else ''} ({n - n_manual} KNN, {n_manual} manual)"
        if members:
            text = f"{len(members):,} in the set, then {text}"
        spread = self._map_spread([r for r, d in s.neighbours if d is not None])  # one sample only
        if spread is not None and s.knn_space == "activation":
            text += f"\nOn the map they lie {spread:.1f}× as far as the map's own nearest (projection distortion)"
        self.summary.setText(text)
