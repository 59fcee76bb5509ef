"""The colour bar under the map: shown while the points are coloured by a numeric column, it reads the column's name,
its range at both ends and whether the scale is logarithmic, with the same ramp the points use."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from .colors import colouring, for_background, ramp_stops
from .state import ExplorerState

COLUMN_LABELS = {"noise": "Noise level σ", "conditioning_sigma": "Noise level σ"}


def format_value(value: float) -> str:
    return f"{value:.4g}"


class _Gradient(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(120, 14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.dark = False  # the ramp as the dark map draws it

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        gradient = QLinearGradient(rect.topLeft(), rect.topRight())
        stops = for_background(ramp_stops(), self.dark)
        for i, rgb in enumerate(stops):
            gradient.setColorAt(i / (len(stops) - 1), QColor.fromRgbF(*map(float, rgb)))
        painter.fillRect(rect, gradient)
        painter.setPen(self.palette().mid().color())
        painter.drawRect(rect)
        painter.end()


class ColorBar(QWidget):
    """Follows ``state.color_by``: visible for numeric colourings only (categories are in the Classes dock)."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ColorBar")
        self.state = state
        self.value_range: tuple[float, float] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 3, 10, 3)
        self.title = QLabel()
        self.low = QLabel()
        self.high = QLabel()
        self.gradient = _Gradient()
        layout.addWidget(self.title)
        layout.addWidget(self.low)
        layout.addWidget(self.gradient, 1)
        layout.addWidget(self.high)
        state.color_by_changed.connect(self.refresh)
        state.model_changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args) -> None:
        model = self.state.model
        info = colouring(model.samples.columns, self.state.color_by, model.num_samples) if model is not None else None
        if info is None or info.kind != "numeric" or info.value_range is None:
            self.value_range = None
            self.hide()
            return
        self.value_range = info.value_range
        name = COLUMN_LABELS.get(info.column, info.column)
        self.title.setText(f"<b>{name}</b>{' (log scale)' if info.log else ''}")
        self.low.setText(format_value(info.value_range[0]))
        self.high.setText(format_value(info.value_range[1]))
        self.setToolTip(f"points coloured by {name}: {self.low.text()} … {self.high.text()}")
        self.show()

    def set_dark(self, dark: bool) -> None:
        """The ramp in the dark (or light) theme's colours, like the map's points."""
        self.gradient.dark = dark
        self.gradient.update()

    def labels(self) -> tuple[str, str, str]:
        """(title, low end, high end) as shown."""
        return self.title.text(), self.low.text(), self.high.text()
