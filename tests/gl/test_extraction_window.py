"""The window on the original's current extraction layout, opened unchanged: it embeds the one stored layer on
opening, and string sample ids appear in the preview, search, neighbours, exports and sessions; a captioned model
shows captions, has colour by class disabled with a note and refuses generation with a clear message."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from data_fixtures import tree_checksums
from extraction_fixtures import CAPTIONS, write_tiny_extraction_model
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

pytestmark = [pytest.mark.gui, pytest.mark.gl, pytest.mark.slow]  # fits UMAP maps (numba)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    from tiny_model import seed_like_spec

    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    adapter = EDMAdapter(net, device="cpu")
    base = tmp_path_factory.mktemp("extraction")
    write_tiny_extraction_model(base / "classes" / "tiny", net, adapter, num_images=8)
    write_tiny_extraction_model(base / "captions" / "coco", net, adapter, num_images=6, text=True)
    return base


@pytest.fixture
def open_window(qtbot, tmp_path, gl_display):
    from diffviews_app.app import create_window
    from diffviews_app.options import LaunchOptions

    windows = []

    def factory(folder):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = create_window(LaunchOptions(data_dir=folder), settings)
        window.resize(1300, 850)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        window.open_folder(folder)
        # no map is stored: the window embeds the stored layer on opening, as the original does
        qtbot.waitUntil(lambda: window.state.embedding is not None, timeout=600000)
        qtbot.waitUntil(lambda: window.canvas.point_count == window.state.num_points, timeout=10000)
        return window

    yield factory
    for window in windows:
        window.pool.shutdown(10000)
        window.close()


def test_string_ids_through_the_window(qtbot, open_window, roots, tmp_path):
    before = tree_checksums(roots / "classes")
    w = open_window(roots / "classes")
    s, samples = w.state, w.state.model.samples
    assert s.layer == "midblock" and s.num_points == 40 and samples.ids_are_text
    assert w.classes_dock.class_rows()[2].text(0) == "2: class 2, tiny"

    # search by a string id, Enter selects it
    w.classes_dock.search.setText("sample_000003_n54")
    qtbot.waitUntil(lambda: w.classes_dock.matches.text() == "sample_000003_n54 found (Enter selects it)")
    QTest.keyClick(w.classes_dock.search, Qt.Key.Key_Return)
    row = samples.row_of("sample_000003_n54")
    assert s.selected == row
    assert w.preview_dock.title.text() == "sample_000003_n54  (selected)"
    assert "Class 3: class 3, tiny" in w.preview_dock.details.text()
    assert f"Noise level 54 % (σ = {samples.conditioning_sigma[row]:.4g})" in w.preview_dock.details.text()
    assert "sample_000003_n54" in w.neighbours_dock.selected_label.text()

    # activation KNN: neighbours named by their string ids
    s.set_k(4)
    w.controller.suggest_knn()
    rows = [r for r, _ in s.neighbours]
    assert len(rows) == 4
    tips = w.neighbours_dock.gallery_model.tooltips()
    assert [t.split()[0] for t in tips] == [samples.sample_id[r] for r in rows]

    from diffviews_app.exports import export_selection_csv

    with open(export_selection_csv(s, tmp_path / "selection.csv"), newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert [e["sample_id"] for e in exported] == [samples.sample_id[r] for r in [row, *rows]]

    # a session stores the string ids and restores them
    session = w.save_session(tmp_path / "s.json")
    saved = json.loads(session.read_text())
    assert saved["selected"] == "sample_000003_n54"
    assert [n["sample_id"] for n in saved["neighbours"]] == [samples.sample_id[r] for r in rows]
    neighbours = list(s.neighbours)
    s.clear_selection()
    restorer = w.open_session(session)
    qtbot.waitUntil(lambda: restorer.finished, timeout=30000)
    assert s.selected == row and s.neighbours == neighbours

    # a fresh window restores it: the layer is embedded once (on opening), then the selection is applied
    from diffviews_app.app import create_window

    fresh = create_window(settings=QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    fresh.show()
    jobs = []
    fresh.pool.jobs_changed.connect(lambda: jobs.extend(j for j in fresh.pool.running() if j not in jobs))
    try:
        restorer = fresh.open_session(session)
        qtbot.waitUntil(lambda: restorer.finished, timeout=600000)
        assert fresh.state.layer == "midblock" and fresh.state.selected == row
        assert fresh.state.neighbours == neighbours and [j.name for j in jobs].count("Embedding midblock") == 1
    finally:
        fresh.pool.shutdown(10000)
        fresh.close()
    assert tree_checksums(roots / "classes") == before  # opened, embedded and explored without writing to it


def test_captioned_model(qtbot, open_window, roots):
    w = open_window(roots / "captions")
    s, samples = w.state, w.state.model.samples
    assert not samples.has_classes and s.color_by == "noise"
    combo = w.view_dock.color_combo
    assert combo.itemText(0) == "Class (unavailable)" and not combo.model().item(0).isEnabled()
    assert "no classes" in combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert combo.toolTip() == "Class is off: text-conditioned samples (captions) have no classes to colour by"
    assert w.classes_dock.class_rows() == {}
    assert "text-conditioned samples (captions): no classes, so colour by class is off" in w.classes_dock.status.text()

    s.select(samples.row_of("sample_000001_n82"))
    assert w.preview_dock.details.text().splitlines()[0] == f"Caption: {CAPTIONS[1]}"

    w.classes_dock.search.setText("sandy beach")
    expected = [i for i, c in enumerate(samples.caption) if "sandy beach" in c]
    qtbot.waitUntil(lambda: s.search_rows.tolist() == expected)
    assert len(expected) == 2 * 5
    assert w.classes_dock.matches.text() == "10 matches (caption 10), highlighted"

    assert w.generation.runner.generate()
    qtbot.waitUntil(lambda: not w.generation.gen.running, timeout=60000)
    assert w.banner.isVisible() and w.banner.level == "error"
    assert "text-conditioned (captions)" in w.banner.text.text()
    assert "generation refused" in w.banner.text.text()
    assert np.all(samples.class_label == -1)
