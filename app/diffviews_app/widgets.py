"""Small window furniture: the message banner over the map and the jobs indicator of the status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from .workers import WorkerPool

LEVEL_STYLE = {
    "info": ("#e8f1fb", "#2b5d8a"),
    "warning": ("#fff4d6", "#8a6100"),
    "error": ("#fde8e8", "#a12622"),
}


class MessageBanner(QFrame):
    """A dismissable line of text above the map: problems are visible without a modal dialog blocking work."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.level = ""
        self.hide()

    def show_message(self, level: str, text: str) -> None:
        background, color = LEVEL_STYLE.get(level, LEVEL_STYLE["info"])
        self.level = level
        self.setStyleSheet(f"#MessageBanner {{ background: {background}; border-bottom: 1px solid {color}; }}"
                           f"#MessageBanner QLabel {{ color: {color}; }}")  # fmt: skip
        self.text.setText(text)
        self.show()


class JobsIndicator(QWidget):
    """Status-bar widget: the running job's name, its progress, and a cancel button (hidden when idle); quiet
    housekeeping jobs are not listed."""

    def __init__(self, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("cancel the running jobs")
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(pool.cancel_all)
        pool.jobs_changed.connect(self.refresh)
        pool.job_progressed.connect(lambda *_: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        jobs = [job for job in self.pool.running() if not job.quiet]
        self.setVisible(bool(jobs))
        if not jobs:
            return
        job = jobs[-1]
        more = f" (+{len(jobs) - 1})" if len(jobs) > 1 else ""
        detail = f": {job.message}" if job.message else ""
        self.label.setText(f"{job.name}{detail}{more}")
        if job.fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(job.fraction * 1000))
