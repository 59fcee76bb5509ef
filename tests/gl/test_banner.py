"""The message banner floats over the top of the map: messages coming, changing and going never resize the map's GL
surface (a resize and its redraw held the UI thread for tens of ms), and the text is seen whole."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.gl]

SHORT = "Embedded layer decoder_block_9 (60 samples)."
LONG = " ".join(["A message long enough to wrap over several lines of the banner at the map's width."] * 4)


def test_messages_never_resize_the_map_and_lie_over_its_top(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    w.banner.hide()
    qtbot.wait(50)
    map_widget = w.canvas.widget
    size = map_widget.size()
    resizes = []
    w.canvas.scene_canvas.events.resize.connect(lambda event: resizes.append(event.size))

    w.show_message("info", SHORT)
    qtbot.waitUntil(w.banner.isVisible, timeout=2000)
    one_line = w.banner.height()
    assert w.banner.parent() is w.centralWidget()
    assert w.banner.geometry().topLeft().toTuple() == (0, 0)
    assert w.banner.width() == w.centralWidget().width()
    assert map_widget.geometry().contains(w.banner.geometry().center())  # over the map, not beside it

    w.show_message("warning", LONG)
    qtbot.wait(50)
    assert w.banner.height() > one_line  # grown to show the wrapped text whole
    assert w.banner.text.height() >= w.banner.text.heightForWidth(w.banner.text.width())

    w.banner.hide()
    qtbot.wait(50)
    assert map_widget.size() == size and resizes == []


def test_banner_follows_the_window_width(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    w.show_message("info", SHORT)
    w.resize(w.width() + 120, w.height())
    qtbot.waitUntil(lambda: w.banner.width() == w.centralWidget().width(), timeout=2000)
