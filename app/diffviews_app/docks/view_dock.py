"""View dock: model and layer choice, 2D/3D, colour by, and a one-line summary of what the map shows."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from ..colors import color_options, unavailable_color_options
from ..state import ExplorerState

LAYER_SUFFIX = {"embedding": "", "activations": "  (embed)"}
COLOR_LABELS = {"class": "Class", "noise": "Noise level"}


class ViewDock(QDockWidget):
    """Model/layer changes go through ``model_requested``/``layer_requested`` (they may start jobs); mode and
    colouring are written straight to the state."""

    model_requested = Signal(str)
    layer_requested = Signal(str)

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__("Model && view", parent)
        self.setObjectName("ViewDock")
        self.state = state
        self._updating = False
        body = QWidget()
        form = QFormLayout(body)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("model folder of the data root")
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("layer whose activations the map shows; new layers are embedded on demand")
        self.layer_combo.setMinimumContentsLength(14)
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        mode_row = QHBoxLayout()
        self.mode_buttons = QButtonGroup(self)
        self.button_2d = QPushButton("2D")
        self.button_3d = QPushButton("3D")
        for i, b in enumerate((self.button_2d, self.button_3d)):
            b.setCheckable(True)
            self.mode_buttons.addButton(b, i)
            mode_row.addWidget(b)
        self.button_2d.setChecked(True)
        self.color_combo = QComboBox()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        form.addRow("Model", self.model_combo)
        form.addRow("Layer", self.layer_combo)
        form.addRow("View", mode_row)
        form.addRow("Colour", self.color_combo)
        form.addRow(self.summary)
        self.setWidget(body)

        self.model_combo.currentIndexChanged.connect(self._on_model)
        self.layer_combo.currentIndexChanged.connect(self._on_layer)
        self.mode_buttons.idClicked.connect(lambda i: state.set_mode("2d" if i == 0 else "3d"))
        self.color_combo.currentIndexChanged.connect(self._on_color)
        state.root_changed.connect(self._refresh_models)
        state.model_changed.connect(self._refresh_all)
        state.embedding_changed.connect(self._refresh_all)
        state.layer_choices_changed.connect(self._refresh_layers)
        state.mode_changed.connect(lambda _m: self._refresh_mode())
        state.color_by_changed.connect(lambda _c: self._refresh_colors())
        self._refresh_models()

    def _on_model(self, _index: int) -> None:
        name = self.model_combo.currentData()
        if not self._updating and name and name != self.state.model_name:
            self.model_requested.emit(name)

    def _on_layer(self, _index: int) -> None:
        name = self.layer_combo.currentData()
        if not self._updating and name and name != self.state.layer:
            self.layer_requested.emit(name)

    def _on_color(self, _index: int) -> None:
        value = self.color_combo.currentData()
        if not self._updating and value:
            self.state.set_color_by(value)

    def _refresh_models(self) -> None:
        self._updating = True
        self.model_combo.clear()
        root = self.state.root
        if root is not None:
            for name in root.models:
                self.model_combo.addItem(name, name)
        idx = self.model_combo.findData(self.state.model_name)
        self.model_combo.setCurrentIndex(idx)
        self.model_combo.setEnabled(self.model_combo.count() > 1)
        self._updating = False

    def _refresh_layers(self) -> None:
        self._updating = True
        self.layer_combo.clear()
        for key, (label, how) in self.state.layer_choices.items():
            self.layer_combo.addItem(label + LAYER_SUFFIX.get(how, ""), key)
        self.layer_combo.setCurrentIndex(self.layer_combo.findData(self.state.layer))
        self.layer_combo.setEnabled(self.layer_combo.count() > 0)
        self._updating = False
        self._refresh_summary()

    def _refresh_mode(self) -> None:
        has_3d = self.state.has_3d()
        self.button_3d.setEnabled(has_3d)
        self.button_3d.setToolTip("" if has_3d else "this embedding has no 3D coordinates")
        (self.button_3d if self.state.mode == "3d" else self.button_2d).setChecked(True)
        self._refresh_summary()

    def _refresh_colors(self) -> None:
        self._updating = True
        self.color_combo.clear()
        model = self.state.model
        if model is not None:
            for option in color_options(model.samples.columns):
                self.color_combo.addItem(COLOR_LABELS.get(option, option), option)
            notes = unavailable_color_options(model.samples.columns)
            for option, note in notes.items():
                self.color_combo.insertItem(0, f"{COLOR_LABELS.get(option, option)} (unavailable)", option)
                item = self.color_combo.model().item(0)
                item.setEnabled(False)
                item.setToolTip(note)
            self.color_combo.setToolTip("; ".join(f"{COLOR_LABELS.get(o, o)} is off: {n}" for o, n in notes.items()))
        self.color_combo.setCurrentIndex(max(0, self.color_combo.findData(self.state.color_by)))
        self._updating = False

    def _refresh_summary(self) -> None:
        s = self.state
        if s.model is None:
            self.summary.setText("No data loaded. File > Open data folder, or drop a folder on the window.")
            return
        self.summary.setText(f"Showing {s.num_points:,} samples ({s.model_name}), layer: {s.layer_label()}")

    def _refresh_all(self) -> None:
        self._refresh_models()
        self._refresh_layers()
        self._refresh_colors()
        self._refresh_mode()
