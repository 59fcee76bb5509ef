"""Preview dock: the hovered sample (or the selected one when nothing is hovered) with its id, class, noise level
and coordinates."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

from ..images import ImageCache, scaled
from ..state import ExplorerState

IMAGE_SIZE = 192


def class_text(model, row: int, class_names: dict[int, str] | None = None) -> str:
    """``"409: analog_clock"`` from the sample table (or the root's class index when the row has no name); a
    text-conditioned sample's caption."""
    samples = model.samples
    if not samples.has_classes:
        return str(samples.caption[row]) if samples.caption is not None else ""
    label = int(samples.class_label[row])
    name = str(samples.class_name[row]) if samples.class_name is not None else ""
    if not name and class_names:
        name = class_names.get(label, "")
    return f"{label}: {name}" if name else str(label)


def label_text(model, row: int, class_names: dict[int, str] | None = None) -> str:
    """``"Class 409: analog_clock"`` or ``"Caption: a dog on a beach"``: what a sample was conditioned on."""
    prefix = "Class" if model.samples.has_classes else "Caption:"
    return f"{prefix} {class_text(model, row, class_names)}"


class PreviewDock(QDockWidget):
    """Shows one sample; follows ``state.hovered`` and falls back to ``state.selected``."""

    def __init__(self, state: ExplorerState, images: ImageCache, parent: QWidget | None = None) -> None:
        super().__init__("Preview", parent)
        self.setObjectName("PreviewDock")
        self.state = state
        self.images = images
        self.row = -1
        body = QWidget()
        layout = QVBoxLayout(body)
        self.image = QLabel()
        self.image.setFixedSize(IMAGE_SIZE, IMAGE_SIZE)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setObjectName("previewImage")
        self.image.setStyleSheet("#previewImage { background: palette(alternate-base); color: palette(mid);"
                                 " border: 1px solid palette(midlight); }")
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.details = QLabel()
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setTextFormat(Qt.TextFormat.PlainText)  # captions and text ids are shown as they are
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setWordWrap(True)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addStretch(1)
        self.setWidget(body)
        state.hovered_changed.connect(self._refresh)
        state.selected_changed.connect(self._refresh)
        state.model_changed.connect(self._refresh)
        state.embedding_changed.connect(self._refresh)
        state.mode_changed.connect(self._refresh)
        self._refresh()

    def _refresh(self, *_args) -> None:
        s = self.state
        row = s.hovered if s.hovered >= 0 else s.selected
        self.row = row
        if s.model is None or row < 0:
            self.image.clear()
            self.image.setText("Hover a point\nto preview it")
            self.title.setText("")
            self.details.setText("")
            return
        pixmap = self.images.get(s.model, row)
        if pixmap is None:
            self.image.setText("image missing")
        else:
            self.image.setPixmap(scaled(pixmap, IMAGE_SIZE))
        samples = s.model.samples
        tag = "" if row == s.hovered else "  (selected)"
        self.title.setText(f"{samples.id_text(row)}{tag}")
        root_names = s.root.class_names if s.root is not None else None
        lines = [label_text(s.model, row, root_names)]
        sigma = samples.conditioning_sigma
        level = samples.columns.get("noise_level")  # percent, as the original's extraction script records it
        if sigma is not None and np.isfinite(sigma[row]):
            if level is not None and np.issubdtype(level.dtype, np.number) and np.isfinite(level[row]):
                lines.append(f"Noise level {float(level[row]):g} % (σ = {float(sigma[row]):.4g})")
            else:
                lines.append(f"Noise level σ = {float(sigma[row]):.4g}")
        coords = s.coords()
        if coords is not None:
            lines.append("Coordinates (" + ", ".join(f"{v:.2f}" for v in coords[row]) + ")")
        self.details.setText("\n".join(lines))
