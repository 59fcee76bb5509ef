"""Denoising steps dock: the current trajectory's per-step x0 estimates (noised input inset) with captions
``class | Step i/n | sigma=x``, previous/next buttons and arrow keys, the chosen frame large (the final image once the
run ends), and the masked / unmasked images side by side after "Compare unmasked"."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..images import image_pixmap, inset_pixmap
from ..state.generation_state import GenerationState, StepFrame, Trajectory

THUMB = 96
LARGE = 160
COMPARE = 128


class StepsDock(QDockWidget):
    """Follows ``GenerationState``: the current trajectory's frames and the current step."""

    def __init__(self, gen: GenerationState, parent: QWidget | None = None) -> None:
        super().__init__("Denoising steps", parent)
        self.setObjectName("StepsDock")
        self.gen = gen
        self._tid = -1
        body = QWidget()
        outer = QHBoxLayout(body)  # a wide, short strip: the large image and its controls beside the gallery
        layout = QVBoxLayout()
        outer.addLayout(layout)

        self.large = QLabel("Generate from neighbours to see the steps here.")
        self.large.setObjectName("stepsLarge")
        self.large.setMinimumSize(LARGE, LARGE)
        self.large.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.large.setWordWrap(True)
        self.large.setStyleSheet("#stepsLarge { background: palette(dark); border: 1px solid palette(mid); }")
        layout.addWidget(self.large, 0, Qt.AlignmentFlag.AlignHCenter)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.caption)

        nav = QHBoxLayout()
        self.prev_button = QPushButton("◀ Previous")
        self.prev_button.setToolTip("previous step (Left)")
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("next step (Right)")
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        layout.addLayout(nav)

        self.gallery = QListWidget()
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setGridSize(QSize(THUMB + 24, THUMB + 58))
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setWordWrap(True)
        self.gallery.setUniformItemSizes(True)
        self.gallery.setMinimumHeight(THUMB + 70)
        outer.addWidget(self.gallery, 1)

        self.compare_box = QWidget()
        row = QHBoxLayout(self.compare_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.compare_labels: list[tuple[QLabel, QLabel]] = []
        for title in ("masked", "unmasked (same seed)"):
            col = QVBoxLayout()
            image, text = QLabel(), QLabel(title)
            image.setFixedSize(COMPARE, COMPARE)
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            col.addWidget(image)
            col.addWidget(text)
            row.addLayout(col)
            self.compare_labels.append((image, text))
        outer.addWidget(self.compare_box)
        self.compare_box.hide()
        self.setWidget(body)

        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.gallery.currentRowChanged.connect(lambda row: row >= 0 and gen.set_step(row))
        gen.current_changed.connect(self._rebuild)
        gen.trajectories_cleared.connect(self._rebuild)
        gen.trajectory_stepped.connect(self._stepped)
        gen.trajectory_finished.connect(self._finished)
        gen.step_changed.connect(self._show_step)
        gen.compare_changed.connect(self._refresh_compare)
        self._rebuild()

    # ---- navigation ---------------------------------------------------------------------------------------------
    def previous(self) -> None:
        if self.gen.step > 0:
            self.gen.set_step(self.gen.step - 1)

    def next(self) -> None:
        self.gen.set_step(self.gen.step + 1)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Left:
            self.previous()
        elif event.key() == Qt.Key.Key_Right:
            self.next()
        else:
            super().keyPressEvent(event)

    def captions(self) -> list[str]:
        return [self.gallery.item(i).text() for i in range(self.gallery.count())]

    # ---- content ------------------------------------------------------------------------------------------------
    def _item(self, traj: Trajectory, frame: StepFrame) -> QListWidgetItem:
        caption = traj.caption(frame.step)
        item = QListWidgetItem(QIcon(inset_pixmap(frame.x0, frame.noised, THUMB)), caption.replace(" | ", "\n"))
        item.setToolTip(caption)
        return item

    def _rebuild(self, *_args) -> None:
        traj = self.gen.current_trajectory()
        self._tid = traj.id if traj is not None else -1
        self.gallery.blockSignals(True)
        self.gallery.clear()
        for frame in traj.frames if traj is not None else []:
            self.gallery.addItem(self._item(traj, frame))
        self.gallery.blockSignals(False)
        self._show_step(self.gen.step)
        self._refresh_compare()

    def _stepped(self, tid: int) -> None:
        traj = self.gen.trajectories.get(tid)
        if tid != self._tid or traj is None:
            return
        self.gallery.blockSignals(True)
        for frame in traj.frames[self.gallery.count() :]:
            self.gallery.addItem(self._item(traj, frame))
        self.gallery.blockSignals(False)

    def _finished(self, tid: int) -> None:
        if tid == self._tid:
            self._show_step(self.gen.step)
        self._refresh_compare()

    def _show_step(self, step: int) -> None:
        traj = self.gen.current_trajectory()
        has = traj is not None and 0 <= step < len(traj.frames)
        self.prev_button.setEnabled(has and step > 0)
        self.next_button.setEnabled(has and step < len(traj.frames) - 1)
        if not has and traj is not None and traj.image is not None:  # restored from a session: no step images
            self.large.setPixmap(image_pixmap(traj.image, LARGE))
            self.caption.setText(f"{traj.label}\nfinal image (replay its lineage for the steps)")
            return
        if not has:
            self.large.clear()
            self.large.setText("Generate from neighbours to see the steps here.")
            self.caption.setText("")
            return
        frame = traj.frames[step]
        last = step == len(traj.frames) - 1 and traj.finished
        image = traj.image if last else frame.x0
        self.large.setPixmap(inset_pixmap(image, frame.noised, LARGE))
        tail = "  (final image)" if last else ""
        self.caption.setText(f"{traj.label}\n{traj.caption(step)}{tail}")
        if self.gallery.currentRow() != step:
            self.gallery.blockSignals(True)
            self.gallery.setCurrentRow(step)
            self.gallery.blockSignals(False)

    def _refresh_compare(self) -> None:
        pair = self.gen.compare
        trajs = [self.gen.trajectories.get(t) for t in pair] if pair else []
        show = len(trajs) == 2 and all(t is not None and t.finished for t in trajs)
        self.compare_box.setVisible(show)
        if not show:
            return
        for (image, text), traj, title in zip(self.compare_labels, trajs, ("masked", "unmasked (same seed)")):
            image.setPixmap(image_pixmap(traj.image, COMPARE))
            text.setText(f"{title}\n{traj.label}")
