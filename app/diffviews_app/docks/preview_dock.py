"""Preview dock: whatever the mouse is on (``ExplorerState.hover``): a sample with its id, class, noise level and
coordinates, or a generation step / generated image with its caption and distance to the selection's mean; the
selected sample when the mouse is on nothing."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

from diffviews_core.captions import label_text

from ..images import ImageCache, inset_pixmap, scaled
from ..state import ExplorerState
from ..state.generation_state import GenerationState
from ..steady_column import SteadyColumn
from ..targets import Target

IMAGE_SIZE = 192


class PreviewDock(QDockWidget):
    """Renders ``state.hover``; reads trajectories from ``gen``; never written to by anything else."""

    def __init__(self, state: ExplorerState, gen: GenerationState, images: ImageCache,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__("Preview", parent)
        self.setObjectName("PreviewDock")
        self.state, self.gen = state, gen
        self.images = images
        self.row = -1  # the sample shown, -1 when none (or a generation step is shown)
        self._shown_key: tuple | None = None  # (row, hovered) of the sample shown, and what it was read from
        self._shown_sources: tuple = (None, None, None)
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
        texts = SteadyColumn([self.title, self.details], layout.spacing(), grow_only=True)  # new texts: no new layout
        layout.addWidget(texts)
        layout.addStretch(1)
        self.setWidget(body)
        for signal in (state.hover_changed, state.selected_changed, state.model_changed, state.embedding_changed,
                       state.mode_changed, gen.trajectories_cleared):  # fmt: skip
            signal.connect(self._refresh)
        self._refresh()

    def _refresh(self, *_args) -> None:
        hover = self.state.hover
        if hover.on_trajectory and self._show_step(hover):
            return
        self._show_sample()

    def _show_sample(self) -> None:
        s = self.state
        row = s.hovered if s.hovered >= 0 else s.selected
        self.row = row
        key, sources = (row, row == s.hovered), (s.model, s.root, s.coords())
        if key == self._shown_key and all(a is b for a, b in zip(sources, self._shown_sources, strict=True)):
            return  # the same sample, shown the same way (a click on the hovered sample): nothing to redo
        self._shown_key, self._shown_sources = key, sources
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

    def _show_step(self, target: Target) -> bool:
        """A step's x0 estimate with its noised input inset (the final image at a finished run's last step); False
        when the trajectory or step is gone."""
        traj = self.gen.trajectories.get(target.trajectory)
        step = target.step
        if traj is None or not (0 <= step < len(traj.sigmas)):
            return False
        self.row = -1
        self._shown_key = None
        if step < len(traj.frames):
            frame = traj.frames[step]
            final = step == len(traj.frames) - 1 and traj.finished
            self.image.setPixmap(inset_pixmap(traj.image if final else frame.x0, frame.noised, IMAGE_SIZE))
        elif traj.image is not None:  # restored from a session: only the final image is kept
            self.image.setPixmap(inset_pixmap(traj.image, None, IMAGE_SIZE))
        else:
            self.image.setText("step image not kept")
        self.title.setText(f"Generated {traj.label}")
        coords = traj.points(self.state.mode)[step]
        self.details.setText(f"{traj.caption(step)}\nDistance to selection mean {traj.distances[step]:.4g}\n"
                             "Coordinates (" + ", ".join(f"{v:.2f}" for v in coords) + ")")  # fmt: skip
        return True
