"""Small window furniture: the message banner over the map and the jobs indicator of the status bar."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from .progress_text import progress_text
from .theme import LIGHT, Theme
from .workers import WorkerPool


class MessageBanner(QFrame):
    """A dismissable line of text over the top of the map: problems are visible without a modal dialog blocking work.

    It floats over its host (``float_over``) instead of taking a row of the layout: a row that appears, disappears or
    changes height with the text resizes the map's GL surface, and on software GL a resize with its redraw costs
    ~34 ms of the UI thread's CPU and ~70 ms of wall time (``benchmarks/bench_banner.py``; floating: 2-5 ms). It is a
    native child window so that it stacks over the map's own native surface (a plain widget is painted under it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        self.setAttribute(Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
        self._host: QWidget | None = None
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
        self.styles = LIGHT.banner
        self.hide()

    def float_over(self, host: QWidget) -> None:
        """Lie over the top of ``host`` (made this banner's parent), as wide as it and as tall as the text needs."""
        self.setParent(host)
        self._host = host
        host.installEventFilter(self)
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self._host and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        if self._host is None:
            return
        width = self._host.width()
        self.setGeometry(0, 0, width, max(self.layout().heightForWidth(width), self.minimumSizeHint().height()))
        self.raise_()

    def show_message(self, level: str, text: str) -> None:
        self.level = level
        self._style()
        self.text.setText(text)
        self._place()
        self.show()

    def set_theme(self, theme: Theme) -> None:
        self.styles = theme.banner
        self._style()

    def colors(self) -> tuple[str, str]:
        """(background, text) of the message shown now."""
        return self.styles.get(self.level, self.styles["info"])

    def _style(self) -> None:
        background, color = self.colors()
        self.setStyleSheet(f"#MessageBanner {{ background: {background}; border-bottom: 1px solid {color}; }}"
                           f"#MessageBanner QLabel {{ color: {color}; }}")  # fmt: skip


LABEL_WIDTH = 360  # px of the running job's name and message
REFRESH_MS = 250  # the jobs indicator shows progress at most this often
SHOW_AFTER_MS = 400  # a job is listed once it has run this long: a quick one (a KNN query) never flashes


class JobsIndicator(QWidget):
    """Status-bar widget: the running job's name, its progress, and a cancel button (hidden when idle); quiet
    housekeeping jobs are not listed, nor jobs younger than ``SHOW_AFTER_MS``: showing and hiding the indicator
    lays out and repaints the status bar twice for a job that ends before anyone could read it."""

    def __init__(self, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(110)
        self.bar.setTextVisible(False)
        self.detail = QLabel()  # percentage and time left
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("cancel the running jobs")
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(pool.cancel_all)
        # progress arrives up to ~20 times a second per job, and every repaint of the status bar recomposites the
        # window (a GL frame on software GL): progress is shown at most ``REFRESH_MS`` apart
        self._pending = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._pending.timeout.connect(self.refresh)
        pool.jobs_changed.connect(self.refresh)
        pool.job_progressed.connect(lambda *_: self._pending.isActive() or self._pending.start(REFRESH_MS))
        self.refresh()

    def refresh(self) -> None:
        loud = [job for job in self.pool.running() if not job.quiet and not job.is_cancelled]  # cancelled: gone now
        now = time.monotonic()
        jobs = [job for job in loud if now - job.submitted >= SHOW_AFTER_MS / 1000]
        if len(jobs) < len(loud) and not self._pending.isActive():  # look again when the next one is old enough
            young = min(SHOW_AFTER_MS / 1000 - (now - job.submitted) for job in loud if job not in jobs)
            self._pending.start(max(1, round(young * 1000)))
        self.setVisible(bool(jobs))
        if not jobs:
            return
        job = jobs[-1]
        more = f" (+{len(jobs) - 1})" if len(jobs) > 1 else ""
        detail = f": {job.message}" if job.message else ""
        text = f"{job.name}{detail}{more}"
        self.label.setToolTip(text)  # long names and messages are elided: the status bar must not widen the window
        self.label.setText(self.label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, LABEL_WIDTH))
        self.detail.setText(progress_text(job.fraction, job.seconds_left))
        if job.fraction < 0:  # unknown: an empty bar (Qt's busy animation would repaint the window continuously)
            self.bar.setRange(0, 1000)
            self.bar.setValue(0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(job.fraction * 1000))
