"""Denoising steps dock: the current trajectory's per-step x0 estimates (noised input inset) with captions
``class | Step i/n | sigma=x``, previous/next buttons and arrow keys, the chosen frame large (the final image once the
run ends), and after "Compare unmasked" the masked and unmasked runs' steps as two aligned rows that scroll
together."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..gallery import GalleryView, ThumbnailModel
from ..images import image_pixmap, inset_pixmap
from ..state.generation_state import GenerationState, Trajectory

THUMB = 96
LARGE = 160
COMPARE_THUMB = 64
COMPARE_TITLES = ("masked", "unmasked (same seed)")


class StepsDock(QDockWidget):
    """Follows ``GenerationState``: the current trajectory's frames and the current step. ``select_requested(id)``
    asks to put the shown generated image in the selection (or take it out)."""

    select_requested = Signal(int)

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
        self.select_button = QPushButton("Add to selection")
        self.select_button.setToolTip("put this generated image in the selection: a KNN query, a member of the set "
                                      "and of the next generation's mask (Shift+click its star on the map does the "
                                      "same)")  # fmt: skip
        self.select_button.clicked.connect(lambda: self._tid >= 0 and self.select_requested.emit(self._tid))
        layout.addWidget(self.select_button)

        # one grid of the current trajectory, or (after Compare unmasked) two aligned rows, masked over unmasked
        self.pages = QStackedWidget()
        outer.addWidget(self.pages, 1)
        self.gallery_model = ThumbnailModel(lambda step: self._frame_pixmap(self.gen.current, step), THUMB, self)
        self.gallery = GalleryView(self.gallery_model, lines=3)
        self.pages.addWidget(self.gallery)

        # compare: a title line over each row (the run and its class), smaller cells captioned by step and sigma, so
        # both rows fit the dock's height and use its whole width
        self.compare_box = QWidget()
        rows = QVBoxLayout(self.compare_box)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        self.compare_models: list[ThumbnailModel] = []
        self.compare_rows: list[GalleryView] = []
        self.compare_labels: list[QLabel] = []
        for i, title in enumerate(COMPARE_TITLES):
            model = ThumbnailModel(lambda step, i=i: self._compare_pixmap(i, step), COMPARE_THUMB, self)
            view = GalleryView(model, lines=2, single_row=True)
            label = QLabel(title)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            rows.addWidget(label)
            rows.addWidget(view)
            self.compare_models.append(model)
            self.compare_rows.append(view)
            self.compare_labels.append(label)
        rows.addStretch(1)
        top, bottom = (v.horizontalScrollBar() for v in self.compare_rows)
        top.valueChanged.connect(bottom.setValue)  # aligned: step i of both runs stays one above the other
        bottom.valueChanged.connect(top.setValue)
        self.pages.addWidget(self.compare_box)
        self.setWidget(body)

        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.gallery.selectionModel().currentChanged.connect(lambda index, _p: index.isValid() and
                                                             gen.set_step(index.row()))  # fmt: skip
        for i, view in enumerate(self.compare_rows):
            view.clicked.connect(lambda index, i=i: self._compare_clicked(i, index.row()))
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

    def set_in_selection(self, chosen: bool) -> None:
        """Whether the shown generated image is in the selection (the button then takes it out)."""
        self.select_button.setText("Remove from selection" if chosen else "Add to selection")

    def captions(self) -> list[str]:
        return self.gallery_model.captions()

    # ---- content ------------------------------------------------------------------------------------------------
    def _frame_pixmap(self, tid: int, step: int):
        traj = self.gen.trajectories.get(tid)
        if traj is None or not 0 <= step < len(traj.frames):
            return None
        frame = traj.frames[step]
        return inset_pixmap(frame.x0, frame.noised, THUMB)

    def _compare_pixmap(self, which: int, step: int):
        pair = self.gen.compare
        traj = self.gen.trajectories.get(pair[which]) if pair else None
        if traj is None or not 0 <= step < len(traj.frames):
            return None
        frame = traj.frames[step]
        return inset_pixmap(frame.x0, frame.noised, COMPARE_THUMB)

    def _compare_clicked(self, which: int, step: int) -> None:
        pair = self.gen.compare
        if pair and pair[which] in self.gen.trajectories:
            self.gen.set_current(pair[which])
            self.gen.set_step(step)

    @staticmethod
    def _captions(traj: Trajectory, start: int = 0) -> tuple[list[int], list[str], list[str]]:
        steps = [frame.step for frame in traj.frames[start:]]
        tips = [traj.caption(step) for step in steps]
        return list(range(start, start + len(steps))), [t.replace(" | ", "\n") for t in tips], tips

    def _rebuild(self, *_args) -> None:
        traj = self.gen.current_trajectory()
        self._tid = traj.id if traj is not None else -1
        if traj is None:
            self.gallery_model.clear()
        else:
            self.gallery_model.set_items(*self._captions(traj))
        self.gallery_model.invalidate()  # the same step numbers, another trajectory's images
        self._show_step(self.gen.step)
        self._refresh_compare()

    def _stepped(self, tid: int) -> None:
        traj = self.gen.trajectories.get(tid)
        if tid != self._tid or traj is None:
            return
        for key, caption, tip in zip(*self._captions(traj, self.gallery_model.rowCount()), strict=True):
            self.gallery_model.append(key, caption, tip)

    def _finished(self, tid: int) -> None:
        if tid == self._tid:
            self._show_step(self.gen.step)
        self._refresh_compare()

    def _show_step(self, step: int) -> None:
        traj = self.gen.current_trajectory()
        self.select_button.setEnabled(traj is not None and traj.finished)
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
        index = self.gallery_model.index(step)
        if self.gallery.currentIndex().row() != step and index.isValid():
            selection = self.gallery.selectionModel()
            selection.blockSignals(True)
            self.gallery.setCurrentIndex(index)
            selection.blockSignals(False)
            self.gallery.viewport().update()
        QTimer.singleShot(0, self, lambda: self._scroll_to(step))  # once a row added with this step is laid out

    def _scroll_to(self, step: int) -> None:
        index = self.gallery_model.index(step)
        if index.isValid():
            self.gallery.scrollTo(index)

    def _refresh_compare(self) -> None:
        pair = self.gen.compare
        trajs = [self.gen.trajectories.get(t) for t in pair] if pair else []
        show = len(trajs) == 2 and all(t is not None and t.finished for t in trajs)
        self.pages.setCurrentWidget(self.compare_box if show else self.gallery)
        if not show:
            for model in self.compare_models:
                model.clear()
            return
        for model, label, traj, title in zip(self.compare_models, self.compare_labels, trajs, COMPARE_TITLES):
            keys, captions, tips = self._captions(traj)
            model.set_items(keys, ["\n".join(c.split("\n")[1:]) for c in captions], tips)  # the class is in the title
            model.invalidate()
            label.setText(f"<b>{title}</b> · {traj.label}")
            label.setToolTip(traj.label)
