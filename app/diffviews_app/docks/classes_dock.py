"""Classes dock: the legend (colour, id, name, count), highlight one or several classes, and a live search: as the
user types (debounced) the samples whose id, class name, caption or any metadata value match are highlighted on the
map, with their count or "no match" (``search.search_samples``; integer ids as ``12`` or ``sample_000012``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from diffviews_core.unique import int_unique

from ..colors import class_legend, color_label, colouring, for_background
from ..search import SampleSearch, SearchResult
from ..state import ExplorerState

SEARCH_DELAY_MS = 150  # typing pauses this long before the map is searched and highlighted
# A thousand legend rows (ImageNet) are ~45 ms of tree items: a stall in the launch that shows them, a model switch or
# a tab switch. A legend seen makes its first rows at once (more than it shows) and the rest in chunks, one per
# event-loop turn; anything that needs every row (``items``) makes the rest there and then.
FIRST_ROWS = 64
ROWS_PER_TURN = 250


@dataclass(frozen=True)
class _Row:
    """One legend row: a class (label, "label: name") or a category of the colouring column (its text)."""

    key: int | str
    text: str
    rgb: tuple | None  # its colour on the map; None: no swatch (the classes do not colour the map)
    count: int
    name: str | None = None  # what the search matches (default: text)


def _swatch(shown) -> QIcon:
    """A legend swatch of colour ``shown`` (``for_background`` of the class colour: as the map draws it)."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor.fromRgbF(*map(float, shown)))
    return QIcon(pixmap)


