"""The thumbnail gallery: a model/view grid that holds thousands of items, makes thumbnails only for what is painted,
scrolls, and keeps every caption line readable (elided to the cell, full text in the tooltip)."""

from __future__ import annotations

import pytest
from diffviews_app.gallery import GalleryView, ThumbnailModel
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QStyleOptionViewItem

pytestmark = pytest.mark.gui

N = 1000


@pytest.fixture
def gallery(qtbot):
    asked: list[int] = []

    def thumbnail(key: int) -> QPixmap:
        asked.append(key)
        pix = QPixmap(32, 32)
        pix.fill(QColor(key % 256, 80, 160))
        return pix

    model = ThumbnailModel(thumbnail, 64)
    view = GalleryView(model, lines=2)
    view.resize(420, 360)
    qtbot.addWidget(view)
    captions = [f"class {i} with a rather long name that cannot fit\n(d={i / 100:.2f})" for i in range(N)]
    model.set_items(list(range(N)), captions, [f"sample_{i:06d}  {c.splitlines()[0]}" for i, c in enumerate(captions)])
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.visible_rows() != [])
    return view, model, asked


def _shown_text(view: GalleryView, row: int) -> str:
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = view.visualRect(view.model().index(row))
    view.itemDelegate().initStyleOption(option, view.model().index(row))
    return option.text


def test_a_thousand_items_scroll_and_only_painted_thumbnails_are_made(qtbot, gallery):
    view, model, asked = gallery
    assert model.rowCount() == N
    first = view.visible_rows()
    assert first[0] == 0 and 4 <= len(first) < 60  # a grid: several per row, several rows, far from all
    qtbot.waitUntil(lambda: len(asked) >= len(first))
    assert len(set(asked)) < 100  # lazy: only what was painted

    view.scrollTo(model.index(N - 1))  # the current step of a long run, the last neighbour: shown at once
    assert N - 1 in view.visible_rows()
    last = view.visible_rows()
    assert 0 not in last and view.verticalScrollBar().value() > 0.9 * view.verticalScrollBar().maximum()
    qtbot.waitUntil(lambda: N - 1 in asked)
    assert len(set(asked)) < 200


def test_captions_are_elided_to_the_cell_and_complete_in_the_tooltip(gallery):
    view, model, _ = gallery
    row = view.visible_rows()[-1]
    shown = _shown_text(view, row).split("\u2028")  # Qt's line separator
    assert len(shown) == 2
    assert shown[0].startswith("class") and shown[0].endswith("…") and len(shown[0]) < 30
    assert shown[1] == f"(d={row / 100:.2f})"  # short lines stay whole
    width = view.visualRect(model.index(row)).width()
    assert all(view.fontMetrics().horizontalAdvance(line) <= width for line in shown)
    assert model.data(model.index(row), Qt.ItemDataRole.ToolTipRole) == f"sample_{row:06d}  class {row} with a " \
        "rather long name that cannot fit"  # fmt: skip


def test_items_appended_live_and_replaced(qtbot, gallery):
    view, model, asked = gallery
    model.set_items([], [])
    assert model.rowCount() == 0 and view.visible_rows() == []
    for i in range(5):
        model.append(i, f"Step {i + 1}/5")
    assert model.captions() == [f"Step {i + 1}/5" for i in range(5)]
    qtbot.waitUntil(lambda: view.visible_rows() == [0, 1, 2, 3, 4])
