"""Adapter and sampler choice, noise in sigma or percent, the device in About, a layer switch that fits the view,
and the view summary that keeps the layer's name."""

from __future__ import annotations

import pytest

from diffviews_core.formats.config import percent_to_sigma

pytestmark = [pytest.mark.gui, pytest.mark.gl]


def test_sampler_and_noise_in_sigma_or_percent_write_the_settings(window_parts):
    dock, gen = window_parts.generation_dock, window_parts.gen
    dock.sampler.setCurrentIndex(dock.sampler.findData("heun"))
    assert gen.settings.sampler == "heun"
    gen.update_settings(noise_max=100.0, noise_min=0.0)
    dock.noise_unit.setCurrentIndex(dock.noise_unit.findData("sigma"))
    assert dock.noise_max.value() == pytest.approx(80.0) and dock.noise_min.value() == pytest.approx(0.002)
    dock.noise_max.setValue(10.0)  # typed as sigma, kept as percent
    assert percent_to_sigma(gen.settings.noise_max) == pytest.approx(10.0, rel=1e-3)
    dock.noise_unit.setCurrentIndex(dock.noise_unit.findData("percent"))
    assert dock.noise_max.suffix() == " %" and dock.noise_max.value() == pytest.approx(gen.settings.noise_max, abs=0.05)


@pytest.mark.slow
def test_heun_generates_and_the_adapter_choice_reaches_the_model_cache(qtbot, window_parts):
    parts = window_parts
    dock, gen, window = parts.generation_dock, parts.gen, parts.window
    names = [dock.adapter.itemData(i) for i in range(dock.adapter.count())]
    assert names[0] == "" and dock.adapter.itemText(0) == "edm (config.json)"
    assert {"edm", "edm-imagenet-64", "dmd2-imagenet-64"} <= set(names)
    dock.adapter.setCurrentIndex(names.index("edm"))
    assert window.cache.adapter_name == "edm"
    parts.state.select(2)
    gen.update_settings(num_steps=3, sampler="heun", seed=1)
    assert parts.runner.generate(False)
    qtbot.waitUntil(lambda: not gen.running, timeout=60000)
    (traj,) = gen.trajectories.values()
    assert traj.finished and traj.lineage.settings.sampler == "heun"
    assert window.device_in_use() == "cpu"
    assert "Device: cpu" in window.about_text()


def test_about_finds_the_device_before_any_model_ran(qtbot, make_window):
    w = make_window()
    box = w.show_about()
    qtbot.waitUntil(lambda: "Device: cpu" in box.text(), timeout=60000)
    box.close()


def test_a_layer_switch_fits_the_view_to_the_new_map(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    canvas = w.canvas
    x0, y0 = w.state.coords()[0]
    canvas.set_camera_state({"2d": {"rect": [x0 - 0.01, y0 - 0.01, 0.02, 0.02]}})  # zoomed far in
    combo = w.view_dock.layer_combo
    combo.setCurrentIndex(combo.findData("layer_cache/encoder_block_0"))
    qtbot.waitUntil(lambda: w.state.layer == "layer_cache/encoder_block_0", timeout=5000)
    xy = canvas.data_to_screen(w.state.coords())
    width, height = canvas.native.width(), canvas.native.height()
    assert (xy[:, 0] >= 0).all() and (xy[:, 0] <= width).all() and (xy[:, 1] >= 0).all() and (xy[:, 1] <= height).all()
    summary = w.view_dock.summary
    assert summary.text().splitlines()[-1] == f"layer: {w.state.layer_label()}"
    assert summary.heightForWidth(summary.width()) <= summary.height()  # nothing cut
