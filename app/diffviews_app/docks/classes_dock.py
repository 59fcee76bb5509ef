"""Classes dock: the legend (colour, id, name, count), highlight one or several classes, search by class name or
sample id."""

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
        model = self.state.model
        if model is not None:
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
        digits = text.strip().lower().removeprefix("sample_")
        if model is None or not digits.isdigit():
            return -1
        try:
            return int(model.samples.row_of(int(digits)))
        except (KeyError, ValueError, IndexError):
            return -1

    def _on_search(self, text: str) -> None:
        needle = text.strip().lower()
        for item in self.items():
            label, name = item.data(0, Qt.ItemDataRole.UserRole), item.data(0, Qt.ItemDataRole.UserRole + 1)
            item.setHidden(bool(needle) and needle not in name and needle != str(label))
        row = self._sample_row(text)
        self.state.set_search_rows([row] if row >= 0 else [])

    def _on_enter(self) -> None:
        """Enter: select the sample found by id, or highlight every class whose name matches."""
        row = self._sample_row(self.search.text())
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
        if s.search_rows.size and s.model is not None:
            sid = int(s.model.samples.sample_id[s.search_rows[0]])
            parts.append(f"sample_{sid:06d} found (Enter selects it)")
        if not parts and s.model is not None:
            parts.append(f"{len(counts)} classes, {s.num_points} samples")
        self.status.setText("\n".join(parts))
        self.clear_button.setEnabled(bool(s.highlight_classes or s.search_rows.size))
