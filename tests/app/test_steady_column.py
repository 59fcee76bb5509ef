"""SteadyColumn: a label's new text moves it inside the column, and the parent's layout is asked again only when the
column needs another height (with ``grow_only``, only a taller one)."""

from __future__ import annotations

import pytest
from diffviews_app.steady_column import SteadyColumn
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

pytestmark = pytest.mark.gui

ONE_LINE, THREE_LINES = "one line", "first line\nsecond line\nthird line"


class LayoutRequests(QObject):
    """Counts LayoutRequest events delivered to one widget."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def window(qtbot, grow_only: bool):
    top = QWidget()
    layout = QVBoxLayout(top)
    title, details = QLabel("title"), QLabel(ONE_LINE)
    details.setWordWrap(True)
    column = SteadyColumn([title, details], layout.spacing(), grow_only=grow_only)
    layout.addWidget(column)
    layout.addStretch(1)
    top.resize(300, 300)
    qtbot.addWidget(top)
    top.show()
    qtbot.waitExposed(top)
    return top, column, title, details


def settle() -> None:
    for _ in range(3):
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest.value)


def test_text_of_the_same_height_moves_nothing_outside_the_column(qtbot):
    top, column, title, details = window(qtbot, grow_only=False)
    settle()
    requests = LayoutRequests(top)
    title.setText("another title")
    details.setText("another line")
    settle()
    assert requests.count == 0
    assert details.text() == "another line" and details.geometry().top() >= title.geometry().bottom()
    assert details.geometry().width() == column.width()


def test_a_taller_text_lays_the_parent_out_and_the_column_grows(qtbot):
    top, column, _title, details = window(qtbot, grow_only=False)
    settle()
    short = column.height()
    requests = LayoutRequests(top)
    details.setText(THREE_LINES)
    settle()
    assert requests.count >= 1
    assert column.height() > short
    assert details.geometry().bottom() < column.height()  # the whole text is inside the column
    details.setText(ONE_LINE)
    settle()
    assert column.height() == short  # and shrinks back


def test_grow_only_keeps_the_tallest_height(qtbot):
    top, column, _title, details = window(qtbot, grow_only=True)
    details.setText(THREE_LINES)
    settle()
    tall = column.height()
    requests = LayoutRequests(top)
    details.setText(ONE_LINE)
    settle()
    assert requests.count == 0 and column.height() == tall
