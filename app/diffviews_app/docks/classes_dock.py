"""Classes dock: the legend (colour, id, name, count), highlight one or several classes, search by class name,
caption or sample id (integer ids as ``12`` or ``sample_000012``, text ids as they are)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
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

from ..colors import class_colors
from ..state import ExplorerState


def _swatch(rgb: tuple[float, float, float]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor.fromRgbF(*rgb))
    return QIcon(pixmap)


class ClassesDock(QDockWidget):
    """Writes ``state.highlight_classes`` / ``state.search_rows``; selects a sample found by id on Enter."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("ClassesDock")
        self.state = state
        self._updating = False
        self._captions_lower: list[str] | None = None  # lower-cased captions of the model shown, made on first search
        body = QWidget()
        layout = QVBoxLayout(body)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search class name or sample id")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
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

        self.legend.itemSelectionChanged.connect(self._on_selection)
        self.search.textChanged.connect(self._on_search)
        self.search.returnPressed.connect(self._on_enter)
        self.clear_button.clicked.connect(self._clear)
        state.model_changed.connect(self._rebuild)
        state.highlight_changed.connect(self._refresh_status)
        self._rebuild()

    def items(self) -> list[QTreeWidgetItem]:
        return [self.legend.topLevelItem(i) for i in range(self.legend.topLevelItemCount())]

    def class_rows(self) -> dict[int, QTreeWidgetItem]:
        """Legend entries by class label."""
        return {int(item.data(0, Qt.ItemDataRole.UserRole)): item for item in self.items()}

    def highlight(self, classes: list[int]) -> None:
        """Select these classes in the legend (and so highlight them on the map)."""
        items = self.class_rows()
        self._updating = True
        self.legend.clearSelection()
        for c in classes:
            if c in items:
                items[c].setSelected(True)
        self._updating = False
        self._on_selection()

    def _rebuild(self) -> None:
        self._updating = True
        self.legend.clear()
        self.search.clear()
        self._captions_lower = None
        model = self.state.model
        if model is not None and model.samples.has_classes:
            labels = np.asarray(model.samples.class_label, dtype=np.int64)
            uniq, first, counts = np.unique(labels, return_index=True, return_counts=True)
            _, legend = class_colors(labels)
            root_names = self.state.root.class_names if self.state.root is not None else None
            names = model.samples.class_name
            for label, row, count in zip(uniq, first, counts, strict=True):
                name = str(names[row]) if names is not None and str(names[row]) else ""
                if not name and root_names:
                    name = root_names.get(int(label), "")
                item = QTreeWidgetItem([f"{label}: {name}" if name else str(label), f"{count:,}"])
                item.setIcon(0, _swatch(legend[int(label)]))
                item.setToolTip(0, item.text(0))
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setData(0, Qt.ItemDataRole.UserRole, int(label))
                item.setData(0, Qt.ItemDataRole.UserRole + 1, name.lower())
                item.setData(0, Qt.ItemDataRole.UserRole + 2, int(count))
                self.legend.addTopLevelItem(item)
        self._updating = False
        self._refresh_status()

    def _on_selection(self) -> None:
        if self._updating:
            return
        classes = [int(i.data(0, Qt.ItemDataRole.UserRole)) for i in self.legend.selectedItems()]
        self.state.set_highlight_classes(classes)

    def _sample_row(self, text: str) -> int:
        model = self.state.model
        text = text.strip()
        if model is None or not text:
            return -1
        samples = model.samples
        key = text if samples.ids_are_text else text.lower().removeprefix("sample_")
        try:
            return int(samples.row_of(key))
        except (KeyError, ValueError, IndexError):
            return -1

    def _caption_rows(self, needle: str) -> np.ndarray:
        """Rows whose caption contains ``needle`` (case-insensitive), for text-conditioned samples."""
        model = self.state.model
        captions = model.samples.caption if model is not None else None
        if captions is None or len(needle) < 2:
            return np.empty(0, dtype=np.int64)
        if self._captions_lower is None:
            self._captions_lower = [str(c).lower() for c in captions]
        return np.array([i for i, c in enumerate(self._captions_lower) if needle in c], dtype=np.int64)

    def _on_search(self, text: str) -> None:
        needle = text.strip().lower()
        for item in self.items():
            label, name = item.data(0, Qt.ItemDataRole.UserRole), item.data(0, Qt.ItemDataRole.UserRole + 1)
            item.setHidden(bool(needle) and needle not in name and needle != str(label))
        row = self._sample_row(text)
        if row >= 0:
            self.state.set_search_rows([row])
        else:
            self.state.set_search_rows(self._caption_rows(needle))

    def _on_enter(self) -> None:
        """Enter: select the sample found by id, or highlight every class whose name matches."""
        row = self._sample_row(self.search.text())
        if row < 0 and self.state.search_rows.size == 1:  # the one caption that matches
            row = int(self.state.search_rows[0])
        if row >= 0:
            self.state.select(row)
            return
        visible = [int(item.data(0, Qt.ItemDataRole.UserRole)) for item in self.items() if not item.isHidden()]
        if visible and self.search.text().strip():
            self.highlight(visible)

    def _clear(self) -> None:
        self._updating = True
        self.legend.clearSelection()
        self._updating = False
        self.search.clear()
        self.state.clear_highlight()

    def _refresh_status(self) -> None:
        s = self.state
        counts = {label: int(item.data(0, Qt.ItemDataRole.UserRole + 2)) for label, item in self.class_rows().items()}
        parts = []
        if s.highlight_classes:
            n = sum(counts.get(c, 0) for c in s.highlight_classes)
            k = len(s.highlight_classes)
            parts.append(f"{k} class{'es' if k != 1 else ''} highlighted: {n} samples")
        if s.search_rows.size == 1 and s.model is not None:
            parts.append(f"{s.model.samples.id_text(int(s.search_rows[0]))} found (Enter selects it)")
        elif s.search_rows.size and s.model is not None:
            parts.append(f"{s.search_rows.size} captions match (highlighted)")
        if not parts and s.model is not None:
            if s.model.samples.has_classes:
                parts.append(f"{len(counts)} classes, {s.num_points} samples")
            else:
                parts.append(
                    f"{s.num_points} text-conditioned samples (captions): no classes, so colour by class is off. "
                    "Search a caption or a sample id."
                )
        self.status.setText("\n".join(parts))
        self.clear_button.setEnabled(bool(s.highlight_classes or s.search_rows.size))