class ClassesDock(QDockWidget):
    """Writes ``state.highlight_classes`` (or ``highlight_values`` while a category column colours the map) and
    ``state.search_rows``; Enter selects what the search found."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("ClassesDock")
        self.state = state
        self._updating = False
        self.legend_column = "class"
        self.dark = False  # swatches in the dark theme's colours, like the map's points
        self._searcher: SampleSearch | None = None
        self.result = SearchResult("")
        self._rows: list[_Row] = []  # the legend's rows, made into items by _fill_legend
        self._counts: dict[int | str, int] = {}  # samples per legend key
        self._made = 0  # rows of _rows made into items so far
        self._swatches: np.ndarray | None = None  # per row with a colour, its swatch colour as the map draws it
        self._filling = False  # a chunk is scheduled for the next event-loop turn
        self._in_view = False  # shown and not behind another tab (``visibilityChanged``)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search id, class, caption, metadata")
        self.search.setToolTip("highlights matching samples as you type: a sample id, a class name, a caption or "
                               "any metadata value; column=value looks in one column (e.g. label_mode=uniform). "
                               "Enter selects the match (several: the classes found, else the set)")  # fmt: skip
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.matches = QLabel()
        self.matches.setObjectName("searchMatches")
        self.matches.setWordWrap(True)
        self.matches.hide()
        layout.addWidget(self.matches)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.run_search)
        self.legend = QTreeWidget()
        self.legend.setColumnCount(2)
        self.legend.setHeaderLabels(["Class", "Samples"])
        self.legend.setRootIsDecorated(False)
        self.legend.setUniformRowHeights(True)
        self.legend.header().setStretchLastSection(False)
        self.legend.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.legend.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.legend.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.legend.setToolTip("select one or several classes to highlight them (Ctrl/Shift+click)")
        layout.addWidget(self.legend, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.clear_button = QPushButton("Clear highlight")
        layout.addWidget(self.clear_button)
        self.setWidget(body)

        self.visibilityChanged.connect(self._seen)
        self.legend.itemSelectionChanged.connect(self._on_selection)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._on_enter)
        self.clear_button.clicked.connect(self._clear)
        state.model_changed.connect(self._rebuild)
        state.color_by_changed.connect(lambda _c: self._rebuild_legend())
        state.highlight_changed.connect(self._refresh_status)
        self._rebuild()

    def _seen(self, visible: bool) -> None:
        """Shown, or its tab brought to the front (a dock behind another tab is "visible" to ``isVisible``)."""
        self._in_view = visible
        if visible:
            self._fill_gradually()

    @property
    def _filled(self) -> bool:
        return self._made == len(self._rows)

    def items(self) -> list[QTreeWidgetItem]:
        """The legend's rows (made now if the dock has not been seen since the last rebuild)."""
        self._fill_legend()
        return [self.legend.topLevelItem(i) for i in range(self.legend.topLevelItemCount())]

    def class_rows(self) -> dict[int | str, QTreeWidgetItem]:
        """Legend entries by class label (or, while a category column colours the map, by its values as text)."""
        return {item.data(0, Qt.ItemDataRole.UserRole): item for item in self.items()}

    @property
    def shows_classes(self) -> bool:
        """True when the legend lists classes; False when it lists the categories of the colouring column."""
        return self.legend_column == "class"

    def highlight(self, classes: list[int | str]) -> None:
        """Select these legend entries (classes, or categories) and so highlight them on the map."""
        items = self.class_rows()
        self._updating = True
        self.legend.clearSelection()
        for c in classes:
            if c in items:
                items[c].setSelected(True)
        self._updating = False
        self._on_selection()

    def set_dark(self, dark: bool) -> None:
        """Swatches for the dark (or light) theme's map (rows not made yet get them when made)."""
        self.dark = dark
        self._swatches = None
        for i in range(self.legend.topLevelItemCount()):
            item = self.legend.topLevelItem(i)
            rgb = item.data(1, Qt.ItemDataRole.UserRole)
            if rgb is not None:
                item.setIcon(0, _swatch(for_background(rgb, dark)))

    def swatch_color(self, key: int | str) -> QColor:
        """The colour of a legend entry's swatch, as painted."""
        return self.class_rows()[key].icon(0).pixmap(14, 14).toImage().pixelColor(7, 7)

    def _rebuild(self) -> None:
        """Another model: the search starts afresh and the legend follows the colouring."""
        self.search.clear()
        self._search_timer.stop()
        self._searcher = None
        self.result = SearchResult("")
        self._rebuild_legend()

    def _rebuild_legend(self) -> None:
        """The legend follows the colouring: the categories of a text or few-valued column, else the classes (with
        their colours only when they colour the map). Its rows are made when the dock is first seen (``items``):
        a thousand classes cost ~0.1 s of widgets, which a launch with the dock behind another tab skipped."""
        self._updating = True
        self.legend.clear()
        self._rows, self._made, self._swatches = [], 0, None
        model = self.state.model
        info = colouring(model.samples.columns, self.state.color_by, model.num_samples) if model is not None else None
        if info is not None and info.kind == "categorical" and info.column != "class":
            self.legend_column = info.column
            self.legend.setHeaderLabels([info.column, "Samples"])
            self.setWindowTitle(f"Legend: {info.column}")
            self._rows = [_Row(cat.text, cat.text, cat.rgb, cat.count) for cat in info.categories]
        else:
            self.legend_column = "class"
            self.legend.setHeaderLabels(["Class", "Samples"])
            self.setWindowTitle("Classes")
            if model is not None and model.samples.has_classes:
                self._rows = self._class_rows(model, coloured=info is not None and info.column == "class")
        self._counts = {row.key: row.count for row in self._rows}
        self._updating = False
        if self._in_view:
            self._fill_gradually()
        self._refresh_status()

    def _fill_gradually(self, first: bool = True) -> None:
        """The first rows (else a chunk) now, the rest one chunk per event-loop turn."""
        self._fill_legend(FIRST_ROWS if first else ROWS_PER_TURN)
        if not self._filled and not self._filling:
            self._filling = True
            QTimer.singleShot(0, self, self._fill_next)

    def _fill_next(self) -> None:
        self._filling = False
        self._fill_gradually(first=False)

    def _fill_legend(self, limit: int | None = None) -> None:
        """Make the legend's rows not made yet (at most ``limit``; None: all), hidden where the search text rules
        them out."""
        start = self._made
        end = len(self._rows) if limit is None else min(len(self._rows), start + limit)
        if end <= start:
            return
        if self._swatches is None:
            rgbs = [row.rgb for row in self._rows if row.rgb is not None]
            self._swatches = self._shown(rgbs) if rgbs else np.zeros((0, 3), np.float32)
        coloured = sum(row.rgb is not None for row in self._rows[:start])  # the first new row's swatch index
        items = []
        for row in self._rows[start:end]:
            items.append(self._entry(row, None if row.rgb is None else self._swatches[coloured]))
            coloured += row.rgb is not None
        self._updating = True
        self.legend.addTopLevelItems(items)
        self._updating = False
        self._made = end
        if self.search.text().strip():
            self._filter_legend(start)

    def _shown(self, rgbs: list) -> np.ndarray:
        """The swatch colours of ``rgbs`` as the map draws them, in one call (a thousand classes: one array)."""
        return for_background(np.asarray(rgbs, dtype=np.float32).reshape(-1, 3), self.dark)

    def _entry(self, row: _Row, shown) -> QTreeWidgetItem:
        """A legend row; ``shown``: its swatch colour (``_shown``), None for none. The rows of a legend are added
        together (``addTopLevelItems``): one at a time, a thousand cost the tree a relayout each."""
        item = QTreeWidgetItem([row.text, f"{row.count:,}"])
        if row.rgb is not None:
            item.setIcon(0, _swatch(shown))
            item.setData(1, Qt.ItemDataRole.UserRole, tuple(row.rgb))
        item.setToolTip(0, row.text)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setData(0, Qt.ItemDataRole.UserRole, row.key)
        item.setData(0, Qt.ItemDataRole.UserRole + 1, (row.text if row.name is None else row.name).lower())
        item.setData(0, Qt.ItemDataRole.UserRole + 2, int(row.count))
        return item

    def _class_rows(self, model, coloured: bool) -> list[_Row]:
        labels = np.asarray(model.samples.class_label, dtype=np.int64)
        uniq, _inverse, counts, first = int_unique(labels, first=True)
        legend = class_legend(uniq)
        root_names = self.state.root.class_names if self.state.root is not None else None
        names = model.samples.class_name
        rows = []
        for label, row, count in zip(uniq.tolist(), first.tolist(), counts.tolist(), strict=True):
            name = str(names[row]) if names is not None and str(names[row]) else ""
            if not name and root_names:
                name = root_names.get(label, "")
            text = f"{label}: {name}" if name else str(label)
            rows.append(_Row(label, text, legend[label] if coloured else None, count, name))
        return rows

    def _on_selection(self) -> None:
        if self._updating:
            return
        keys = [i.data(0, Qt.ItemDataRole.UserRole) for i in self.legend.selectedItems()]
        if self.shows_classes:
            self.state.set_highlight_classes(int(k) for k in keys)
        else:
            self.state.set_highlight_values(keys)

    def run_search(self) -> None:
        """Search now what the box holds (typing waits ``SEARCH_DELAY_MS`` for this): highlight, count, filter."""
        self._search_timer.stop()
        model, text = self.state.model, self.search.text()
        names = self.state.root.class_names if self.state.root is not None else None
        if model is not None and (self._searcher is None or self._searcher.samples is not model.samples):
            # the one the controller prepared in the background, else made here (small data, tests)
            self._searcher = self.state.searcher or SampleSearch(model.samples, names)
        self.result = self._searcher(text) if model is not None else SearchResult(text)
        needle = text.strip().lower()
        self._filter_legend()
        found = self.result.count > 0
        self.matches.setVisible(bool(needle))
        self.matches.setText(self.result.summary(model.samples if model is not None else None))
        self.matches.setStyleSheet("" if found else "#searchMatches { color: #b3261e; font-weight: bold; }")
        self.state.set_search_rows(self.result.rows)
        self._refresh_status()

    def _filter_legend(self, start: int = 0) -> None:
        """Hide the legend's rows (from ``start``) that the search text rules out (rows not made yet are filtered
        when made)."""
        needle = self.search.text().strip().lower()
        for i in range(start, self.legend.topLevelItemCount()):
            item = self.legend.topLevelItem(i)
            label, name = item.data(0, Qt.ItemDataRole.UserRole), item.data(0, Qt.ItemDataRole.UserRole + 1)
            item.setHidden(bool(needle) and needle not in name and needle != str(label))

    def _on_enter(self) -> None:
        """Enter: select the one sample found; several: highlight the classes whose name matches, or make the
        matches the selection set."""
        self.run_search()
        rows = self.result.rows
        if rows.size == 1:
            self.state.select(int(rows[0]))
            return
        if not rows.size:
            return
        if dict(self.result.sources).keys() == {"class name"}:
            self.highlight([item.data(0, Qt.ItemDataRole.UserRole) for item in self.items() if not item.isHidden()])
        else:
            self.state.select_set(rows.tolist())

    def _clear(self) -> None:
        self._updating = True
        self.legend.clearSelection()
        self._updating = False
        self.search.clear()
        self.run_search()
        self.state.clear_highlight()

    def _refresh_status(self) -> None:
        s = self.state
        counts = self._counts
        parts = []
        if s.highlight_classes:
            n = sum(counts.get(c, 0) for c in s.highlight_classes)
            k = len(s.highlight_classes)
            parts.append(f"{k} class{'es' if k != 1 else ''} highlighted: {n} samples")
        if s.highlight_values and not self.shows_classes:
            n = sum(counts.get(v, 0) for v in s.highlight_values)
            k = len(s.highlight_values)
            parts.append(f"{k} value{'s' if k != 1 else ''} of {self.legend_column} highlighted: {n} samples")
        if not parts and not s.search_rows.size and s.model is not None:
            if not self.shows_classes:
                parts.append(f"Colour: {self.legend_column}, {len(counts)} values, {s.num_points} samples")
            elif not s.model.samples.has_classes:
                parts.append(
                    f"{s.num_points} text-conditioned samples (captions): no classes, so colour by class is off. "
                    "Search a caption or a sample id."
                )
            elif s.color_by not in ("class", ""):
                parts.append(f"{len(counts)} classes, {s.num_points} samples; colour: {color_label(s.color_by)} "
                             "(colour bar under the map)")  # fmt: skip
            else:
                parts.append(f"{len(counts)} classes, {s.num_points} samples")
        self.status.setText("\n".join(parts))
        self.clear_button.setEnabled(bool(s.highlight_classes or s.highlight_values or s.search_rows.size))
